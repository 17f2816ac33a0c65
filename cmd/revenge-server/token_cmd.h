/* cmd/revenge-server/token_cmd.h - the `token` subcommand (token.c). */
#ifndef REVENGE_SERVER_TOKEN_CMD_H
#define REVENGE_SERVER_TOKEN_CMD_H

/* `revenge-server token ...`: argv[0] is "token". Returns the exit status. */
int token_main(int argc, char **argv);

#endif
