/* cmd/revenge-bench/sync.c - `revenge-bench sync`: one party of N members
 * (mesh.c) on a real server, each behind an in-process network path of its
 * own (delay.c: a delay each way, jitter, FIFO) and with a clock of its own
 * (off by a random constant and running off by up to --skew-ppm). Each
 * member does what a player does: it estimates server time with
 * librevenge's estimator (rv_offset_*, `time` exchanges through its path)
 * and applies the states it receives through rv_schedule (a state stamped
 * in the future waits for its instant). The host issues a command at most
 * every SYNC_CMD_EVERY_S: resume, seek, speed, pause, in turn.
 *
 * Every SYNC_SAMPLE_MS of real time the bench reads every member's
 * displayed position at that one true instant, each through its own clock
 * and estimate, and keeps the spread (max - min), the worst distance from
 * the host and from the true server position. The truth comes from an
 * oracle: the same `time` exchanges timed where they really leave and
 * reach the socket, without the simulated delays, so it is good to the
 * loopback's round trip.
 *
 * The server sets its lead (how far ahead it stamps a command) from the
 * round trips of its own WebSocket pings to each member. librevenge's
 * client answers a ping by itself, outside the simulated path, so every
 * member talks to the server through a loopback relay (relay.c) that
 * takes the server's pings out of the stream: a ping goes down the
 * member's receive path (it arrives when that path releases it) and its
 * pong up the send path, in the same FIFO as the member's other messages,
 * as behind a real delay. The lead is read
 * from each relayed command: its stamp (server_time) less the instant the
 * server relayed it (ts).
 *
 * A command's transient is how far apart in time the members switch to
 * its state: each member switches when the state reaches it or, for a
 * state stamped in the future, when its own estimate of server time
 * reaches the stamp; the bench computes that instant for every member.
 * Why time and not the position spread: during a seek members that have
 * switched and members that have not are the whole jump apart, however
 * briefly, so the largest position spread says only that a 10 ms grid
 * caught the moment (it is reported too). From a command until
 * SYNC_SETTLE_S after its last member switched, the instants are its
 * transient; the rest, while playing, are the steady state (paused
 * members agree trivially). The next command waits until SYNC_QUIET_S
 * after that, so a long lead never leaves nothing steady to measure.
 */
#include "sync.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delay.h"
#include "limits.h"
#include "mesh.h"
#include "relay.h"

#define RING 64                   /* time requests in flight per member, at most */
#define TIME_RETRY_MS 10000.0     /* a time request unanswered this long is lost */
#define CLOCK_OFFSET_MS 10000.0   /* member clocks are off by up to this */
#define TAG_PONG (-1)             /* a held message that is a ping's payload, not text */

enum { CMD_RESUME, CMD_SEEK, CMD_SPEED, CMD_PAUSE, CMD_KINDS };
static const char *const cmd_names[CMD_KINDS] = { "resume", "seek", "speed", "pause" };

struct smember {
	struct delay_queue up, down;  /* member -> server, server -> member */
	double skew, offset_ms;       /* its clock: true + (true - t0) * skew + offset */
	struct rv_offset_est est;     /* its estimate of server time */
	struct rv_schedule sched;     /* its view of the party state */
	bool has_state;
	unsigned syncs;               /* states received: the k-th is command k's */
	double next_time_ms;          /* true ms of its next time request */
	unsigned seq;                 /* time requests sent */
	double real_t0[RING];         /* when each really left, by seq % RING */
	uint64_t rng;
};

struct cmd_rec {
	int kind;
	double t_ms;                  /* true ms it was issued */
	double max_spread_ms;         /* position, over its transient; NAN: no instant */
	double sw_min, sw_max;        /* true ms the first and last member switched */
	unsigned switched;            /* members that did */
};

struct darr {
	double *v;
	size_t n, cap;
};

struct sbench {
	const struct sync_opts *o;
	struct mesh ms;
	struct smember *mb;
	double *pos;                  /* scratch: each member's position at an instant */
	double t0_ms;                 /* true ms at the start: the clocks' origin */
	struct rv_offset_est oracle;  /* true ms -> server time */
	struct rv_schedule truth;     /* the server's state as stamped */
	bool has_truth;
	/* the host's commands */
	struct cmd_rec *cmds;
	unsigned n_cmds, cap_cmds;
	bool playing;
	double speed;
	/* the samples */
	double next_sample_ms;
	uint64_t samples, partial;    /* partial: some member had no estimate yet */
	struct darr spread, host_err, truth_err;
	struct darr lead;             /* ms, of each command as the host got it */
	struct relay *relay;          /* the members' ways to the server */
	ev_timer joining;             /* pumps the paths until the mesh ticks */
	uint64_t pongs;               /* pongs that went through the paths */
	uint64_t late;                /* states a member got after their stamp, by its clock */
	double late_max_ms;           /* by how much, at most */
	double shift_sum;
	uint64_t shift_n;
	uint64_t exchanges, errors;
	char first_error[120];
};

static double now_ms(void)
{
	return mesh_now() * 1000;
}

static int darr_add(struct darr *a, double x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		double *v = realloc(a->v, cap * sizeof(*v));

		if (!v)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) of v (n values, sorted in place); NAN when
 * empty. */
static double quantile(double *v, size_t n, double q)
{
	size_t k;

	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	k = (size_t)ceil(q * (double)n);
	return v[k ? k - 1 : 0];
}

/* A member's own clock at true time t (ms). */
static double local_ms(const struct sbench *sb, const struct smember *m, double t)
{
	return t + (t - sb->t0_ms) * m->skew + m->offset_ms;
}

static double jnum(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A state {position, playing, speed, server_time} from a payload or a
 * welcome's state; false when it is not one. */
static bool state_of(json_t *o, struct rv_playback *st)
{
	st->position = jnum(o, "position");
	st->speed = jnum(o, "speed");
	st->server_time = jnum(o, "server_time");
	st->playing = json_is_true(json_object_get(o, "playing"));
	return isfinite(st->position) && isfinite(st->speed) && isfinite(st->server_time);
}

static void send_now(struct sbench *sb, unsigned i, struct delay_msg *d, double t)
{
	struct mesh_member *mm = &sb->ms.m[i];
	struct smember *m = &sb->mb[i];

	if (!mm->open)
		return;
	if (d->tag == TAG_PONG) {
		sb->pongs++;
		relay_pong(sb->relay, i, (const unsigned char *)d->text, d->len);
		return;
	}
	if (d->tag > 0)
		m->real_t0[(unsigned)(d->tag - 1) % RING] = t;
	rv_conn_send(mm->conn, d->text, d->len);
}

/* A message reaching member i through its path, at true time t. */
static void queue_up(struct sbench *sb, unsigned i, int tag, const char *text, int len,
		     double t);

static void deliver(struct sbench *sb, unsigned i, struct delay_msg *d, double t)
{
	struct smember *m = &sb->mb[i];
	double local = local_ms(sb, m, t);
	json_t *msg, *pl;
	const char *type;
	struct rv_playback st;

	if (d->tag == TAG_PONG) {
		/* the ping has reached the member: its answer starts back */
		queue_up(sb, i, TAG_PONG, d->text, (int)d->len, t);
		return;
	}
	msg = json_loadb(d->text, d->len, 0, NULL);
	type = json_string_value(json_object_get(msg, "type"));
	pl = json_object_get(msg, "payload");
	if (!type) {
		json_decref(msg);
		return;
	}
	if (!strcmp(type, "time")) {
		rv_offset_add(&m->est, jnum(pl, "client_time"), jnum(pl, "server_receive_time"),
			      jnum(pl, "server_time"), local);
		m->next_time_ms = t + rv_offset_next_delay_ms(&m->est, delay_rand(&m->rng));
	} else if (!strcmp(type, "welcome")) {
		if (state_of(json_object_get(pl, "state"), &st)) {
			rv_schedule_init(&m->sched, &st);
			m->has_state = true;
			m->next_time_ms = t;
		}
	} else if (!strcmp(type, "sync") && m->has_state && state_of(pl, &st)) {
		double server = rv_offset_server_now(&m->est, local);
		unsigned k = m->syncs++;   /* only the host syncs, one state a command */

		rv_schedule_push(&m->sched, &st, server);
		if (k < sb->n_cmds) {
			/* in force now, or when its estimate reaches the stamp */
			double sw = t + fmax(0, st.server_time - server);
			struct cmd_rec *c = &sb->cmds[k];

			c->sw_min = c->switched ? fmin(c->sw_min, sw) : sw;
			c->sw_max = c->switched ? fmax(c->sw_max, sw) : sw;
			c->switched++;
			/* past its stamp already: the lead was too short for this path */
			if (st.server_time < server) {
				sb->late++;
				sb->late_max_ms = fmax(sb->late_max_ms, server - st.server_time);
			}
		}
	}
	json_decref(msg);
}

/* Release what is due on both of member i's paths. */
static void pump(struct sbench *sb, unsigned i, double t)
{
	struct smember *m = &sb->mb[i];
	struct delay_msg *d;

	while ((d = delay_queue_pop(&m->up, t))) {
		send_now(sb, i, d, t);
		free(d);
	}
	while ((d = delay_queue_pop(&m->down, t))) {
		deliver(sb, i, d, t);
		free(d);
	}
}

static void queue_up(struct sbench *sb, unsigned i, int tag, const char *text, int len, double t)
{
	if (len > 0 && !delay_queue_push(&sb->mb[i].up, t, tag, text, (size_t)len))
		pump(sb, i, t);   /* with no delay it leaves at once */
}

static void time_request(struct sbench *sb, unsigned i, double t)
{
	struct smember *m = &sb->mb[i];
	char buf[160];
	unsigned seq = ++m->seq;
	int n = snprintf(buf, sizeof(buf), "{\"type\":\"time\",\"payload\":{\"client_time\":%.6f},"
			 "\"id\":\"t%u\"}", local_ms(sb, m, t), seq);

	m->next_time_ms = t + TIME_RETRY_MS;
	queue_up(sb, i, (int)seq, buf, n, t);
}

/* The true server position at true time t: the oracle's server time under
 * the states the server stamped. */
static bool truth_at(struct sbench *sb, double t, double *pos, bool *playing, double *speed)
{
	double server;
	const struct rv_playback *st;

	if (!sb->has_truth || !rv_offset_get_ex(&sb->oracle, t, NULL, NULL, NULL))
		return false;
	server = rv_offset_server_now(&sb->oracle, t);
	*pos = rv_schedule_position(&sb->truth, server);
	st = rv_schedule_at(&sb->truth, server);
	*playing = st->playing;
	*speed = st->speed;
	return true;
}

/* Every message as it really arrives: the oracle and the truth see it at
 * once, the member only after its down path. */
static void message(struct mesh *ms, struct mesh_member *mm, const char *text, size_t len)
{
	struct sbench *sb = ms->user;
	unsigned i = mm->idx;
	double t = now_ms();
	bool keep = false;
	json_t *msg = json_loadb(text, len, 0, NULL), *pl;
	const char *type = json_string_value(json_object_get(msg, "type"));
	struct rv_playback st;

	pl = json_object_get(msg, "payload");
	if (!type) {
		json_decref(msg);
		return;
	}
	if (!strcmp(type, "time")) {
		const char *id = json_string_value(json_object_get(msg, "id"));
		unsigned long seq = id && id[0] == 't' ? strtoul(id + 1, NULL, 10) : 0;

		if (seq && seq <= sb->mb[i].seq && sb->mb[i].seq - seq < RING) {
			rv_offset_add(&sb->oracle, sb->mb[i].real_t0[(seq - 1) % RING],
				      jnum(pl, "server_receive_time"), jnum(pl, "server_time"), t);
			sb->exchanges++;
		}
		keep = true;
	} else if (!strcmp(type, "welcome")) {
		if (!sb->has_truth && state_of(json_object_get(pl, "state"), &st)) {
			rv_schedule_init(&sb->truth, &st);
			sb->has_truth = true;
		}
		keep = true;
	} else if (!strcmp(type, "sync")) {
		if (sb->has_truth && state_of(pl, &st))
			rv_schedule_push(&sb->truth, &st,
					 rv_offset_get_ex(&sb->oracle, t, NULL, NULL, NULL) ?
					 rv_offset_server_now(&sb->oracle, t) : st.server_time);
		/* one copy a command: how far ahead of relaying it the server
		 * stamped it */
		if (i == 0 && state_of(pl, &st) && isfinite(jnum(msg, "ts")))
			darr_add(&sb->lead, st.server_time - jnum(msg, "ts"));
		keep = true;
	} else if (!strcmp(type, "error")) {
		sb->errors++;
		if (!sb->first_error[0])
			snprintf(sb->first_error, sizeof(sb->first_error), "%.*s",
				 (int)(len < 110 ? len : 110), text);
	}
	json_decref(msg);
	if (keep && !delay_queue_push(&sb->mb[i].down, t, 0, text, len))
		pump(sb, i, t);
}

/* A ping to member i, taken out of its stream by its relay: it follows
 * the member's path down, then its answer the path up (deliver). */
static void ping_taken(void *user, unsigned i, const unsigned char *payload, size_t len)
{
	struct sbench *sb = user;
	double t = now_ms();

	if (!delay_queue_push(&sb->mb[i].down, t, TAG_PONG, (const char *)payload, len))
		pump(sb, i, t);
}

static const char *member_url(struct mesh *ms, unsigned party, unsigned idx)
{
	struct sbench *sb = ms->user;

	(void)party;
	return relay_url(sb->relay, idx);
}

/* The host's next command, from its own view of the party. */
static void command(struct sbench *sb, double t)
{
	struct smember *h = &sb->mb[0];
	int kind = (int)(sb->n_cmds % CMD_KINDS);
	double local = local_ms(sb, h, t), server, pos;
	bool has_est = rv_offset_get_ex(&h->est, local, NULL, NULL, NULL);
	char buf[300], at[48] = "";
	int n;

	if (sb->n_cmds == sb->cap_cmds || !sb->ms.m[0].open || !h->has_state)
		return;
	server = rv_offset_server_now(&h->est, local);
	pos = rv_schedule_position(&h->sched, server);
	switch (kind) {
	case CMD_RESUME: sb->playing = true; break;
	case CMD_SEEK: pos += SYNC_SEEK_S; break;
	case CMD_SPEED: sb->speed = sb->speed == 1 ? 1.5 : 1; break;
	case CMD_PAUSE: sb->playing = false; break;
	}
	if (has_est)   /* the host's upload delay is then nobody's lag */
		snprintf(at, sizeof(at), ",\"at\":%.6f", server);
	n = snprintf(buf, sizeof(buf), "{\"type\":\"sync\",\"payload\":{\"position\":%.6f,"
		     "\"playing\":%s,\"speed\":%g%s},\"id\":\"c%u\"}", pos,
		     sb->playing ? "true" : "false", sb->speed, at, sb->n_cmds + 1);
	sb->cmds[sb->n_cmds++] = (struct cmd_rec){ .kind = kind, .t_ms = t, .max_spread_ms = NAN };
	queue_up(sb, 0, 0, buf, n, t);
}

/* Members that can switch to a command's state: those still open. */
static unsigned open_members(const struct sbench *sb)
{
	unsigned n = 0;

	for (unsigned i = 0; i < sb->ms.n; i++)
		n += sb->ms.m[i].open;
	return n;
}

/* True ms until which command c is still transient: INFINITY while some
 * member has not switched yet. */
static double settled_at(const struct sbench *sb, const struct cmd_rec *c)
{
	if (c->switched < open_members(sb))
		return INFINITY;
	return c->sw_max + SYNC_SETTLE_S * 1000;
}

/* Every member's displayed position at true time t. */
static void sample(struct sbench *sb, double t)
{
	unsigned n = sb->ms.n;
	double lo = INFINITY, hi = -INFINITY, host = NAN, worst_host = 0, worst_truth = 0;
	double sum = 0, truth = NAN, speed = 1;
	bool playing = false, has_truth = truth_at(sb, t, &truth, &playing, &speed);
	struct cmd_rec *last = sb->n_cmds ? &sb->cmds[sb->n_cmds - 1] : NULL;
	double *pos = sb->pos;
	unsigned k = 0;

	sb->samples++;
	/* the members that show something: open, with a state and a clock */
	for (unsigned i = 0; i < n; i++) {
		struct smember *m = &sb->mb[i];
		double local = local_ms(sb, m, t);

		if (!sb->ms.m[i].open || !m->has_state ||
		    !rv_offset_get_ex(&m->est, local, NULL, NULL, NULL))
			continue;
		pos[k] = rv_schedule_position(&m->sched, rv_offset_server_now(&m->est, local));
		if (i == 0)
			host = pos[k];
		lo = fmin(lo, pos[k]);
		hi = fmax(hi, pos[k]);
		sum += pos[k++];
	}
	if (k < n)
		sb->partial++;
	if (k < 2)
		return;
	double spread = (hi - lo) * 1000;

	if (last && t < settled_at(sb, last)) {
		last->max_spread_ms = fmax(last->max_spread_ms, spread);
		return;
	}
	if (!playing)
		return;   /* paused members agree trivially */
	for (unsigned i = 0; i < k; i++) {
		worst_host = fmax(worst_host, fabs(pos[i] - host) * 1000);
		if (has_truth)
			worst_truth = fmax(worst_truth, fabs(pos[i] - truth) * 1000);
	}
	darr_add(&sb->spread, spread);
	if (isfinite(host))
		darr_add(&sb->host_err, worst_host);
	if (has_truth) {
		darr_add(&sb->truth_err, worst_truth);
		/* in ms of time, not of media: what a clock error does */
		sb->shift_sum += (sum / k - truth) * 1000 / speed;
		sb->shift_n++;
	}
}

/* Every millisecond from settling on: the paths, the time requests, and
 * in the window the commands and the samples. */
static void tick(struct sbench *sb, bool measuring)
{
	struct mesh *ms = &sb->ms;
	double t = now_ms();

	for (unsigned i = 0; i < ms->n; i++) {
		pump(sb, i, t);
		if (ms->m[i].open && sb->mb[i].has_state && t >= sb->mb[i].next_time_ms)
			time_request(sb, i, t);
	}
	if (!measuring)
		return;
	double start = ms->t_measure * 1000;

	const struct cmd_rec *last = sb->n_cmds ? &sb->cmds[sb->n_cmds - 1] : NULL;

	if (last ? t >= last->t_ms + SYNC_CMD_EVERY_S * 1000 &&
		   t >= settled_at(sb, last) - SYNC_SETTLE_S * 1000 + SYNC_QUIET_S * 1000 :
		   t >= start + SYNC_CMD_FIRST_S * 1000)
		command(sb, t);
	if (!sb->next_sample_ms)
		sb->next_sample_ms = start;
	if (t >= sb->next_sample_ms) {
		sample(sb, t);
		/* common instants on a grid: a late tick does not shift it */
		while (sb->next_sample_ms <= t)
			sb->next_sample_ms += SYNC_SAMPLE_MS;
	}
}

/* Every millisecond while members join, before the mesh's ticks start:
 * what the paths hold (the server's first pings among it) leaves on time,
 * not when the next message happens to arrive. */
static void joining(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sbench *sb = w->data;
	double t = now_ms();

	(void)loop;
	(void)revents;
	for (unsigned i = 0; i < sb->ms.n && sb->ms.m; i++)
		pump(sb, i, t);
}

static void begin(struct mesh *ms)
{
	struct sbench *sb = ms->user;

	ev_timer_init(&sb->joining, joining, 0.001, 0.001);
	sb->joining.data = sb;
	ev_timer_start(ms->loop, &sb->joining);
}

static void warm(struct mesh *ms, double now)
{
	struct sbench *sb = ms->user;

	ev_timer_stop(ms->loop, &sb->joining);
	tick(sb, false);
}

static void pace(struct mesh *ms, double now)
{
	tick(ms->user, true);
}

static bool complete(struct mesh *ms)
{
	return true;   /* nothing is awaited after the window */
}

static double p99_now(struct sbench *sb)
{
	double *copy;
	double q;

	if (!sb->spread.n || !(copy = malloc(sb->spread.n * sizeof(*copy))))
		return NAN;
	memcpy(copy, sb->spread.v, sb->spread.n * sizeof(*copy));
	q = quantile(copy, sb->spread.n, 0.99);
	free(copy);
	return q;
}

static void status(struct mesh *ms, char *buf, size_t len)
{
	struct sbench *sb = ms->user;

	snprintf(buf, len, "%llu samples  %u commands  spread p99 %.2f ms",
		 (unsigned long long)sb->samples, sb->n_cmds, p99_now(sb));
}

static void json_num(FILE *out, const char *key, double v, const char *sep)
{
	if (isfinite(v))
		fprintf(out, "\"%s\":%.4f%s", key, v, sep);
	else
		fprintf(out, "\"%s\":null%s", key, sep);
}

/* {"p50":..,"p99":..,"max":..} of a (sorted in place). */
static void pct_json(FILE *out, const char *key, struct darr *a)
{
	fprintf(out, "\"%s\":{", key);
	json_num(out, "p50", quantile(a->v, a->n, 0.5), ",");
	json_num(out, "p99", quantile(a->v, a->n, 0.99), ",");
	json_num(out, "max", quantile(a->v, a->n, 1), "},");
}

static void pct_text(FILE *out, const char *label, struct darr *a, const char *tail)
{
	if (!a->n) {
		fprintf(out, "%-14sno samples\n", label);
		return;
	}
	fprintf(out, "%-14sp50 %.3f ms  p99 %.3f ms  max %.3f ms%s\n", label,
		quantile(a->v, a->n, 0.5), quantile(a->v, a->n, 0.99), quantile(a->v, a->n, 1),
		tail);
}

/* The members' clock estimates against the oracle at the end: the worst
 * actual error and the worst bound the estimator claimed. */
static void clock_errors(struct sbench *sb, double *err, double *bound)
{
	double t = now_ms(), truth;

	*err = *bound = NAN;
	if (!rv_offset_get_ex(&sb->oracle, t, NULL, NULL, NULL))
		return;
	truth = rv_offset_server_now(&sb->oracle, t);
	*err = *bound = 0;
	for (unsigned i = 0; i < sb->ms.n; i++) {
		struct smember *m = &sb->mb[i];
		double local = local_ms(sb, m, t), b;

		if (!rv_offset_get_ex(&m->est, local, NULL, NULL, &b))
			continue;
		*err = fmax(*err, fabs(rv_offset_server_now(&m->est, local) - truth));
		*bound = fmax(*bound, b);
	}
}

static void report(const struct mesh *cms)
{
	struct sbench *sb = cms->user;
	const struct mesh *ms = &sb->ms;
	const struct sync_opts *o = sb->o;
	struct darr kinds[CMD_KINDS] = { { 0 } }, pos[CMD_KINDS] = { { 0 } };
	double shift = sb->shift_n ? sb->shift_sum / (double)sb->shift_n : NAN, cerr, cbound;
	unsigned members = open_members(sb);

	clock_errors(sb, &cerr, &cbound);
	for (unsigned k = 0; k < sb->n_cmds; k++) {
		const struct cmd_rec *c = &sb->cmds[k];

		/* a command the window ended on may not have reached everyone */
		if (c->switched < members || members < 2)
			continue;
		darr_add(&kinds[c->kind], c->sw_max - c->sw_min);
		if (isfinite(c->max_spread_ms))
			darr_add(&pos[c->kind], c->max_spread_ms);
	}
	if (o->c.json) {
		printf("{\"scenario\":\"sync\",");
		mesh_json_head(ms, stdout);
		printf("\"delay_up_ms\":%g,\"delay_down_ms\":%g,\"jitter_ms\":%g,\"jitter_dist\":\"%s\","
		       "\"skew_ppm\":%g,"
		       "\"seed\":%llu,\"samples\":%llu,\"partial_samples\":%llu,"
		       "\"steady_samples\":%zu,\"commands\":%u,\"time_exchanges\":%llu,"
		       "\"errors\":%llu,", o->up_ms, o->down_ms, o->jitter_ms,
		       o->dist == DELAY_NORMAL ? "normal" : "uniform", o->skew_ppm,
		       (unsigned long long)o->seed, (unsigned long long)sb->samples,
		       (unsigned long long)sb->partial, sb->spread.n, sb->n_cmds,
		       (unsigned long long)sb->exchanges, (unsigned long long)sb->errors);
		pct_json(stdout, "spread_ms", &sb->spread);
		pct_json(stdout, "host_error_ms", &sb->host_err);
		pct_json(stdout, "truth_error_ms", &sb->truth_err);
		json_num(stdout, "shift_ms", shift, ",");
		json_num(stdout, "clock_error_ms", cerr, ",");
		json_num(stdout, "clock_bound_ms", cbound, ",");
		printf("\"lead_ms\":{\"count\":%zu,", sb->lead.n);
		json_num(stdout, "min", quantile(sb->lead.v, sb->lead.n, 0), ",");
		json_num(stdout, "p50", quantile(sb->lead.v, sb->lead.n, 0.5), ",");
		json_num(stdout, "max", quantile(sb->lead.v, sb->lead.n, 1), "},");
		printf("\"pongs\":%llu,\"late_states\":{\"count\":%llu,\"max_ms\":%.4f},",
		       (unsigned long long)sb->pongs, (unsigned long long)sb->late, sb->late_max_ms);
		printf("\"transients\":{");
		for (int k = 0; k < CMD_KINDS; k++) {
			printf("%s\"%s\":{\"count\":%zu,", k ? "," : "", cmd_names[k], kinds[k].n);
			json_num(stdout, "p50_ms", quantile(kinds[k].v, kinds[k].n, 0.5), ",");
			json_num(stdout, "max_ms", quantile(kinds[k].v, kinds[k].n, 1), ",");
			json_num(stdout, "position_max_ms", quantile(pos[k].v, pos[k].n, 1), "}");
		}
		printf("},");
		mesh_load_json(ms, stdout);
		printf("\"first_failure\":");
		if (ms->reason[0]) {
			/* the peer's words: nothing in them may end the string */
			putchar('"');
			for (const char *c = ms->reason; *c; c++)
				if (*c != '"' && *c != '\\' && (unsigned char)*c >= 0x20)
					putchar(*c);
			putchar('"');
		} else {
			printf("null");
		}
		limits_json(o->c.lim, stdout);
		printf("}\n");
	} else {
		printf("scenario      sync (%u members; delay up %g ms, down %g ms, jitter %s%g ms; "
		       "clocks +-%g ppm; seed %llu)\n", o->members, o->up_ms, o->down_ms,
		       o->dist == DELAY_NORMAL ? "sd " : "+-", o->jitter_ms, o->skew_ppm,
		       (unsigned long long)o->seed);
		printf("server        %s\n", o->c.url);
		printf("connected     %u of %u (failed %u, closed by server %u)\n", ms->connected,
		       ms->n, ms->failed, ms->closed);
		printf("measured      %.1f s: %llu instants, %zu steady (playing, %g s or more "
		       "after the last member switched to a command), %u commands\n",
		       mesh_window(ms), (unsigned long long)sb->samples, sb->spread.n,
		       SYNC_SETTLE_S, sb->n_cmds);
		pct_text(stdout, "spread", &sb->spread, " (max - min over members)");
		pct_text(stdout, "vs host", &sb->host_err, " (farthest member)");
		pct_text(stdout, "vs server", &sb->truth_err, " (farthest member)");
		if (isfinite(shift))
			printf("shift         members %+.3f ms on average from the server's time "
			       "(+ ahead)\n", shift);
		printf("transients    members switched within (max):");
		for (int k = 0; k < CMD_KINDS; k++)
			if (kinds[k].n)
				printf(" %s %.3f ms (%zu)", cmd_names[k],
				       quantile(kinds[k].v, kinds[k].n, 1), kinds[k].n);
		printf("\n              positions apart meanwhile (max):");
		for (int k = 0; k < CMD_KINDS; k++)
			if (pos[k].n)
				printf(" %s %.3f ms", cmd_names[k], quantile(pos[k].v, pos[k].n, 1));
		printf("\n");
		if (isfinite(cerr))
			printf("clocks        estimate error at the end max %.3f ms (bound %.3f ms), "
			       "%llu time exchanges\n", cerr, cbound,
			       (unsigned long long)sb->exchanges);
		if (sb->lead.n)
			printf("lead          min %.1f ms  p50 %.1f ms  max %.1f ms over %zu commands "
			       "(stamp - relay time; %llu pongs through the paths)\n",
			       quantile(sb->lead.v, sb->lead.n, 0), quantile(sb->lead.v, sb->lead.n, 0.5),
			       quantile(sb->lead.v, sb->lead.n, 1), sb->lead.n,
			       (unsigned long long)sb->pongs);
		if (sb->late)
			printf("late          %llu states reached a member after their stamp (by its "
			       "clock), by up to %.3f ms\n", (unsigned long long)sb->late,
			       sb->late_max_ms);
		if (sb->errors)
			printf("errors        %llu, first %s\n", (unsigned long long)sb->errors,
			       sb->first_error);
		mesh_load_text(ms, stdout);
		limits_text(o->c.lim, stdout);
		if (ms->reason[0])
			printf("first failure %s\n", ms->reason);
	}
	for (int k = 0; k < CMD_KINDS; k++) {
		free(kinds[k].v);
		free(pos[k].v);
	}
}

static const struct mesh_hooks hooks = {
	.message = message, .pace = pace, .warm = warm, .complete = complete,
	.status = status, .report = report, .begin = begin, .member_url = member_url,
};

int sync_run(const struct sync_opts *o)
{
	struct sbench *sb = calloc(1, sizeof(*sb));
	uint64_t rng = o->seed;
	char err[300];
	int rc = 1;

	if (!sb)
		goto oom;
	sb->o = o;
	sb->speed = 1;
	sb->t0_ms = now_ms();
	sb->cap_cmds = (unsigned)(o->c.duration_s / SYNC_CMD_EVERY_S) + 2;
	sb->cmds = calloc(sb->cap_cmds, sizeof(*sb->cmds));
	sb->mb = calloc(o->members, sizeof(*sb->mb));
	sb->pos = calloc(o->members, sizeof(*sb->pos));
	if (!sb->cmds || !sb->mb || !sb->pos)
		goto oom;
	/* the default loop: the one the mesh runs */
	sb->relay = relay_new(ev_default_loop(EVFLAG_AUTO), o->c.url, o->c.src, o->members,
			      ping_taken, sb, err, sizeof(err));
	if (!sb->relay) {
		fprintf(stderr, "revenge-bench: %s\n", err);
		goto fail;
	}
	for (unsigned i = 0; i < o->members; i++) {
		struct smember *m = &sb->mb[i];

		/* each member's draws follow the seed alone, whatever the others do */
		m->skew = (2 * delay_rand(&rng) - 1) * o->skew_ppm * 1e-6;
		m->offset_ms = (2 * delay_rand(&rng) - 1) * CLOCK_OFFSET_MS;
		delay_queue_init(&m->up, o->up_ms, o->jitter_ms, o->dist, rng ^ 0x5555555555555555ULL);
		delay_queue_init(&m->down, o->down_ms, o->jitter_ms, o->dist,
				 rng ^ 0xaaaaaaaaaaaaaaaaULL);
		m->rng = rng ^ 0x3333333333333333ULL;
		m->next_time_ms = INFINITY;
	}
	rc = mesh_main(&sb->ms, &o->c, 1, o->members, &hooks, sb);
	ev_timer_stop(ev_default_loop(EVFLAG_AUTO), &sb->joining);   /* never warmed */
	relay_free(sb->relay);
	for (unsigned i = 0; i < o->members; i++) {
		delay_queue_clear(&sb->mb[i].up);
		delay_queue_clear(&sb->mb[i].down);
	}
	free(sb->spread.v);
	free(sb->host_err.v);
	free(sb->truth_err.v);
	free(sb->lead.v);
	free(sb->cmds);
	free(sb->mb);
	free(sb->pos);
	free(sb);
	return rc;
oom:
	fprintf(stderr, "revenge-bench: out of memory\n");
fail:
	if (sb) {
		free(sb->cmds);
		free(sb->mb);
		free(sb->pos);
	}
	free(sb);
	return 1;
}
