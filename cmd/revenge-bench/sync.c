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
#define STAMP_MATCH_MS 1.0
#define REJOIN_EVERY_MS 200.0     /* --rejoin: a member tries to join again this often */        /* two copies of one command's stamp differ by less */

enum { CMD_RESUME, CMD_SEEK, CMD_SPEED, CMD_PAUSE, CMD_KINDS };
static const char *const cmd_names[CMD_KINDS] = { "resume", "seek", "speed", "pause" };

struct smember {
	struct delay_queue up, down;  /* member -> server, server -> member */
	double skew, offset_ms;       /* its clock: true + (true - t0) * skew + offset */
	struct rv_offset_est est;     /* its estimate of server time */
	struct rv_schedule sched;     /* its view of the party state */
	bool has_state;
	unsigned node;                /* the --url it is on: member i on i % nurls */
	int last_k;                   /* the last command it switched to, -1: none */
	double since_ms;              /* true ms it got its state (this connection's welcome) */
	double drop_ms;               /* --rejoin: true ms it lost its connection, NAN: not
				       * in an outage */
	double retry_ms;              /* --rejoin: when to try to join again */
	double next_time_ms;          /* true ms of its next time request */
	unsigned seq;                 /* time requests sent */
	double real_t0[RING];         /* when each really left, by seq % RING */
	uint64_t rng;
};

struct cmd_rec {
	int kind;
	double t_ms;                  /* true ms it was issued */
	double stamp;                 /* its server_time as relayed, NAN: not seen yet */
	unsigned first;               /* the member that got it first */
	double max_spread_ms;         /* position, over its transient; NAN: no instant */
	double sw_min, sw_max;        /* true ms the first and last member switched */
	unsigned switched;            /* members that did */
	double nsw_min[SYNC_NODES_MAX], nsw_max[SYNC_NODES_MAX];   /* the same per node */
	unsigned nswitched[SYNC_NODES_MAX];
};

struct darr {
	double *v;
	size_t n, cap;
};

/* What is kept per node (--url) when there are several. */
struct snode {
	struct darr spread;           /* steady, among its members */
	struct rv_offset_est oracle;  /* true ms -> its server time */
	double offset_sum;            /* its members' mean - node 0's, steady, ms */
	uint64_t offset_n;
	uint64_t late;
	double late_max_ms;
	unsigned members;
};

struct sbench {
	const struct sync_opts *o;
	struct mesh ms;
	struct smember *mb;
	double *pos;                  /* scratch: each member's position at an instant */
	unsigned *pidx;               /* scratch: which member each of them is */
	double t0_ms;                 /* true ms at the start: the clocks' origin */
	unsigned nnodes;
	struct snode nodes[SYNC_NODES_MAX];
	struct darr cross;            /* steady: the farthest two members on different nodes */
	/* --rejoin */
	struct darr reconnect_ms;     /* lost -> welcomed again */
	struct darr back_ms;          /* lost -> within SYNC_BACK_MS of the host */
	struct darr after;            /* spread, SYNC_AFTER_S after a rejoined member's welcome */
	double last_rejoin_ms;        /* true ms of the last welcome after a loss */
	unsigned drops;               /* losses seen */
	unsigned cur_member;          /* message(): whose message is being read */
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
	uint64_t exchanges, errors, host_changes;
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
			m->since_ms = t;
			/* the commands issued before are in its state already */
			m->last_k = (int)sb->n_cmds - 1;
			m->next_time_ms = t;
			if (isfinite(m->drop_ms)) {
				darr_add(&sb->reconnect_ms, t - m->drop_ms);
				sb->last_rejoin_ms = t;
			}
		}
	} else if (!strcmp(type, "sync") && m->has_state && state_of(pl, &st)) {
		double server = rv_offset_server_now(&m->est, local);
		int k = d->tag - 1;   /* the command, from its stamp (message()) */

		rv_schedule_push(&m->sched, &st, server);
		if (k > m->last_k) {
			/* in force now, or when its estimate reaches the stamp */
			double sw = t + fmax(0, st.server_time - server);
			struct cmd_rec *c = &sb->cmds[k];
			struct snode *nd = &sb->nodes[m->node];
			unsigned n = m->node;

			m->last_k = k;
			c->sw_min = c->switched ? fmin(c->sw_min, sw) : sw;
			c->sw_max = c->switched ? fmax(c->sw_max, sw) : sw;
			c->switched++;
			c->nsw_min[n] = c->nswitched[n] ? fmin(c->nsw_min[n], sw) : sw;
			c->nsw_max[n] = c->nswitched[n] ? fmax(c->nsw_max[n], sw) : sw;
			c->nswitched[n]++;
			/* past its stamp already: the lead was too short for this path */
			if (st.server_time < server) {
				sb->late++;
				sb->late_max_ms = fmax(sb->late_max_ms, server - st.server_time);
				nd->late++;
				nd->late_max_ms = fmax(nd->late_max_ms, server - st.server_time);
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

	if (!sb->has_truth || !rv_offset_get_ex(&sb->nodes[0].oracle, t, NULL, NULL, NULL))
		return false;
	server = rv_offset_server_now(&sb->nodes[0].oracle, t);
	*pos = rv_schedule_position(&sb->truth, server);
	st = rv_schedule_at(&sb->truth, server);
	*playing = st->playing;
	*speed = st->speed;
	return true;
}

/* The command a relayed state is (its index), by its stamp: every copy of
 * it carries the origin's stamp, whichever node relayed it; the first
 * copy names the oldest command not seen yet (the host issues one at a
 * time, each after the last has settled). -1: none of ours. Called as
 * the state really arrives at member i (sb->cur_member). */
static int command_of(struct sbench *sb, double stamp)
{
	for (unsigned k = sb->n_cmds; k-- > 0;)
		if (fabs(sb->cmds[k].stamp - stamp) < STAMP_MATCH_MS)
			return (int)k;
	for (unsigned k = 0; k < sb->n_cmds; k++)
		if (isnan(sb->cmds[k].stamp)) {
			sb->cmds[k].stamp = stamp;
			sb->cmds[k].first = sb->cur_member;
			return (int)k;
		}
	return -1;
}

/* Every message as it really arrives: the oracle and the truth see it at
 * once, the member only after its down path. */
static void message(struct mesh *ms, struct mesh_member *mm, const char *text, size_t len)
{
	struct sbench *sb = ms->user;
	unsigned i = mm->idx;
	double t = now_ms();
	bool keep = false;
	int tag = 0;
	json_t *msg = json_loadb(text, len, 0, NULL), *pl;
	const char *type = json_string_value(json_object_get(msg, "type"));
	struct rv_playback st;

	pl = json_object_get(msg, "payload");
	if (!type) {
		json_decref(msg);
		return;
	}
	sb->cur_member = i;
	if (!strcmp(type, "time")) {
		const char *id = json_string_value(json_object_get(msg, "id"));
		unsigned long seq = id && id[0] == 't' ? strtoul(id + 1, NULL, 10) : 0;

		if (seq && seq <= sb->mb[i].seq && sb->mb[i].seq - seq < RING) {
			rv_offset_add(&sb->nodes[sb->mb[i].node].oracle,
				      sb->mb[i].real_t0[(seq - 1) % RING],
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
		const struct rv_offset_est *o0 = &sb->nodes[0].oracle;

		if (state_of(pl, &st))
			tag = command_of(sb, st.server_time) + 1;
		/* one copy a command into the truth (others may come from
		 * another node, later) */
		if (sb->has_truth && tag > 0 && sb->cmds[tag - 1].first == i)
			rv_schedule_push(&sb->truth, &st,
					 rv_offset_get_ex(o0, t, NULL, NULL, NULL) ?
					 rv_offset_server_now(o0, t) : st.server_time);
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
	} else if (!strcmp(type, "host_changed") && i == 0) {
		/* the host's commands are refused (forbidden) from then on */
		sb->host_changes++;
	}
	json_decref(msg);
	if (keep && !delay_queue_push(&sb->mb[i].down, t, tag, text, len))
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

/* --rejoin: member mm lost its connection (its node went away, say): it
 * starts afresh, as a player reloading would (no state, no clock
 * estimate, nothing in flight), and joins again every REJOIN_EVERY_MS
 * until it is in (tick). */
static bool dropped(struct mesh *ms, struct mesh_member *mm)
{
	struct sbench *sb = ms->user;
	struct smember *m = &sb->mb[mm->idx];
	double t = now_ms();

	if (!sb->o->rejoin || !mm->was_open)
		return false;
	if (!isfinite(m->drop_ms)) {
		m->drop_ms = t;
		sb->drops++;
	}
	m->has_state = false;
	rv_offset_reset(&m->est);
	delay_queue_clear(&m->up);
	delay_queue_clear(&m->down);
	m->next_time_ms = INFINITY;
	m->retry_ms = t + REJOIN_EVERY_MS;
	relay_reopen(sb->relay, mm->idx);   /* failing, the next try fails and comes here */
	return true;
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
	sb->cmds[sb->n_cmds++] = (struct cmd_rec){ .kind = kind, .t_ms = t, .max_spread_ms = NAN,
						    .stamp = NAN };
	queue_up(sb, 0, 0, buf, n, t);
}

/* Members open now. */
static unsigned open_members(const struct sbench *sb)
{
	unsigned n = 0;

	for (unsigned i = 0; i < sb->ms.n; i++)
		n += sb->ms.m[i].open;
	return n;
}

/* True when every member that must switch to command c has: those open,
 * with the state they got before c was issued (a member that joined
 * since got c's state in its welcome). */
static bool all_switched(const struct sbench *sb, const struct cmd_rec *c)
{
	int k = (int)(c - sb->cmds);

	for (unsigned i = 0; i < sb->ms.n; i++) {
		const struct smember *m = &sb->mb[i];

		if (sb->ms.m[i].open && m->has_state && m->since_ms <= c->t_ms && m->last_k < k)
			return false;
	}
	return true;
}

/* True ms until which command c is still transient: INFINITY while some
 * member has not switched yet. */
static double settled_at(const struct sbench *sb, const struct cmd_rec *c)
{
	if (!all_switched(sb, c))
		return INFINITY;
	return (c->switched ? c->sw_max : c->t_ms) + SYNC_SETTLE_S * 1000;
}

/* --rejoin: members back from a loss, at an instant whose positions are
 * pos (k of them, members idx), the host's host (NAN: not showing): one
 * within SYNC_BACK_MS of the host is back. */
static void rejoin_check(struct sbench *sb, double t, const double *pos, const unsigned *idx,
			 unsigned k, double host)
{
	for (unsigned j = 0; j < k; j++) {
		struct smember *m = &sb->mb[idx[j]];

		if (isfinite(m->drop_ms) && isfinite(host) &&
		    fabs(pos[j] - host) * 1000 <= SYNC_BACK_MS) {
			darr_add(&sb->back_ms, t - m->drop_ms);
			m->drop_ms = NAN;
		}
	}
}

/* The steady figures per node: the spread among each node's members, the
 * farthest two members on different nodes, each node's mean against node
 * 0's. */
static void sample_nodes(struct sbench *sb, const double *pos, const unsigned *idx, unsigned k)
{
	double lo[SYNC_NODES_MAX], hi[SYNC_NODES_MAX], sum[SYNC_NODES_MAX];
	unsigned cnt[SYNC_NODES_MAX] = { 0 }, nn = sb->nnodes;
	double cross = -INFINITY;

	if (nn < 2)
		return;
	for (unsigned j = 0; j < k; j++) {
		unsigned n = sb->mb[idx[j]].node;

		lo[n] = cnt[n] ? fmin(lo[n], pos[j]) : pos[j];
		hi[n] = cnt[n] ? fmax(hi[n], pos[j]) : pos[j];
		sum[n] = (cnt[n] ? sum[n] : 0) + pos[j];
		cnt[n]++;
	}
	for (unsigned a = 0; a < nn; a++) {
		if (!cnt[a])
			continue;
		if (cnt[a] >= 2)
			darr_add(&sb->nodes[a].spread, (hi[a] - lo[a]) * 1000);
		if (a && cnt[0]) {
			sb->nodes[a].offset_sum += (sum[a] / cnt[a] - sum[0] / cnt[0]) * 1000;
			sb->nodes[a].offset_n++;
		}
		for (unsigned b = 0; b < nn; b++)
			if (b != a && cnt[b])
				cross = fmax(cross, (hi[a] - lo[b]) * 1000);
	}
	if (isfinite(cross))
		darr_add(&sb->cross, cross);
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
	unsigned *idx = sb->pidx;
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
		idx[k] = i;
		if (i == 0)
			host = pos[k];
		lo = fmin(lo, pos[k]);
		hi = fmax(hi, pos[k]);
		sum += pos[k++];
	}
	if (k < n)
		sb->partial++;
	rejoin_check(sb, t, pos, idx, k, host);
	if (k < 2)
		return;
	double spread = (hi - lo) * 1000;

	if (sb->last_rejoin_ms && t - sb->last_rejoin_ms <= SYNC_AFTER_S * 1000)
		darr_add(&sb->after, spread);
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
	sample_nodes(sb, pos, idx, k);
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
		if (!ms->m[i].conn && t >= sb->mb[i].retry_ms) {
			sb->mb[i].retry_ms = t + REJOIN_EVERY_MS;
			mesh_rejoin(ms, &ms->m[i]);
		}
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

/* The "code" of an error message's text as a JSON string and a comma;
 * null when there is none. */
static void json_code(FILE *out, const char *text)
{
	char code[64];

	bench_scan_str(text, strlen(text), "code", code, sizeof(code));
	bench_json_str(out, code[0] ? code : NULL);
	fputc(',', out);
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
	if (!rv_offset_get_ex(&sb->nodes[0].oracle, t, NULL, NULL, NULL))
		return;
	truth = rv_offset_server_now(&sb->nodes[0].oracle, t);
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

/* Node n's figures across the commands every member switched to: the
 * largest time apart its members switched. */
static double node_transient_max(const struct sbench *sb, unsigned n)
{
	double worst = NAN;

	for (unsigned k = 0; k < sb->n_cmds; k++) {
		const struct cmd_rec *c = &sb->cmds[k];

		if (c->nswitched[n] && all_switched(sb, c))
			worst = isnan(worst) ? c->nsw_max[n] - c->nsw_min[n] :
				fmax(worst, c->nsw_max[n] - c->nsw_min[n]);
	}
	return worst;
}

/* Node n's server clock less node 0's, as the oracle reads them (through
 * the same loopback): NAN when either has no estimate. */
static double node_clock_offset(const struct sbench *sb, unsigned n)
{
	double t = now_ms();
	const struct rv_offset_est *a = &sb->nodes[0].oracle, *b = &sb->nodes[n].oracle;

	if (!rv_offset_get_ex(a, t, NULL, NULL, NULL) || !rv_offset_get_ex(b, t, NULL, NULL, NULL))
		return NAN;
	return rv_offset_server_now(b, t) - rv_offset_server_now(a, t);
}

/* "nodes" (one object per --url, in order) and "cross_node_spread_ms"
 * (null with one node), each followed by a comma. */
static void nodes_json(struct sbench *sb, FILE *out)
{
	fprintf(out, "\"nodes\":[");
	for (unsigned n = 0; n < sb->nnodes; n++) {
		struct snode *nd = &sb->nodes[n];

		fprintf(out, "%s{\"url\":\"%s\",\"members\":%u,", n ? "," : "", sb->o->c.urls[n],
			nd->members);
		pct_json(out, "spread_ms", &nd->spread);
		json_num(out, "mean_vs_first_ms",
			 n && nd->offset_n ? nd->offset_sum / (double)nd->offset_n : n ? NAN : 0, ",");
		json_num(out, "server_clock_vs_first_ms", n ? node_clock_offset(sb, n) : 0, ",");
		json_num(out, "transient_max_ms", node_transient_max(sb, n), ",");
		fprintf(out, "\"late_states\":{\"count\":%llu,\"max_ms\":%.4f}}",
			(unsigned long long)nd->late, nd->late_max_ms);
	}
	fprintf(out, "],");
	if (sb->nnodes > 1)
		pct_json(out, "cross_node_spread_ms", &sb->cross);
	else
		fprintf(out, "\"cross_node_spread_ms\":null,");
}

static void nodes_text(struct sbench *sb, FILE *out)
{
	if (sb->nnodes < 2)
		return;
	pct_text(out, "across nodes", &sb->cross, " (farthest two members on different nodes)");
	for (unsigned n = 0; n < sb->nnodes; n++) {
		struct snode *nd = &sb->nodes[n];
		double mean = n && nd->offset_n ? nd->offset_sum / (double)nd->offset_n : NAN;
		double clock = n ? node_clock_offset(sb, n) : NAN;
		double tr = node_transient_max(sb, n);
		char label[32];

		snprintf(label, sizeof(label), "node %u", n + 1);
		fprintf(out, "%-14s%s: %u members%s\n", label, sb->o->c.urls[n], nd->members,
			n ? "" : " (the host's)");
		pct_text(out, "  spread", &nd->spread, " (among its members)");
		if (n && isfinite(mean))
			fprintf(out, "  vs node 1   members %+.3f ms on average", mean);
		else if (n)
			fprintf(out, "  vs node 1   members - (no steady instant)");
		if (n)
			fprintf(out, isfinite(clock) ? ", server clock %+.3f ms\n" : "\n", clock);
		if (isfinite(tr) || nd->late)
			fprintf(out, "  transients  switched within %.3f ms (max); %llu states late "
				"(max %.3f ms)\n", isfinite(tr) ? tr : 0, (unsigned long long)nd->late,
				nd->late_max_ms);
	}
}

/* Members back in sync after losing their connection: how many, never. */
static unsigned not_back(const struct sbench *sb)
{
	unsigned n = 0;

	for (unsigned i = 0; i < sb->ms.n; i++)
		n += isfinite(sb->mb[i].drop_ms);
	return n;
}

/* "rejoin" (null without --rejoin), followed by a comma. */
static void rejoin_json(struct sbench *sb, FILE *out)
{
	if (!sb->o->rejoin) {
		fprintf(out, "\"rejoin\":null,");
		return;
	}
	fprintf(out, "\"rejoin\":{\"drops\":%u,\"rejoined\":%zu,\"back\":%zu,"
		"\"not_back\":%u,\"back_within_ms\":%g,", sb->drops, sb->reconnect_ms.n,
		sb->back_ms.n, not_back(sb), SYNC_BACK_MS);
	pct_json(out, "welcome_ms", &sb->reconnect_ms);
	pct_json(out, "back_ms", &sb->back_ms);
	pct_json(out, "spread_after_ms", &sb->after);
	fprintf(out, "\"after_s\":%g},", SYNC_AFTER_S);
}

static void rejoin_text(struct sbench *sb, FILE *out)
{
	if (!sb->o->rejoin)
		return;
	fprintf(out, "rejoin        %u members lost their connection, %zu welcomed again, %zu back "
		"within %g ms of the host, %u not back\n", sb->drops, sb->reconnect_ms.n,
		sb->back_ms.n, SYNC_BACK_MS, not_back(sb));
	if (sb->reconnect_ms.n)
		pct_text(out, "  welcome", &sb->reconnect_ms, " (lost -> welcomed again)");
	if (sb->back_ms.n)
		pct_text(out, "  back", &sb->back_ms, " (lost -> in sync again)");
	if (sb->after.n)
		fprintf(out, "  spread      p50 %.3f ms  max %.3f ms in the %g s after a welcome back\n",
			quantile(sb->after.v, sb->after.n, 0.5), quantile(sb->after.v, sb->after.n, 1),
			SYNC_AFTER_S);
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
		if (!c->switched || !all_switched(sb, c) || members < 2)
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
		       "\"errors\":%llu,\"host_changes\":%llu,", o->up_ms, o->down_ms, o->jitter_ms,
		       o->dist == DELAY_NORMAL ? "normal" : "uniform", o->skew_ppm,
		       (unsigned long long)o->seed, (unsigned long long)sb->samples,
		       (unsigned long long)sb->partial, sb->spread.n, sb->n_cmds,
		       (unsigned long long)sb->exchanges, (unsigned long long)sb->errors,
		       (unsigned long long)sb->host_changes);
		printf("\"error_code\":");
		json_code(stdout, sb->first_error);
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
		nodes_json(sb, stdout);
		rejoin_json(sb, stdout);
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
		mesh_server_text(ms, stdout);
		printf("connected     %u of %u (failed %u, closed by server %u)\n", ms->connected,
		       ms->n, ms->failed, ms->closed);
		printf("measured      %.1f s: %llu instants, %zu steady (playing, %g s or more "
		       "after the last member switched to a command), %u commands\n",
		       mesh_window(ms), (unsigned long long)sb->samples, sb->spread.n,
		       SYNC_SETTLE_S, sb->n_cmds);
		mesh_interrupted_text(ms, stdout);
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
		if (sb->host_changes)
			printf("host          changed %llu times under the bench's host: its "
			       "commands were refused\n", (unsigned long long)sb->host_changes);
		if (sb->errors)
			printf("errors        %llu, first %s\n", (unsigned long long)sb->errors,
			       sb->first_error);
		nodes_text(sb, stdout);
		rejoin_text(sb, stdout);
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
	.dropped = dropped,
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
	sb->pidx = calloc(o->members, sizeof(*sb->pidx));
	if (!sb->cmds || !sb->mb || !sb->pos || !sb->pidx)
		goto oom;
	sb->nnodes = o->c.nurls;
	/* the default loop: the one the mesh runs */
	sb->relay = relay_new(ev_default_loop(EVFLAG_AUTO), o->c.urls, o->c.nurls, o->c.src,
			      o->members, ping_taken, sb, err, sizeof(err));
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
		m->node = i % o->c.nurls;   /* as mesh_url and the relays spread them */
		m->last_k = -1;
		m->drop_ms = m->retry_ms = NAN;
		sb->nodes[m->node].members++;
	}
	rc = mesh_main(&sb->ms, &o->c, 1, o->members, &hooks, sb);
	if (!rc && not_back(sb))
		rc = 1;   /* --rejoin: a member that never came back is a failed run */
	ev_timer_stop(ev_default_loop(EVFLAG_AUTO), &sb->joining);   /* never warmed */
	relay_free(sb->relay);
	for (unsigned i = 0; i < o->members; i++) {
		delay_queue_clear(&sb->mb[i].up);
		delay_queue_clear(&sb->mb[i].down);
	}
	for (unsigned k = 0; k < sb->nnodes; k++)
		free(sb->nodes[k].spread.v);
	free(sb->cross.v);
	free(sb->reconnect_ms.v);
	free(sb->back_ms.v);
	free(sb->after.v);
	free(sb->pidx);
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
		free(sb->pidx);
	}
	free(sb);
	return 1;
}
