/* cmd/revenge-bench/churn.c - `revenge-bench churn`: the fanout of
 * fanout.c to P parties of M stable members (mesh.c), while extra members
 * join and leave at --churn joins per second in all. The fan-out is
 * fanout.c's sync load.
 *
 * Joining starts while the server settles, before the window, so that
 * members join and leave at the same rate throughout it. Each join takes
 * a free slot from a pool of connections, joins a party,
 * stays 0.5 to 2 s once welcomed and leaves with a normal close (1000); its
 * slot then joins again later, as the next member. The party and the stay
 * of the n-th join come from a hash of n: spread like random, but the same
 * in every run. Joins are open loop, on schedule whether or not earlier
 * ones got in; a join due while every slot is busy (joins or leaves slower
 * than the pool allows for) is counted as missed.
 *
 * Reported: joins and leaves per second achieved, the join latency (from
 * the connect call to the welcome), and for the stable members, as for
 * fanout, the syncs expected and received (loss, 0 on a healthy server) and
 * their latency. What churning members receive is not counted. A failed
 * or closed member, a join missed, failed or never answered, a lost
 * delivery or an error reply fails the run.
 */
#include "churn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanout.h"
#include "histo.h"
#include "limits.h"
#include "mesh.h"

struct churn;

struct churner {
	struct churn *ch;
	struct rv_conn *conn;         /* NULL while the slot is free */
	unsigned slot;
	double t_join;                /* when the connect call was made */
	double t_leave;               /* when it started to leave */
	double stay_s;
	bool welcomed, leaving;
	ev_timer stay;
};

struct churn {
	const struct churn_opts *o;
	struct mesh ms;
	struct syncload sl;           /* the stable members' fan-out */
	uint64_t errors;              /* churning members' error replies */
	/* churning members: the pool, and a stack of its free slots */
	struct churner *pool;
	unsigned *free_slot;
	unsigned long npool, nfree;
	double t_churn;               /* when joining started */
	unsigned long joining;        /* joins started, not yet welcomed or failed */
	uint64_t join_due, join_no;
	uint64_t joins_started, joins, leaves, missed, join_failed, churn_closed;
	struct histo join_lat;
};

/* splitmix64: a well-spread hash of the join number. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

unsigned long churn_pool_size(double churn)
{
	return (unsigned long)ceil(churn * (CHURN_STAY_MAX_S + CHURN_JOIN_SLACK_S)) + 8;
}

static bool in_window(const struct mesh *ms, double t)
{
	return ms->measuring && t >= ms->t_measure && t <= ms->t_end;
}

/* ---- churning members ------------------------------------------------- */

static void release(struct churner *c)
{
	struct churn *ch = c->ch;

	ev_timer_stop(ch->ms.loop, &c->stay);
	c->conn = NULL;
	ch->free_slot[ch->nfree++] = c->slot;
}

static void c_message(struct rv_conn *conn, const char *text, size_t len, void *user)
{
	struct churner *c = user;
	struct churn *ch = c->ch;
	double now;

	if (c->welcomed || !mesh_type_is(text, len, "welcome")) {
		if (mesh_type_is(text, len, "error")) {
			ch->errors++;
			mesh_error_reply(&ch->ms, text, len);
		}
		return;   /* the party's traffic: not counted */
	}
	now = mesh_now();
	c->welcomed = true;
	ch->joining--;
	if (in_window(&ch->ms, c->t_join)) {
		ch->joins++;
		histo_add(&ch->join_lat, (now - c->t_join) * 1e6);
	}
	ev_timer_set(&c->stay, c->stay_s, 0);
	ev_timer_start(ch->ms.loop, &c->stay);
}

static void c_close(struct rv_conn *conn, int code, int status, const char *reason, void *user)
{
	struct churner *c = user;
	struct churn *ch = c->ch;
	bool leaving = c->leaving, welcomed = c->welcomed;

	release(c);
	if (!welcomed)
		ch->joining--;
	if (ch->ms.stopping)
		return;   /* our own closing at the end of the run */
	if (leaving) {
		if (in_window(&ch->ms, c->t_leave))
			ch->leaves++;
	} else if (welcomed) {
		ch->churn_closed++;
		mesh_error(&ch->ms, "churning member closed by server: %d %s", code, reason);
	} else {
		ch->join_failed++;
		if (status)
			mesh_error(&ch->ms, "churning member refused: HTTP %d %s", status, reason);
		else if (code)
			mesh_error(&ch->ms, "churning member closed before its welcome: %d %s", code,
				   reason);
		else
			mesh_error(&ch->ms, "churning member cannot connect: %s", reason);
	}
}

static const struct rv_conn_callbacks c_callbacks = { NULL, c_message, c_close };

/* Its stay is over: leave, normally. */
static void stay_over(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct churner *c = t->data;

	if (!c->conn || c->leaving)
		return;
	c->leaving = true;
	c->t_leave = mesh_now();
	rv_conn_close(c->conn, 1000, "bye");
}

static void join_one(struct churn *ch, double now)
{
	struct mesh *ms = &ch->ms;
	uint64_t h = mix(ch->join_no++);
	struct churner *c;
	char url[2400];
	int err;

	if (!ch->nfree) {
		if (in_window(ms, now))
			ch->missed++;
		return;
	}
	c = &ch->pool[ch->free_slot[--ch->nfree]];
	c->welcomed = c->leaving = false;
	c->t_join = now;
	/* the top 53 bits as a fraction in [0, 1) */
	c->stay_s = CHURN_STAY_MIN_S +
		    (CHURN_STAY_MAX_S - CHURN_STAY_MIN_S) * (double)(h >> 11) * 0x1p-53;
	snprintf(url, sizeof(url), "%s/ws/party/bench-%s-%u?name=c%u", mesh_url(ms, c->slot + 1),
		 ms->run, (unsigned)(h % ms->parties), c->slot);
	if (in_window(ms, now))
		ch->joins_started++;
	c->conn = mesh_connect(ms, url, &c_callbacks, c, &err);
	if (c->conn) {
		ch->joining++;
	} else {
		ch->join_failed++;
		mesh_error(&ch->ms, "churning member cannot connect: %s", mesh_connect_error(err));
		ch->free_slot[ch->nfree++] = c->slot;
	}
}

/* ---- the run ----------------------------------------------------------- */

/* Joins start while the server settles, so that by the window members
 * join and leave at the same rate. */
static void warm(struct mesh *ms, double now)
{
	struct churn *ch = ms->user;
	uint64_t due;

	if (!ch->t_churn)
		ch->t_churn = now;
	due = (uint64_t)((now - ch->t_churn) * ch->o->churn);
	while (ch->join_due < due) {
		ch->join_due++;
		join_one(ch, now);
	}
}

static void pace(struct mesh *ms, double now)
{
	struct churn *ch = ms->user;

	syncload_pace(&ch->sl, ms, now);
	warm(ms, now);
}

/* Stable members' messages: only they are counted. */
static void message(struct mesh *ms, struct mesh_member *m, const char *text, size_t len)
{
	struct churn *ch = ms->user;

	syncload_message(&ch->sl, ms, m, text, len);
}

/* What the run lost fails it: a stable member's sync, a join due while
 * every slot was busy, a join never answered. */
static void check(struct mesh *ms)
{
	struct churn *ch = ms->user;

	mesh_loss(ms, "stable sync deliveries", syncload_expected(&ch->sl, ms), ch->sl.received);
	if (ch->missed)
		mesh_error(ms, "%llu joins missed: due while all %lu churning slots were busy",
			   (unsigned long long)ch->missed, ch->npool);
	if (ch->joining)
		mesh_error(ms, "%lu joins never answered (no welcome within the grace period)",
			   ch->joining);
}

static bool complete(struct mesh *ms)
{
	struct churn *ch = ms->user;

	/* and every join of the window has its answer */
	return ch->sl.received >= syncload_expected(&ch->sl, ms) && !ch->joining;
}

static void status(struct mesh *ms, char *buf, size_t len)
{
	struct churn *ch = ms->user;

	snprintf(buf, len, "%llu joined  %llu left  %llu syncs  %llu delivered  p99 %.2f ms",
		 (unsigned long long)ch->joins, (unsigned long long)ch->leaves,
		 (unsigned long long)ch->sl.sent, (unsigned long long)ch->sl.received,
		 histo_quantile(&ch->sl.lat, 0.99) / 1000);
}

static void report(const struct mesh *ms)
{
	const struct churn *ch = ms->user;
	const struct churn_opts *o = ch->o;
	const struct syncload *sl = &ch->sl;
	uint64_t expected = syncload_expected(sl, ms);
	uint64_t errors = sl->errors + ch->errors;
	double secs = mesh_window(ms), cpu = ms->cpu_end - ms->cpu_start;
	double loss = mesh_loss_pct(expected, sl->received);
	double delivered_s = secs > 0 ? (double)sl->received / secs : 0;
	double joins_s = secs > 0 ? (double)ch->joins / secs : 0;
	double leaves_s = secs > 0 ? (double)ch->leaves / secs : 0;

	if (o->c.json) {
		printf("{\"scenario\":\"churn\",");
		mesh_json_head(ms, stdout);
		mesh_load_json(ms, stdout);
		printf("\"rate_per_host\":%g,\"churn_per_s\":%g,\"sent\":%llu,\"expected\":%llu,"
		       "\"received\":%llu,\"loss_pct\":%.4f,\"delivered_per_s\":%.1f,\"errors\":%llu,"
		       "\"latency_ms\":", o->rate, o->churn, (unsigned long long)sl->sent,
		       (unsigned long long)expected, (unsigned long long)sl->received, loss,
		       delivered_s, (unsigned long long)errors);
		histo_json(&sl->lat, stdout);
		printf(",\"joins_started\":%llu,\"joins\":%llu,\"joins_per_s\":%.1f,\"leaves\":%llu,"
		       "\"leaves_per_s\":%.1f,\"joins_missed\":%llu,\"joins_failed\":%llu,"
		       "\"churn_closed_by_server\":%llu,\"join_ms\":",
		       (unsigned long long)ch->joins_started, (unsigned long long)ch->joins, joins_s,
		       (unsigned long long)ch->leaves, leaves_s, (unsigned long long)ch->missed,
		       (unsigned long long)ch->join_failed, (unsigned long long)ch->churn_closed);
		histo_json(&ch->join_lat, stdout);
		printf(",");
		mesh_errors_json(ms, stdout);
		if (isfinite(cpu))
			printf("\"server_cpu_s\":%.3f", cpu);
		else
			printf("\"server_cpu_s\":null");
		limits_json(o->c.lim, stdout);
		printf("}\n");
		return;
	}
	printf("scenario      churn (%u parties x %u stable members, %g syncs/s per host, "
	       "%g joins/s)\n", o->parties, o->members, o->rate, o->churn);
	mesh_server_text(ms, stdout);
	printf("connected     %u of %u stable (failed %u, closed by server %u)\n", ms->connected,
	       ms->n, ms->failed, ms->closed);
	printf("measured      %.1f s (+ up to %.0f s for deliveries in flight)\n", secs,
	       MESH_GRACE_S);
	printf("churn         %llu joins (%.1f/s) of %llu started, %llu leaves (%.1f/s); "
	       "missed %llu, failed %llu, closed by server %llu\n",
	       (unsigned long long)ch->joins, joins_s, (unsigned long long)ch->joins_started,
	       (unsigned long long)ch->leaves, leaves_s, (unsigned long long)ch->missed,
	       (unsigned long long)ch->join_failed, (unsigned long long)ch->churn_closed);
	printf("join latency  ");
	histo_text(&ch->join_lat, stdout);
	printf("stable        %llu of %llu syncs delivered (loss %.3f%%), %.0f/s\n",
	       (unsigned long long)sl->received, (unsigned long long)expected, loss, delivered_s);
	printf("latency       ");
	histo_text(&sl->lat, stdout);
	if (isfinite(cpu))
		printf("server CPU    %.2f s\n", cpu);
	else
		printf("server CPU    not measured (/metrics did not answer; use --server-pid)\n");
	printf("errors        %llu\n", (unsigned long long)errors);
	mesh_load_text(ms, stdout);
	limits_text(o->c.lim, stdout);
	mesh_errors_text(ms, stdout);
}

static const struct mesh_hooks hooks = {
	.message = message, .pace = pace, .warm = warm, .complete = complete, .status = status,
	.check = check, .report = report,
};

int churn_run(const struct churn_opts *o)
{
	struct churn *ch = calloc(1, sizeof(*ch));
	int rc = 1;

	if (!ch)
		goto oom;
	ch->o = o;
	ch->sl.rate = o->rate;
	ch->npool = churn_pool_size(o->churn);
	ch->pool = calloc(ch->npool, sizeof(*ch->pool));
	ch->free_slot = calloc(ch->npool, sizeof(*ch->free_slot));
	if (!ch->pool || !ch->free_slot)
		goto oom;
	for (unsigned long i = 0; i < ch->npool; i++) {
		struct churner *c = &ch->pool[i];

		c->ch = ch;
		c->slot = (unsigned)i;
		ev_timer_init(&c->stay, stay_over, 0, 0);
		c->stay.data = c;
		/* the lowest slots first */
		ch->free_slot[ch->npool - 1 - i] = (unsigned)i;
	}
	ch->nfree = ch->npool;
	/* closing the mesh runs every churning member's on_close */
	rc = mesh_main(&ch->ms, &o->c, o->parties, o->members, &hooks, ch);
	for (unsigned long i = 0; i < ch->npool; i++)
		ev_timer_stop(ch->ms.loop, &ch->pool[i].stay);
	goto out;
oom:
	fprintf(stderr, "revenge-bench: out of memory\n");
out:
	if (ch) {
		free(ch->pool);
		free(ch->free_slot);
	}
	free(ch);
	return rc;
}
