/* tests/helpers/rvcat.c - a scriptable WebSocket client for the CLI tests,
 * built on librevenge's client adapter (lib/client.c).
 *
 *   rvcat [options] URL < script
 *
 * Prints every message received, one per line, and events as lines starting
 * with '#': "#open PROTO", "#closed CODE REASON", "#refused STATUS REASON",
 * "#failed REASON", "#timeout". The script (stdin, read whole before
 * connecting) has one command per line:
 *   {...}              send this text as one message
 *   #sleep MS          wait
 *   #wait TYPE [N]     wait until N messages of TYPE have arrived (total)
 *   #close CODE [WHY]  close the connection
 * After the script: with --count N, wait until N messages in total arrived;
 * else linger --linger MS (default 0), then close with 1000.
 * --token TOKEN sends "Authorization: Bearer TOKEN" in the handshake; with
 * --token-subprotocol it is offered as "bearer.TOKEN" after the
 * subprotocol instead (rv_conn_options.token, .token_in_subprotocol).
 * Exit: 0 done or closed by the server, 3 connect failed or refused,
 * 4 --timeout reached, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <ev.h>

#include <revenge/revenge.h>

struct cmd {
	enum { C_SEND, C_SLEEP, C_WAIT, C_CLOSE } kind;
	char *text;
	long n;
};

struct state {
	struct ev_loop *loop;
	ev_timer step_timer, deadline;
	struct rv_client *cl;
	struct rv_conn *conn;
	struct cmd *cmds;
	size_t n_cmds, pc;
	long received, count;
	long linger_ms;
	bool sleeping;                /* a #sleep is in progress */
	bool lingering;               /* script done, waiting out --linger */
	struct { char type[64]; long n; } *seen;
	size_t n_seen;
	int exit_code;
	bool done;
};

static long seen_count(struct state *st, const char *type)
{
	for (size_t i = 0; i < st->n_seen; i++)
		if (!strcmp(st->seen[i].type, type))
			return st->seen[i].n;
	return 0;
}

static void note_type(struct state *st, const char *text, size_t len)
{
	json_t *root = json_loadb(text, len, 0, NULL);
	const char *t = root ? json_string_value(json_object_get(root, "type")) : NULL;

	if (t) {
		size_t i;

		for (i = 0; i < st->n_seen; i++)
			if (!strcmp(st->seen[i].type, t))
				break;
		if (i == st->n_seen) {
			st->seen = realloc(st->seen, (st->n_seen + 1) * sizeof(*st->seen));
			snprintf(st->seen[i].type, sizeof(st->seen[i].type), "%s", t);
			st->seen[i].n = 0;
			st->n_seen++;
		}
		st->seen[i].n++;
	}
	json_decref(root);
}

static void finish(struct state *st, int code)
{
	if (st->done)
		return;
	st->done = true;
	st->exit_code = code;
	ev_timer_stop(st->loop, &st->step_timer);
	ev_timer_stop(st->loop, &st->deadline);
	if (st->conn)
		rv_conn_close(st->conn, 1000, "bye");
	else {
		rv_client_free(st->cl);
		st->cl = NULL;
	}
}

static void step(struct state *st);

static void linger_done(struct ev_loop *loop, ev_timer *t, int revents)
{
	finish(t->data, 0);
}

static void step_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct state *st = t->data;

	st->sleeping = false;
	step(st);
}

/* Run script commands until one has to wait. */
static void step(struct state *st)
{
	if (st->sleeping)
		return;   /* step_timer_cb resumes */
	while (!st->done && st->pc < st->n_cmds) {
		struct cmd *c = &st->cmds[st->pc];

		switch (c->kind) {
		case C_SEND:
			if (rv_conn_send(st->conn, c->text, strlen(c->text))) {
				printf("#failed send\n");
				finish(st, 1);
				return;
			}
			st->pc++;
			break;
		case C_SLEEP:
			st->pc++;
			st->sleeping = true;
			ev_timer_set(&st->step_timer, (double)c->n / 1000.0, 0);
			ev_timer_start(st->loop, &st->step_timer);
			return;
		case C_WAIT:
			if (seen_count(st, c->text) < c->n)
				return;   /* on_message calls step again */
			st->pc++;
			break;
		case C_CLOSE:
			st->pc++;
			rv_conn_close(st->conn, (int)c->n, c->text ? c->text : "");
			return;
		}
	}
	if (st->done || st->pc < st->n_cmds)
		return;
	if (st->count > 0) {
		if (st->received >= st->count)
			finish(st, 0);
		return;
	}
	if (st->lingering)
		return;
	if (st->linger_ms > 0) {
		st->lingering = true;
		ev_timer_stop(st->loop, &st->step_timer);
		ev_init(&st->step_timer, linger_done);
		ev_timer_set(&st->step_timer, (double)st->linger_ms / 1000.0, 0);
		ev_timer_start(st->loop, &st->step_timer);
		return;
	}
	finish(st, 0);
}

static void on_open(struct rv_conn *c, void *user)
{
	struct state *st = user;
	const char *p = rv_conn_subprotocol(c);

	printf("#open %s\n", *p ? p : "-");
	fflush(stdout);
	step(st);
}

static void on_message(struct rv_conn *c, const char *text, size_t len, void *user)
{
	struct state *st = user;

	fwrite(text, 1, len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	st->received++;
	note_type(st, text, len);
	if (!st->done)
		step(st);
}

static void on_close(struct rv_conn *c, int code, int status, const char *reason, void *user)
{
	struct state *st = user;

	st->conn = NULL;
	if (status)
		printf("#refused %d %s\n", status, reason);
	else if (!code)
		printf("#failed %s\n", reason);
	else
		printf("#closed %d %s\n", code, reason);
	fflush(stdout);
	if (!st->done)
		finish(st, (status || !code) ? 3 : 0);
	rv_client_free(st->cl);
	st->cl = NULL;
}

static void on_deadline(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct state *st = t->data;

	printf("#timeout\n");
	fflush(stdout);
	finish(st, 4);
}

static int parse_script(struct state *st, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, f)) >= 0) {
		struct cmd c = { 0 };
		char word[64];

		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (!n)
			continue;
		if (line[0] != '#') {
			c.kind = C_SEND;
			c.text = strdup(line);
		} else if (sscanf(line, "#sleep %ld", &c.n) == 1) {
			c.kind = C_SLEEP;
		} else if (sscanf(line, "#wait %63s %ld", word, &c.n) >= 1) {
			c.kind = C_WAIT;
			if (c.n <= 0)
				c.n = 1;
			c.text = strdup(word);
		} else if (sscanf(line, "#close %ld", &c.n) == 1) {
			const char *why = strchr(line + 7, ' ');

			c.kind = C_CLOSE;
			c.text = why ? strdup(why + 1) : NULL;
		} else if (line[1] == '#') {
			continue;   /* comment */
		} else {
			fprintf(stderr, "rvcat: bad script line: %s\n", line);
			free(line);
			return -1;
		}
		st->cmds = realloc(st->cmds, (st->n_cmds + 1) * sizeof(*st->cmds));
		st->cmds[st->n_cmds++] = c;
	}
	free(line);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "origin", required_argument, NULL, 'o' },
		{ "no-subprotocol", no_argument, NULL, 'n' },
		{ "subprotocol", required_argument, NULL, 'p' },
		{ "deflate", no_argument, NULL, 'd' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'c' },
		{ "linger", required_argument, NULL, 'l' },
		{ "token", required_argument, NULL, 'T' },
		{ "token-subprotocol", no_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	struct rv_conn_callbacks cb = { on_open, on_message, on_close };
	struct rv_conn_options co = { 0 };
	struct rv_client_config cc = { 0 };
	struct state st = { 0 };
	long timeout_ms = 5000;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': co.origin = optarg; break;
		case 'n': co.no_subprotocol = true; break;
		case 'p': co.subprotocol = optarg; break;
		case 'd': cc.deflate = true; break;
		case 'k': cc.insecure = true; break;
		case 'a': cc.ca_file = optarg; break;
		case 't': timeout_ms = atol(optarg); break;
		case 'c': st.count = atol(optarg); break;
		case 'l': st.linger_ms = atol(optarg); break;
		case 'T': co.token = optarg; break;
		case 'B': co.token_in_subprotocol = true; break;
		default: return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: rvcat [options] URL < script\n");
		return 2;
	}
	if (!isatty(0) && parse_script(&st, stdin))
		return 2;

	st.loop = ev_default_loop(EVFLAG_AUTO);
	ev_timer_init(&st.step_timer, step_timer_cb, 0, 0);
	ev_timer_init(&st.deadline, on_deadline, (double)timeout_ms / 1000.0, 0);
	st.step_timer.data = st.deadline.data = &st;
	ev_timer_start(st.loop, &st.deadline);
	cc.ev_loop = st.loop;
	st.cl = rv_client_new(&cc, &err);
	if (!st.cl) {
		fprintf(stderr, "rvcat: %s\n", rv_strerror(err));
		return 1;
	}
	st.conn = rv_client_connect(st.cl, argv[optind], &co, &cb, &st, &err);
	if (!st.conn) {
		printf("#failed %s\n", rv_strerror(err));
		finish(&st, 3);
	}
	ev_run(st.loop, 0);
	if (st.cl)
		rv_client_free(st.cl);
	ev_loop_destroy(st.loop);
	for (size_t i = 0; i < st.n_cmds; i++)
		free(st.cmds[i].text);
	free(st.cmds);
	free(st.seen);
	return st.exit_code;
}
