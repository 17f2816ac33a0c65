/* cmd/revenge-server/migrate_cmd.h - the `migrate` subcommand (migrate.c). */
#ifndef REVENGE_SERVER_MIGRATE_CMD_H
#define REVENGE_SERVER_MIGRATE_CMD_H

/* `revenge-server migrate ...`: argv[0] is "migrate". Returns the exit
 * status. */
int migrate_main(int argc, char **argv);

#endif
