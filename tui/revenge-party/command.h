/* tui/revenge-party/command.h - what a person types into revenge-party:
 * typed lines become commands, and commands become the messages to send
 * (pure: no terminal, no socket, no clock reads; the model is only read).
 */
#ifndef REVENGE_TUI_COMMAND_H
#define REVENGE_TUI_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

/* A line the person typed, or a key. */
enum tm_cmd_kind {
	TM_CMD_NONE, TM_CMD_CHAT, TM_CMD_PLAY, TM_CMD_PAUSE, TM_CMD_TOGGLE, TM_CMD_SEEK,
	TM_CMD_SPEED, TM_CMD_REACT, TM_CMD_HOST, TM_CMD_MEMBERS, TM_CMD_HELP, TM_CMD_QUIT,
	TM_CMD_START,
};

struct tm_cmd {
	enum tm_cmd_kind kind;
	bool relative;                  /* seek: +/- offset */
	double value;                   /* seek seconds, speed */
	char text[TM_TEXT_MAX + 1];     /* chat text, emoji, member name */
};

/* Parse a typed line: "/seek 1:23:45", "/seek +30", "/seek -10", "/speed
 * 1.25", "/react 🎉", "/host NAME", "/play", "/pause", "/start", "/members",
 * "/help", "/quit"; anything not starting with '/' is chat ("//x" sends "/x").
 * A trailing newline is dropped; an empty line is TM_CMD_NONE. Returns 0,
 * or -1 with a one-line reason in err (unknown command, bad time, speed out
 * of 0.25-4, empty chat, text too long, not UTF-8); err may be NULL. */
int tm_parse_command(const char *line, struct tm_cmd *cmd, char *err, size_t errlen);

/* The message to send for a command (malloc'd JSON text, caller frees), or
 * NULL with a notice-worthy reason in err: host-only commands from a member
 * ("only the host (NAME) can seek"), /host to an unknown name. Playback
 * commands are sync messages built from the current state, stamped with
 * "at" = the estimated server time now; seeks are clamped to 0..duration.
 * They carry an "id" (the verb), because the server sends the stamped state
 * back to the host only as the direct reply to a sync with an id. /start
 * (host only) is `start`: play now, whoever still buffers. /members,
 * /help and /quit produce no message (NULL with err empty). */
char *tm_command_message(const struct tm_model *m, const struct tm_cmd *cmd,
			 double local_now_ms, char *err, size_t errlen);

/* The commands for tab completion, NULL-terminated. */
extern const char *const tm_command_names[];

/* "1:23:45", "23:45" or "45" -> seconds (a fraction allowed on the
 * seconds, "12.5"); minutes and seconds after a ':' are two digits below
 * 60. -1 when malformed. */
double tm_parse_clock(const char *s);

#endif
