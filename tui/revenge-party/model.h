/* tui/revenge-party/model.h - what revenge-party knows and shows, and the
 * commands a person types (pure: no terminal, no socket, no clock reads).
 *
 * Decoded server messages change the model; every change marks what it
 * touched as dirty, and the view redraws only that (tmux's way). Typed
 * lines become commands, and commands become the messages to send.
 */
#ifndef REVENGE_TUI_MODEL_H
#define REVENGE_TUI_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include <revenge/revenge.h>

#define TM_MEMBERS_MAX 256
#define TM_LINES_MAX 1000           /* chat scrollback kept */
#define TM_TEXT_MAX 2000

enum {
	TM_DIRTY_PLAYER = 1 << 0,
	TM_DIRTY_MEMBERS = 1 << 1,
	TM_DIRTY_CHAT = 1 << 2,
	TM_DIRTY_STATUS = 1 << 3,
	TM_DIRTY_ALL = 0xff,
};

enum tm_conn { TM_CONNECTING, TM_CONNECTED, TM_RECONNECTING, TM_GONE };

struct tm_member {
	char id[RV_MEMBER_ID_MAX + 1];
	char name[RV_NAME_MAX_BYTES + 1];
	unsigned color;                 /* 1..6, stable for a name */
};

enum tm_line_kind { TM_CHAT, TM_REACTION, TM_JOIN, TM_LEAVE, TM_HOST, TM_NOTICE };

/* One scrollback line. For TM_CHAT, text is the message and name its
 * sender; for join, leave, host and reaction lines, text is what follows
 * the name ("joined", "left", "is now the host", "reacted 🎉"), so name,
 * a space and text read as the sentence; a notice has no name. Control
 * characters from the wire are shown as spaces; nothing is cut inside a
 * UTF-8 character. */
struct tm_line {
	enum tm_line_kind kind;
	double at_ms;                   /* server time (ts), or local for notices */
	char name[RV_NAME_MAX_BYTES + 1];
	unsigned color;                 /* of name, 1..6; 0 without a name */
	char text[TM_TEXT_MAX + 1];
};

struct tm_model {
	char party[RV_ID_MAX + 1];
	char self_id[RV_MEMBER_ID_MAX + 1];
	char self_name[RV_NAME_MAX_BYTES + 1];
	char host_id[RV_MEMBER_ID_MAX + 1];
	struct tm_member members[TM_MEMBERS_MAX];    /* join order */
	size_t n_members;
	struct rv_playback state;       /* server's playback state */
	bool joined;                    /* a welcome has arrived */
	double duration_s;              /* from --duration, 0 unknown */
	struct tm_line lines[TM_LINES_MAX];          /* ring, oldest first */
	size_t n_lines, first_line;
	size_t scroll;                  /* lines scrolled back from the bottom;
					 * while > 0 new lines keep the view put */
	struct rv_offset_est clock;
	enum tm_conn conn;
	char status[200];               /* connection status text */
	unsigned dirty;
};

void tm_init(struct tm_model *m, const char *party, const char *self_name,
	     double duration_s);

/* Apply one server message (text, len bytes). Returns 0, or -1 when it is
 * not a revenge.v1 message (not a JSON object with a string "type", or a
 * known type with a missing or mistyped field; the caller reports a
 * protocol error) and then the model is unchanged. A welcome replaces
 * members, host and state; the first one's history replaces the
 * scrollback, a rejoin after a reconnect keeps it and appends only chat
 * newer than the last chat line held. Chat and reactions append lines;
 * membership changes append join/leave/host lines; time replies feed the
 * clock estimator (t3 is the local receive time); errors become notices
 * ("forbidden: only the host can sync"). Acks and unknown types are
 * ignored (0). */
int tm_apply(struct tm_model *m, const char *text, size_t len, double local_now_ms);

/* Append a notice (a line from revenge-party itself). */
void tm_notice(struct tm_model *m, double local_now_ms, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

bool tm_is_host(const struct tm_model *m);
/* The host's name, "" when unknown. */
const char *tm_host_name(const struct tm_model *m);
/* Find a member by name (exact), NULL if absent. */
const struct tm_member *tm_member_named(const struct tm_model *m, const char *name);

/* Server time now from the local clock and the offset estimate. */
double tm_server_now(const struct tm_model *m, double local_now_ms);
/* The playback position (s) now, extrapolated. */
double tm_position(const struct tm_model *m, double local_now_ms);

/* A line the person typed, or a key. */
enum tm_cmd_kind {
	TM_CMD_NONE, TM_CMD_CHAT, TM_CMD_PLAY, TM_CMD_PAUSE, TM_CMD_TOGGLE, TM_CMD_SEEK,
	TM_CMD_SPEED, TM_CMD_REACT, TM_CMD_HOST, TM_CMD_MEMBERS, TM_CMD_HELP, TM_CMD_QUIT,
};

struct tm_cmd {
	enum tm_cmd_kind kind;
	bool relative;                  /* seek: +/- offset */
	double value;                   /* seek seconds, speed */
	char text[TM_TEXT_MAX + 1];     /* chat text, emoji, member name */
};

/* Parse a typed line: "/seek 1:23:45", "/seek +30", "/seek -10", "/speed
 * 1.25", "/react 🎉", "/host NAME", "/play", "/pause", "/members", "/help",
 * "/quit"; anything not starting with '/' is chat ("//x" sends "/x").
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
 * back to the host only as the direct reply to a sync with an id. /members,
 * /help and /quit produce no message (NULL with err empty). */
char *tm_command_message(const struct tm_model *m, const struct tm_cmd *cmd,
			 double local_now_ms, char *err, size_t errlen);

/* The commands for tab completion, NULL-terminated. */
extern const char *const tm_command_names[];

/* "1:23:45", "23:45" or "45" -> seconds (a fraction allowed on the
 * seconds, "12.5"); minutes and seconds after a ':' are two digits below
 * 60. -1 when malformed. */
double tm_parse_clock(const char *s);
/* Seconds -> "1:23:45" / "23:45" / "0:05" into buf (whole seconds; hours
 * only from one hour on; negative or NaN shows 0:00). */
void tm_format_clock(double s, char *buf, size_t len);

#endif
