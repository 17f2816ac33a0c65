/* tui/revenge-party/main.c - join a watch party in the terminal.
 *
 * Owns the event loop (libev) and wires its parts: the connection
 * (librevenge's client, reconnecting with backoff and jitter), the model
 * (model.c), the screen (view.c) and the input line, which is GNU readline
 * driven through its callback interface: keys are read by curses from the
 * loop and fed to readline one at a time, and readline's line is painted
 * into the input window by our redisplay function (the rlncurses way).
 * While curses owns the screen, stderr is a pipe the loop reads, so the
 * library's own log lines never land on it (--log keeps them in a file).
 */
#define _XOPEN_SOURCE_EXTENDED 1
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <ev.h>
#include <jansson.h>

#include <revenge/revenge.h>

#include "cli.h"
#include "command.h"
#include "model.h"
#include "view.h"

#define PROG "revenge-party"
#define PROMPT "> "

static const char usage_text[] =
"Usage: " PROG " [OPTIONS] [URL] PARTY\n"
"\n"
"Join the watch party PARTY on the revenge-server at URL (ws://HOST:PORT or\n"
"wss://HOST:PORT; default $REVENGE_URL or ws://127.0.0.1:8080) and watch\n"
"together: the shared playback, the members, the chat. The first to join is\n"
"the host and controls playback.\n"
"\n"
"Options:\n"
"  --name NAME        your display name, 1-32 characters (default guest-N)\n"
"  --duration TIME    the video's length, for the progress bar (1:45:00)\n"
"  --insecure         wss:// without certificate checks\n"
"  --ca FILE          trust this PEM CA bundle for wss://\n"
"  --token TOKEN      send \"Authorization: Bearer TOKEN\" when joining and\n"
"                     rejoining (default $REVENGE_TOKEN); A-Z a-z 0-9 - _ . only\n"
"  --token-file FILE  read the token from FILE (keeps it out of ps)\n"
"  --log FILE         append libwebsockets' own log lines to FILE (default\n"
"                     $REVENGE_PARTY_LOG; they come with RV_LWS_DEBUG=1;\n"
"                     never shown on the screen)\n"
"  -h, --help         show this help and exit\n"
"  -V, --version      show the version and exit\n"
"\n"
"Type to chat. Commands: /play /pause /seek 1:23:45 /seek +30 /speed 1.25\n"
"/react EMOJI /host NAME /start /members /help /quit. /start (host) plays\n"
"now without waiting for members still loading; the status line says whom\n"
"the party waits for. Host keys on an empty line:\n"
"space play/pause, left/right seek -/+10 s, [ and ] speed down/up.\n"
"PgUp/PgDn scroll the chat, F1 shows help. Ctrl-C, Ctrl-D or /quit leave.\n"
"\n"
"Exit status: 0 after leaving, 1 when the server refused (an HTTP 4xx other\n"
"than 429), the certificate was not trusted or the URL cannot be used,\n"
"2 for a usage error.\n"
"\n"
"Input history is kept in $XDG_STATE_HOME/revenge/history.\n";

/* Everything the program holds; lives in main, reached through the
 * pointers libev and readline callbacks are given. */
struct app {
	struct ev_loop *loop;
	struct rv_client *cl;
	struct rv_conn *conn;
	struct view *view;
	struct tm_model m;
	char url[2048];
	const char *token;         /* --token and friends, NULL: none; never shown */
	bool quitting, done;
	unsigned attempt;
	struct rv_backoff backoff;
	ev_io key_watch;
	ev_timer redraw_timer, reconnect_timer, time_timer;
	ev_signal sigint, sigterm, sigwinch;
	char history_path[1024];
	int key;                   /* the key readline reads next */
	bool key_ready;
	int exit_code;             /* 1 once refused for good */
	char fatal[2600];          /* why, for stderr once the screen is gone */
	/* stderr while curses owns the screen: a pipe read by the loop, so
	 * libwebsockets' log lines never write over it; each line goes to
	 * log_fd (--log) when given, and the last is kept to say why a
	 * connection failed */
	int saved_stderr, log_fd;
	ev_io log_watch;
	char lib_log[512];
	char lib_part[512];        /* a line still being read */
	size_t lib_part_len;
};

/* readline's callbacks carry no user pointer: the one app is reached
 * through this, set once in main. */
static struct app *the_app;

static double local_now(void)
{
	return rv_time_wall_ms();
}

static void redraw(struct app *a)
{
	if (!a->view)
		return;
	view_draw(a->view, &a->m, local_now());
	view_draw_input(a->view, rl_prompt ? rl_prompt : PROMPT, rl_line_buffer ? rl_line_buffer : "",
			rl_point);
}

static void set_status(struct app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_status(struct app *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->m.status, sizeof(a->m.status), fmt, ap);
	va_end(ap);
	a->m.dirty |= TM_DIRTY_STATUS;
}

/* ---- connection --------------------------------------------------------- */

static void connect_now(struct app *a);

static void on_open(struct rv_conn *c, void *user)
{
	struct app *a = user;

	a->attempt = 0;
	a->m.conn = TM_CONNECTED;
	rv_offset_reset(&a->m.clock);
	set_status(a, "connected to %s", a->url);
	/* a few quick time exchanges now, then at the estimator's cadence */
	ev_timer_stop(a->loop, &a->time_timer);
	ev_timer_set(&a->time_timer, 0.05, 0);
	ev_timer_start(a->loop, &a->time_timer);
	redraw(a);
}

static void on_message(struct rv_conn *c, const char *text, size_t len, void *user)
{
	struct app *a = user;

	static const char page[] = "{\"type\":\"members\",\"payload\":{\"limit\":200}}";

	if (tm_apply(&a->m, text, len, local_now()))
		tm_notice(&a->m, local_now(), "the server sent something that is not revenge.v1");
	/* A large party's welcome names 64 members: fill the pane (it shows
	 * fewer than 200) with the first page of the roster, once a join. */
	if (a->m.members_partial && c) {
		a->m.members_partial = false;
		rv_conn_send(c, page, sizeof(page) - 1);
	}
	redraw(a);
}

static void schedule_reconnect(struct app *a, const char *why)
{
	double ms = rv_backoff_delay(&a->backoff, a->attempt++);

	a->m.conn = TM_RECONNECTING;
	set_status(a, "%s; reconnecting in %.1f s (attempt %u)", why, ms / 1000, a->attempt);
	ev_timer_stop(a->loop, &a->reconnect_timer);
	ev_timer_set(&a->reconnect_timer, ms / 1000, 0);
	ev_timer_start(a->loop, &a->reconnect_timer);
}

/* Read what went to stderr (libwebsockets' log lines): to --log's file,
 * and the last whole line kept for tm_connect_cause. */
static void drain_log(struct app *a, int fd)
{
	char buf[1024];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (a->log_fd >= 0 && write(a->log_fd, buf, (size_t)n) < 0)
			a->log_fd = -1;         /* a full disk costs the log only */
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				a->lib_part[a->lib_part_len] = 0;
				snprintf(a->lib_log, sizeof(a->lib_log), "%s", a->lib_part);
				a->lib_part_len = 0;
			} else if (a->lib_part_len < sizeof(a->lib_part) - 1) {
				a->lib_part[a->lib_part_len++] = buf[i];
			}
		}
	}
}

static void on_log(struct ev_loop *loop, ev_io *w, int revents)
{
	drain_log(w->data, w->fd);
}

/* A failed connection, said with its cause and the URL: retried when that
 * may help, else the end (exit status 1). */
static void connection_failed(struct app *a, int code, int status, const char *reason)
{
	char why[400];
	bool fatal;

	if (a->log_watch.fd >= 0)
		drain_log(a, a->log_watch.fd);
	fatal = tm_connect_cause(code, status, reason, a->lib_log, a->token != NULL,
				 !strncmp(a->url, "wss://", 6), why, sizeof(why));
	a->lib_log[0] = 0;
	if (fatal) {
		a->m.conn = TM_GONE;
		a->exit_code = 1;
		tm_error(&a->m, local_now(), "%s: %s", a->url, why);
		snprintf(a->fatal, sizeof(a->fatal), "%s: %s", a->url, why);
		set_status(a, "cannot join; press Enter or Ctrl-C to leave");
		a->quitting = true;
		redraw(a);
		return;
	}
	/* the first failure of a run of them is told in the scrollback; the
	 * status line keeps the latest */
	if (a->m.conn == TM_CONNECTED || a->attempt == 0)
		tm_error(&a->m, local_now(), "%s: %s", a->url, why);
	schedule_reconnect(a, why);
	redraw(a);
}

static void on_close(struct rv_conn *c, int code, int status, const char *reason, void *user)
{
	struct app *a = user;

	a->conn = NULL;
	ev_timer_stop(a->loop, &a->time_timer);
	if (a->quitting) {
		a->done = true;
		ev_break(a->loop, EVBREAK_ALL);
		return;
	}
	/* Refusals say what is wrong and end the program: retrying would not
	 * change them. A server that went away is retried. */
	connection_failed(a, code, status, reason ? reason : "");
}

static const struct rv_conn_callbacks callbacks = { on_open, on_message, on_close };

static void connect_now(struct app *a)
{
	char url[2600], name[RV_NAME_MAX_BYTES * 3 + 1];
	struct rv_conn_options opts = { .token = a->token };
	size_t n = 0;
	int err;

	/* the name travels in the query: percent-encode all but the safe */
	for (const unsigned char *p = (const unsigned char *)a->m.self_name; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')
			name[n++] = (char)*p;
		else
			n += (size_t)sprintf(name + n, "%%%02X", *p);
	}
	name[n] = 0;
	snprintf(url, sizeof(url), "%s/ws/party/%s%s%s", a->url, a->m.party, n ? "?name=" : "",
		 name);
	if (a->m.conn != TM_RECONNECTING)
		a->m.conn = TM_CONNECTING;
	set_status(a, "%s %s ...", a->attempt ? "reconnecting to" : "connecting to", a->url);
	a->conn = rv_client_connect(a->cl, url, &opts, &callbacks, a, &err);
	if (!a->conn && err == RV_EINVAL) {
		/* the URL, or the token with it, can never be sent */
		a->m.conn = TM_GONE;
		tm_notice(&a->m, local_now(), "cannot connect: %s", a->token ?
			  "the token is too long to send with this URL" : "the URL cannot be used");
		set_status(a, "cannot connect; press Enter or Ctrl-C to leave");
		a->quitting = true;
	} else if (!a->conn) {
		/* the library says why: "cannot resolve the host 'x'", ... */
		connection_failed(a, 0, 0, rv_client_last_error(a->cl));
	}
	redraw(a);
}

static void reconnect_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	connect_now(t->data);
}

static void time_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct app *a = t->data;
	char msg[128];

	if (a->conn && rv_conn_is_open(a->conn)) {
		int n = snprintf(msg, sizeof(msg),
				 "{\"type\":\"time\",\"payload\":{\"client_time\":%.3f}}", local_now());

		rv_conn_send(a->conn, msg, (size_t)n);
	}
	ev_timer_set(t, rv_offset_next_delay_ms(&a->m.clock, (double)rand() / RAND_MAX) / 1000,
		     0);
	ev_timer_start(loop, t);
}

static void redraw_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct app *a = t->data;
	double now = local_now();
	char msg[256];

	/* the simulated player follows the party clock; the server hears
	 * where it is once a second */
	if (a->m.joined) {
		tm_player_step(&a->m.player, &a->m.state, tm_server_now(&a->m, now), now);
		if (a->conn && rv_conn_is_open(a->conn) &&
		    tm_player_status(&a->m.player, &a->m.clock, now, msg, sizeof(msg)))
			rv_conn_send(a->conn, msg, strlen(msg));
	}
	/* the position moves while playing; the clock text changes anyway */
	a->m.dirty |= TM_DIRTY_PLAYER;
	if (a->m.waiting)               /* the wait's seconds left */
		a->m.dirty |= TM_DIRTY_STATUS;
	redraw(a);
}

/* ---- commands ----------------------------------------------------------- */

static void quit(struct app *a)
{
	a->quitting = true;
	if (a->conn)
		rv_conn_close(a->conn, 1000, "bye");
	else {
		a->done = true;
		ev_break(a->loop, EVBREAK_ALL);
	}
}

/* A host's playback command is the model's latest state at once, before
 * the server's stamped copy comes back: keys pressed in quick succession
 * build on each other instead of on a stale state. What plays changes
 * at the instant the server stamps, for the host as for everyone. */
static void apply_own_sync(struct app *a, const char *msg)
{
	json_t *m = json_loads(msg, 0, NULL), *p = json_object_get(m, "payload");
	char *local;

	if (!m || strcmp(json_string_value(json_object_get(m, "type")) ?: "", "sync") || !p) {
		json_decref(m);
		return;
	}
	json_object_set(p, "server_time", json_object_get(p, "at"));
	json_object_del(p, "at");
	json_object_del(m, "id");
	local = json_dumps(m, JSON_COMPACT);
	if (local)
		tm_apply_own(&a->m, local, strlen(local), local_now());
	free(local);
	json_decref(m);
}

static void help(struct app *a)
{
	tm_notice(&a->m, local_now(), "chat by typing; /play /pause /seek 1:23:45|+30|-10 "
		  "/speed 1.25 /react EMOJI /host NAME /start (play without waiting) /members "
		  "/quit; host keys on an empty "
		  "line: space, left/right, [ ]; PgUp/PgDn scroll; F1 this help");
}

static void run_command(struct app *a, const struct tm_cmd *cmd)
{
	char err[300];
	char *msg;

	switch (cmd->kind) {
	case TM_CMD_QUIT:
		quit(a);
		return;
	case TM_CMD_HELP:
		help(a);
		return;
	case TM_CMD_MEMBERS: {
		char list[1500];
		size_t n = 0;

		for (size_t i = 0; i < a->m.n_members && n < sizeof(list) - 80; i++) {
			const struct tm_member *mb = &a->m.members[i];
			char shown[TM_SHOWN_MAX], drift[32] = "";

			/* only the host gets drift reports */
			if (tm_is_host(&a->m))
				tm_member_drift_text(mb, drift, sizeof(drift));
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s%s%s%s", i ? ", " : "",
					      tm_shown_name(&a->m, mb->id, mb->name, shown,
							    sizeof(shown)),
					      strcmp(mb->id, a->m.host_id) ? "" : " (host)",
					      drift[0] ? " " : "", drift);
		}
		/* a large party's client knows only some by name */
		tm_notice(&a->m, local_now(), "%zu here: %s%s", a->m.member_count > a->m.n_members ?
			  a->m.member_count : a->m.n_members, list,
			  a->m.member_count > a->m.n_members ? ", ..." : "");
		return;
	}
	default:
		break;
	}
	msg = tm_command_message(&a->m, cmd, local_now(), err, sizeof(err));
	if (!msg) {
		if (err[0])
			tm_error(&a->m, local_now(), "%s", err);
		return;
	}
	if (!a->conn || !rv_conn_is_open(a->conn)) {
		tm_error(&a->m, local_now(), "not connected: not sent");
	} else {
		rv_conn_send(a->conn, msg, strlen(msg));
		apply_own_sync(a, msg);
	}
	free(msg);
}

/* ---- readline glue ------------------------------------------------------ */

static int rl_getc_hook(FILE *f)
{
	the_app->key_ready = false;
	return the_app->key;
}

static int rl_input_available(void)
{
	return the_app->key_ready;
}

static void rl_redisplay_hook(void)
{
	if (the_app->view)
		view_draw_input(the_app->view, rl_display_prompt ? rl_display_prompt : PROMPT,
				rl_line_buffer, rl_point);
}

static void on_line(char *line)
{
	struct app *a = the_app;
	struct tm_cmd cmd;
	char err[300];

	if (!line) {          /* Ctrl-D on an empty line */
		quit(a);
		return;
	}
	if (a->m.conn == TM_GONE) {
		free(line);
		quit(a);
		return;
	}
	if (*line) {
		HIST_ENTRY *last = history_length ? history_get(history_base + history_length - 1) :
				   NULL;

		/* like a shell: a line repeated at once is kept once */
		if (!last || strcmp(last->line, line))
			add_history(line);
		if (tm_parse_command(line, &cmd, err, sizeof(err)))
			tm_error(&a->m, local_now(), "%s", err);
		else
			run_command(a, &cmd);
	}
	free(line);
	redraw(a);
}

/* Tab: /commands at the start of the line, member names elsewhere. */
static char *complete_gen(const char *text, int state)
{
	static size_t i;
	static size_t len;
	struct app *a = the_app;

	if (!state) {
		i = 0;
		len = strlen(text);
	}
	if (rl_point == (int)len && text[0] == '/' && rl_line_buffer[0] == '/') {
		while (tm_command_names[i]) {
			const char *c = tm_command_names[i++];

			if (!strncmp(c, text, len))
				return strdup(c);
		}
		return NULL;
	}
	while (i < a->m.n_members) {
		const struct tm_member *mb = &a->m.members[i++];
		char shown[TM_SHOWN_MAX];
		const char *n = tm_shown_name(&a->m, mb->id, mb->name, shown, sizeof(shown));

		if (!strncmp(n, text, len))
			return strdup(n);
	}
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	rl_attempted_completion_over = 1;
	return rl_completion_matches(text, complete_gen);
}

static void feed_readline(struct app *a, int ch)
{
	a->key = ch;
	a->key_ready = true;
	rl_callback_read_char();
}

/* Curses decoded some keys; readline wants them as its own commands. */
static bool special_key(struct app *a, int ch)
{
	bool empty = !rl_line_buffer || !rl_line_buffer[0];
	struct tm_cmd cmd = { .kind = TM_CMD_NONE };

	switch (ch) {
	case KEY_PPAGE:
		/* the view clamps this to the oldest line when it draws */
		a->m.scroll += (size_t)view_page(a->view);
		a->m.dirty |= TM_DIRTY_CHAT | TM_DIRTY_STATUS;
		return true;
	case KEY_NPAGE:
		a->m.scroll = a->m.scroll > (size_t)view_page(a->view) ?
			      a->m.scroll - (size_t)view_page(a->view) : 0;
		a->m.dirty |= TM_DIRTY_CHAT | TM_DIRTY_STATUS;
		return true;
	case KEY_F(1):
		help(a);
		return true;
	case KEY_RESIZE:
		view_resize(a->view);
		a->m.dirty = TM_DIRTY_ALL;
		return true;
	case KEY_LEFT:
		if (empty) {
			cmd.kind = TM_CMD_SEEK;
			cmd.relative = true;
			cmd.value = -10;
			break;
		}
		rl_backward_char(1, 0);
		return true;
	case KEY_RIGHT:
		if (empty) {
			cmd.kind = TM_CMD_SEEK;
			cmd.relative = true;
			cmd.value = 10;
			break;
		}
		rl_forward_char(1, 0);
		return true;
	case KEY_UP:
		rl_get_previous_history(1, 0);
		return true;
	case KEY_DOWN:
		rl_get_next_history(1, 0);
		return true;
	case KEY_HOME:
		rl_beg_of_line(1, 0);
		return true;
	case KEY_END:
		rl_end_of_line(1, 0);
		return true;
	case KEY_DC:
		rl_delete(1, 0);
		return true;
	case KEY_BACKSPACE:
		rl_rubout(1, 0);
		return true;
	case ' ':
		if (!empty)
			return false;
		cmd.kind = TM_CMD_TOGGLE;
		break;
	case '[':
	case ']':
		if (!empty)
			return false;
		cmd.kind = TM_CMD_SPEED;
		/* steps of a quarter, within the contract's range */
		cmd.value = a->m.state.speed + (ch == ']' ? 0.25 : -0.25);
		if (cmd.value < RV_SPEED_MIN)
			cmd.value = RV_SPEED_MIN;
		if (cmd.value > RV_SPEED_MAX)
			cmd.value = RV_SPEED_MAX;
		break;
	default:
		return false;
	}
	run_command(a, &cmd);
	return true;
}

static void on_key(struct ev_loop *loop, ev_io *w, int revents)
{
	struct app *a = w->data;
	int ch;

	while (!a->done && (ch = view_getch(a->view)) != ERR) {
		if (ch >= KEY_MIN) {
			special_key(a, ch);
		} else if (!special_key(a, ch)) {
			feed_readline(a, ch);
		}
	}
	redraw(a);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct app *a = w->data;

	if (w->signum == SIGWINCH) {
		view_resize(a->view);
		a->m.dirty = TM_DIRTY_ALL;
		redraw(a);
		return;
	}
	/* a second Ctrl-C while the close is still in flight leaves at once */
	if (a->quitting) {
		a->done = true;
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	quit(a);
}

static void history_path(struct app *a)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char dir[900];

	if (state && *state)
		snprintf(dir, sizeof(dir), "%s/revenge", state);
	else if (home && *home)
		snprintf(dir, sizeof(dir), "%s/.local/state/revenge", home);
	else
		return;
	/* mkdir -p: each component may already exist */
	for (char *p = dir + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(dir, 0700);
			*p = '/';
		}
	mkdir(dir, 0700);
	snprintf(a->history_path, sizeof(a->history_path), "%s/history", dir);
}

int main(int argc, char **argv)
{
	static char token_buf[CLI_TOKEN_BUF];   /* --token-file's, for the whole run */
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'c' },
		{ "token", required_argument, NULL, 'T' },
		{ "token-file", required_argument, NULL, 'F' },
		{ "log", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct app a;
	struct rv_client_config cc = { 0 };
	const char *name = "", *url, *party, *token = NULL, *token_file = NULL;
	const char *log_file = getenv("REVENGE_PARTY_LOG");
	int log_pipe[2];
	double duration = 0;
	int opt, err;

	memset(&a, 0, sizeof(a));
	setlocale(LC_ALL, "");
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (!rv_proto_valid_name(optarg, strlen(optarg)))
				/* not echoed: it may hold what would drive the terminal */
				cli_usage_error(PROG, "--name: expected 1-32 characters, no control, "
						"bidi control or line separator, not only blank "
						"or invisible ones");
			name = optarg;
			break;
		case 'd':
			duration = tm_parse_clock(optarg);
			if (duration <= 0)
				cli_usage_error(PROG, "--duration: expected a time like 1:45:00 or 5400, "
						"got '%s'", optarg);
			break;
		case 'k': cc.insecure = true; break;
		case 'c':
			if (access(optarg, R_OK))
				cli_usage_error(PROG, "--ca: cannot read '%s': %s", optarg, strerror(errno));
			cc.ca_file = optarg;
			break;
		case 'T': token = optarg; break;
		case 'F': token_file = optarg; break;
		case 'L': log_file = optarg; break;
		default:
			cli_common_opt(PROG, usage_text, opt, argv);
		}
	}
	a.token = cli_token(PROG, token, token_file, token_buf);
	if (argc - optind != 2 && argc - optind != 1)
		cli_usage_error(PROG, "expected [URL] PARTY, e.g. ws://127.0.0.1:8080 movie-night");
	/* like revenge-probe and revenge-bench: the URL from the environment */
	url = argc - optind == 2 ? argv[optind] :
	      getenv("REVENGE_URL") && *getenv("REVENGE_URL") ? getenv("REVENGE_URL") :
	      "ws://127.0.0.1:8080";
	party = argv[argc - 1];
	if (strncmp(url, "ws://", 5) && strncmp(url, "wss://", 6))
		cli_usage_error(PROG, "URL: expected ws://HOST:PORT or wss://HOST:PORT, got '%s'", url);
	if (!rv_proto_valid_id(party, strlen(party)))
		cli_usage_error(PROG, "PARTY: expected 1-64 characters of A-Z a-z 0-9 _ -, got '%s'",
				party);
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, PROG ": needs a terminal\n");
		return 2;
	}
	a.log_fd = -1;
	if (log_file && *log_file) {
		a.log_fd = open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (a.log_fd < 0)
			cli_usage_error(PROG, "--log: cannot open '%s': %s", log_file, strerror(errno));
	}
	snprintf(a.url, sizeof(a.url), "%s", url);
	if (a.url[strlen(a.url) - 1] == '/')
		a.url[strlen(a.url) - 1] = 0;
	tm_init(&a.m, party, name, duration);
	the_app = &a;
	a.backoff = (struct rv_backoff){ 250, 10000, 0.5, (uint64_t)rv_time_mono_ns() | 1 };
	srand((unsigned)rv_time_mono_ns());

	a.loop = ev_default_loop(EVFLAG_AUTO);
	cc.ev_loop = a.loop;
	cc.ping_interval = 30;   /* a dead server is noticed within a minute, then rejoined */
	a.cl = rv_client_new(&cc, &err);
	if (!a.cl) {
		fprintf(stderr, PROG ": %s\n", rv_strerror(err));
		return 1;
	}
	a.view = view_open(!getenv("NO_COLOR"));
	if (!a.view) {
		fprintf(stderr, PROG ": cannot use this terminal\n");
		return 1;
	}
	/* From here to view_close, stderr is the log pipe (see struct app). */
	ev_io_init(&a.log_watch, on_log, -1, EV_READ);
	a.saved_stderr = dup(STDERR_FILENO);
	if (a.saved_stderr >= 0 && !pipe2(log_pipe, O_CLOEXEC | O_NONBLOCK)) {
		dup2(log_pipe[1], STDERR_FILENO);
		close(log_pipe[1]);
		ev_io_set(&a.log_watch, log_pipe[0], EV_READ);
		a.log_watch.data = &a;
		ev_io_start(a.loop, &a.log_watch);
	}

	/* readline: fed key by key from the loop, painting through us */
	history_path(&a);
	if (a.history_path[0])
		read_history(a.history_path);
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_deprep_term_function = NULL;
	rl_prep_term_function = NULL;
	rl_change_environment = 0;
	rl_getc_function = rl_getc_hook;
	rl_input_available_hook = rl_input_available;
	rl_redisplay_function = rl_redisplay_hook;
	rl_attempted_completion_function = complete;
	rl_callback_handler_install(PROMPT, on_line);

	ev_io_init(&a.key_watch, on_key, STDIN_FILENO, EV_READ);
	ev_timer_init(&a.redraw_timer, redraw_cb, 0.25, 0.25);
	ev_timer_init(&a.reconnect_timer, reconnect_cb, 0, 0);
	ev_timer_init(&a.time_timer, time_cb, 0, 0);
	ev_signal_init(&a.sigint, on_signal, SIGINT);
	ev_signal_init(&a.sigterm, on_signal, SIGTERM);
	ev_signal_init(&a.sigwinch, on_signal, SIGWINCH);
	a.key_watch.data = a.redraw_timer.data = a.reconnect_timer.data = a.time_timer.data = &a;
	a.sigint.data = a.sigterm.data = a.sigwinch.data = &a;
	ev_io_start(a.loop, &a.key_watch);
	ev_timer_start(a.loop, &a.redraw_timer);
	ev_signal_start(a.loop, &a.sigint);
	ev_signal_start(a.loop, &a.sigterm);
	ev_signal_start(a.loop, &a.sigwinch);

	a.m.dirty = TM_DIRTY_ALL;
	connect_now(&a);
	ev_run(a.loop, 0);

	rl_callback_handler_remove();
	if (a.history_path[0])
		write_history(a.history_path);
	view_close(a.view);
	rv_client_free(a.cl);
	if (a.log_watch.fd >= 0) {
		drain_log(&a, a.log_watch.fd);
		dup2(a.saved_stderr, STDERR_FILENO);
		close(a.log_watch.fd);
	}
	if (a.log_fd >= 0)
		close(a.log_fd);
	/* the screen is gone: a script or the shell still learns why */
	if (a.fatal[0])
		fprintf(stderr, PROG ": %s\n", a.fatal);
	return a.exit_code;
}
