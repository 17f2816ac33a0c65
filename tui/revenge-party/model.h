/* tui/revenge-party/model.h - what revenge-party knows and shows (pure: no
 * terminal, no socket, no clock reads).
 *
 * Decoded server messages change the model; every change marks what it
 * touched as dirty, and the view redraws only that (tmux's way). What a
 * person types is command.h's.
 */
#ifndef REVENGE_TUI_MODEL_H
#define REVENGE_TUI_MODEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <revenge/revenge.h>

#include "player.h"

#define TM_MEMBERS_MAX 256
#define TM_LINES_MAX 1000           /* chat scrollback kept */
#define TM_TEXT_MAX 2000
/* A name as shown: the name, then " (id)" when it needs telling apart. */
#define TM_SHOWN_MAX (RV_NAME_MAX_BYTES + RV_MEMBER_ID_MAX + 4)

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
	unsigned color;                 /* 1..6: the name's, or a free one when
					 * a present member has that */
	/* From the host's drift report (only the host gets one): listed
	 * members have has_drift, drift_ms (NAN when buffering) and
	 * buffering; the report's unlisted members have none. */
	bool has_drift, drift_buffering;
	double drift_ms;
};

/* TM_ACTION: what someone did to playback ("ann paused at 12:30");
 * TM_ERROR: a notice about something that went wrong (the server's error
 * replies, connection failures), shown with TM_ERROR_MARK so it never
 * reads as a join or a chat line. */
enum tm_line_kind { TM_CHAT, TM_REACTION, TM_JOIN, TM_LEAVE, TM_HOST, TM_NOTICE, TM_ACTION,
		    TM_ERROR };
#define TM_ERROR_MARK "! "

/* Joins (or leaves) in a row, each within TM_FOLD_MS of the one before,
 * fold into one line: "12 people joined". */
#define TM_FOLD_MS 10000.0
/* A member whose player is within this of the party is "in sync". */
#define TM_IN_SYNC_MS 100.0

/* One scrollback line. For TM_CHAT, text is the message and name its
 * sender; for join, leave, host and reaction lines, text is what follows
 * the name ("joined", "left", "is now the host", "reacted 🎉"), so name,
 * a space and text read as the sentence; a notice has no name, nor has the
 * host line saying the party has no host. from is the member id the line
 * is about ("" for none), which tells apart two people of the same name
 * (tm_shown_name). Name and text are valid UTF-8 whatever they came from:
 * a control character (C0 with ESC, DEL, C1) or a line or paragraph
 * separator (U+2028, U+2029) is shown as a space, a bidi control (U+061C,
 * U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) is dropped, a byte that is
 * not UTF-8 is shown as '?', and nothing is cut inside a character. Member
 * names are kept the same way. */
struct tm_line {
	enum tm_line_kind kind;
	double at_ms;                   /* server time (ts), or local for notices */
	char from[RV_MEMBER_ID_MAX + 1];  /* empty once the join it came from is over */
	char name[TM_SHOWN_MAX];        /* the sender's name; after a rejoin, as shown then */
	unsigned color;                 /* of name, 1..6; 0 without a name */
	char text[TM_TEXT_MAX + 1];
	unsigned count;                 /* people a join or leave line is about */
	double fold_ms;                 /* when the last of them came (at_ms is the first) */
};

struct tm_model {
	char party[RV_ID_MAX + 1];
	char self_id[RV_MEMBER_ID_MAX + 1];
	char self_name[RV_NAME_MAX_BYTES + 1];
	char host_id[RV_MEMBER_ID_MAX + 1];   /* "" before a welcome or with no host */
	struct tm_member members[TM_MEMBERS_MAX];    /* join order */
	size_t n_members;
	/* Members present as the server counts them (welcome member_count,
	 * presence count): more than n_members in a large party, whose
	 * welcome lists only some and whose presence diffs may count joins
	 * without listing them. */
	size_t member_count;
	/* The last welcome listed only some members: the client may ask for
	 * a page of the rest (`members`), whose answer adds them. */
	bool members_partial;
	struct rv_playback state;       /* server's playback state */
	/* The last state the server relayed (or welcomed with): a relayed
	 * sync is told as what changed from it ("ann paused at 12:30"). A
	 * host's own command (tm_apply_own) does not move it, so its echo
	 * is told too. */
	struct rv_playback told;
	bool joined;                    /* a welcome has arrived */
	double duration_s;              /* from --duration, 0 unknown */
	struct tm_line lines[TM_LINES_MAX];          /* ring, oldest first */
	size_t n_lines, first_line;
	size_t scroll;                  /* lines scrolled back from the bottom;
					 * while > 0 new lines keep the view put */
	size_t unseen;                  /* lines added while scrolled back; the
					 * view zeroes it back at the bottom */
	struct rv_offset_est clock;
	enum tm_conn conn;
	char status[200];               /* connection status text */
	unsigned dirty;
	/* H1 lead: what plays. state above is the latest state known (the
	 * host's own command included, which builds the next one); the
	 * server stamps a command for an instant slightly ahead and the
	 * state before it plays on until then (a scheduled pause keeps
	 * playing until its instant). */
	struct rv_schedule sched;
	/* The party's waiting room (party_state; welcome's waiting): while
	 * waiting, who it waits for (the first ids the server lists), how
	 * many in all, and the server time the wait ends at the latest
	 * (INFINITY: none). */
	bool waiting;
	size_t waiting_count, n_waiting_for;
	char waiting_for[8][RV_MEMBER_ID_MAX + 1];
	double wait_deadline;
	struct tm_player player;        /* the simulated player (player.h) */
	size_t drift_count;             /* members with a status, per the last drift report */
};

void tm_init(struct tm_model *m, const char *party, const char *self_name,
	     double duration_s);

/* Apply one server message (text, len bytes). Returns 0, or -1 when it is
 * not a revenge.v1 message (not a JSON object with a string "type", or a
 * known type with a missing or mistyped field; the caller reports a
 * protocol error) and then the model is unchanged. A welcome replaces
 * members, host and state; the first one's history replaces the
 * scrollback, a rejoin after a reconnect keeps it and appends only chat
 * newer than the last chat line held. A host_id of null, in welcome or
 * host_changed, means the party has no host (nobody present may host):
 * host_id becomes "" and nobody is host. A large party's presence diff
 * adds and drops the members it lists, sets member_count, and folds its
 * joins and leaves into one line each ("12 people joined"). Chat and reactions append lines;
 * membership changes append join/leave/host lines; time replies feed the
 * clock estimator (t3 is the local receive time); errors become notices
 * ("forbidden: only the host can sync", kind TM_ERROR). A relayed sync
 * adds a TM_ACTION line saying what its sender changed ("ann paused at
 * 12:30", "ann resumed at 12:30", "ann jumped from 0:05 to 12:30", "ann set
 * speed 1.25×", joined with "and"), none when nothing did. Joins and leaves
 * in a row within TM_FOLD_MS fold into one line ("3 people joined"). party_state sets the waiting
 * room's fields; dropped becomes a notice. A drift report (the host's)
 * sets the members' drift fields. Acks and unknown types are ignored (0). */
int tm_apply(struct tm_model *m, const char *text, size_t len, double local_now_ms);

/* A host's own sync (text as tm_apply takes it, server_time its `at`),
 * applied before the server's stamped copy comes back: it becomes state,
 * so that keys pressed in quick succession build on each other, but not
 * what plays, which changes at the instant the server stamps. Returns as
 * tm_apply. */
int tm_apply_own(struct tm_model *m, const char *text, size_t len, double local_now_ms);
/* While the party waits: "waiting for ann, bob… (3)" into buf of size
 * bytes (names as shown, at most a few, then the count), and the seconds
 * left until its deadline when it has one; "" when not waiting. */
void tm_waiting_text(const struct tm_model *m, double local_now_ms, char *buf, size_t size);

/* A member's drift as /members shows it to the host: "+12 ms",
 * "buffering", "" when the last drift report did not list them. */
void tm_member_drift_text(const struct tm_member *mb, char *buf, size_t size);

/* A member's sync in a word, from the host's drift report: "in sync"
 * (within TM_IN_SYNC_MS), "drifting", "buffering"; NULL when the last
 * report did not list them (members other than the host get none). */
const char *tm_member_sync_word(const struct tm_member *mb);

/* Append a notice (a line from revenge-party itself). */
void tm_notice(struct tm_model *m, double local_now_ms, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Append an error notice (TM_ERROR): something went wrong. */
void tm_error(struct tm_model *m, double local_now_ms, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Why a connection failed, in words, into buf of size bytes, from what
 * on_close reports (close_code, http_status, reason), the library's last
 * log line (lib_log, "" or NULL for none), whether a token was sent and
 * whether url is wss://: "connection refused", "no such host",
 * "certificate not trusted (self-signed certificate): try --ca FILE or
 * --insecure", "the server has no watch parties at this URL (HTTP 404)").
 * Returns true when retrying cannot help (a certificate problem, a refusal with a 4xx status
 * other than 429, an operator's close: 4403 removed, 4410 party closed), false when a retry may (5xx, 429, a refused or lost
 * connection, a host not found: the network may come back). */
bool tm_connect_cause(int close_code, int http_status, const char *reason, const char *lib_log,
		      bool token, bool tls, char *buf, size_t size);

bool tm_is_host(const struct tm_model *m);
/* The host's name, "" when unknown or when the party has no host. */
const char *tm_host_name(const struct tm_model *m);
/* The name to show for member id called name (a member's, or a line's
 * from and name): name itself, or "name (id)" in buf of size bytes when a
 * present member other than id has the same name, so that two people of
 * one name, or a line from someone gone and a person here, cannot pass for
 * each other. Returns name or buf; buf is always written safe to show.
 * TM_SHOWN_MAX bytes is enough. */
const char *tm_shown_name(const struct tm_model *m, const char *id, const char *name,
			  char *buf, size_t size);
/* Find a present member by the name shown for them (tm_shown_name: "ann",
 * or "ann (m3)" when two are called ann), or by a plain name only one
 * present member has; NULL if none. */
const struct tm_member *tm_member_named(const struct tm_model *m, const char *name);

/* Server time now from the local clock and the offset estimate. */
double tm_server_now(const struct tm_model *m, double local_now_ms);
/* The playback state in force now: a scheduled one once its instant
 * has come. Borrowed from m. */
const struct rv_playback *tm_playback(const struct tm_model *m, double local_now_ms);
/* The playback position (s) now, extrapolated from the state in force. */
double tm_position(const struct tm_model *m, double local_now_ms);
/* The position (s) now under the latest state known (state): where the
 * latest command leads, e.g. the base of a relative seek. */
double tm_latest_position(const struct tm_model *m, double local_now_ms);

/* A chat line on screen is "HH:MM name: text" wrapped to the pane. Every
 * row after the first starts with TM_WRAP_MARK, in the TM_WRAP_INDENT
 * columns that the first row's "HH:MM " stamp takes: a message padded to
 * the pane's width would otherwise start a row of its own with a forged
 * "12:34 bob: ..." that reads as bob's line. The first row is the only one
 * drawn without the mark, and it always names the real sender. */
#define TM_WRAP_MARK "    \xe2\x86\xb3 "    /* "    ↳ " (U+21B3) */
#define TM_WRAP_INDENT 6

/* Display columns of the longest prefix of s that fits in width columns;
 * *bytes gets its length, never cutting a character. Invalid UTF-8 counts
 * a byte as one column, a character wcwidth does not know as one. Needs a
 * UTF-8 LC_CTYPE. */
int tm_fit(const char *s, int width, size_t *bytes);

/* Wrap body (a line's "name: text") for a chat pane width columns wide:
 * every row, the first included, has width - TM_WRAP_INDENT columns (at
 * least 1) for body, and ends after a space when a word would be cut
 * (a word longer than a row is cut where the row ends). Stores where each row starts (byte offsets into body)
 * in starts, when not NULL, up to max of them; returns the number of rows,
 * at least 1 (an empty body is one empty row). */
size_t tm_wrap(const char *body, int width, size_t *starts, size_t max);

/* vsnprintf into buf of size bytes, cut at a character boundary when it
 * does not fit (an empty string on a format error); always NUL-terminated.
 * Internal to revenge-party: the scrollback and command.c's error text. */
void tm__vformat(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Seconds -> "1:23:45" / "23:45" / "0:05" into buf (whole seconds; hours
 * only from one hour on; negative or NaN shows 0:00). */
void tm_format_clock(double s, char *buf, size_t len);

#endif
