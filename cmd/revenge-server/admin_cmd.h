/* cmd/revenge-server/admin_cmd.h - the `admin` subcommand (admin.c). */
#ifndef REVENGE_SERVER_ADMIN_CMD_H
#define REVENGE_SERVER_ADMIN_CMD_H

/* `revenge-server admin ...`: argv[0] is "admin". Returns the exit status. */
int admin_main(int argc, char **argv);

#endif
