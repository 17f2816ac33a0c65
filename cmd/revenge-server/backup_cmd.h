/* cmd/revenge-server/backup_cmd.h - the `backup` subcommand (backup.c). */
#ifndef REVENGE_SERVER_BACKUP_CMD_H
#define REVENGE_SERVER_BACKUP_CMD_H

/* `revenge-server backup ...`: argv[0] is "backup". Returns the exit
 * status. */
int backup_main(int argc, char **argv);

#endif
