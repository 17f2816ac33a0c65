/* cmd/revenge-probe/accuracy.c - `revenge-probe sync --accuracy`: how well
 * a live server's party members agree on the playback position.
 *
 * The probe joins the party with a host and --members members, each of
 * which estimates server time the way a player does (librevenge's
 * rv_offset_* over ACC_EXCHANGES `time` exchanges) and follows the party
 * state through rv_schedule (a state stamped in the future waits for its
 * instant). As host, the probe resumes playback itself and waits until
 * every member has the new state; in a party someone else hosts it only
 * watches. Then, every ACC_SAMPLE_MS for ACC_WINDOW_MS, it reads every
 * member's displayed position at one common instant, each through its own
 * estimate: the spread (max - min) is what members on this server's paths
 * disagree by. It passes when the spread's p99 is within --tolerance-ms.
 * All members live in this one process on one clock, so the spread is the
 * clock estimates' and the server's doing, never the probe's own clock.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

#define ACC_EXCHANGES 8           /* time exchanges per member */
#define ACC_WINDOW_MS 3000.0      /* measured for this long */
#define ACC_SAMPLE_MS 10.0        /* every member read this often */
#define ACC_CLIENTS_MAX 101       /* the host and up to 100 members */

struct acc_member {
	struct pclient *c;
	struct rv_offset_est est;
	struct rv_schedule sched;
	bool got;                     /* has the probe's own command */
};

static double num(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* A state {position, playing, speed, server_time}; false when it is not. */
static bool state_of(const json_t *o, struct rv_playback *st)
{
	st->position = num(o, "position");
	st->speed = num(o, "speed");
	st->server_time = num(o, "server_time");
	st->playing = json_is_true(json_object_get(o, "playing"));
	return isfinite(st->position) && isfinite(st->speed) && isfinite(st->server_time);
}

static bool has_id(const json_t *m, void *arg, char *why, size_t len)
{
	const char *id = json_string_value(json_object_get(m, "id"));

	return id && !strcmp(id, arg);
}

/* Join as name and start following the welcome's state: 0, or the status
 * recorded. *role gets "host" or "member". */
static int join(struct probe *p, struct acc_member *a, const char *party, const char *name,
		char *role, size_t rlen)
{
	char path[200];
	json_t *w, *pl;
	struct rv_playback st;

	snprintf(path, sizeof(path), "/ws/party/%s?name=%s", party, name);
	a->c = probe_client(p, name, path);
	if (pc_open(a->c, NULL) || !(w = pc_expect(a->c, "welcome", NULL, NULL, 0, NULL)))
		return p->status;
	pl = json_object_get(w, "payload");
	snprintf(role, rlen, "%s", json_string_value(json_object_get(pl, "role")) ?
		 json_string_value(json_object_get(pl, "role")) : "");
	if (!state_of(json_object_get(pl, "state"), &st)) {
		probe_fail(p, PX_PROTOCOL, "sync: %s's welcome has no state {position, playing, "
			   "speed, server_time}", name);
		json_decref(w);
		return p->status;
	}
	rv_schedule_init(&a->sched, &st);
	json_decref(w);
	return 0;
}

/* ACC_EXCHANGES time exchanges, one after the other. */
static int estimate(struct probe *p, struct acc_member *a)
{
	for (int k = 0; k < ACC_EXCHANGES; k++) {
		char id[24];
		double t0 = probe_now_ms(), t3;
		json_t *m;

		snprintf(id, sizeof(id), "acc%d", k);
		if (pc_sendf(a->c, "time", json_pack("{s:f}", "client_time", t0), id))
			return p->status;
		if (!(m = pc_expect(a->c, "time", has_id, id, 0, &t3)))
			return p->status;
		rv_offset_add(&a->est, t0, num(json_object_get(m, "payload"), "server_receive_time"),
			      num(json_object_get(m, "payload"), "server_time"), t3);
		json_decref(m);
	}
	if (!rv_offset_get_ex(&a->est, probe_now_ms(), NULL, NULL, NULL)) {
		probe_fail(p, PX_PROTOCOL, "sync: %s's time replies give no clock estimate",
			   a->c->name);
		return p->status;
	}
	return 0;
}

/* Apply every sync member a has received by now. */
static void follow(struct acc_member *a, const char *cmd_id)
{
	double at;
	json_t *m;
	struct rv_playback st;

	while ((m = pc_take(a->c, "sync", &at))) {
		const char *id = json_string_value(json_object_get(m, "id"));

		if (state_of(json_object_get(m, "payload"), &st)) {
			rv_schedule_push(&a->sched, &st, rv_offset_server_now(&a->est, at));
			/* the relay, or the host's own direct reply */
			if (cmd_id && (!id || !strcmp(id, cmd_id)))
				a->got = true;
		}
		json_decref(m);
	}
}

static bool all_got(void *arg)
{
	struct acc_member *a = arg;
	bool all = true;

	for (; a->c; a++) {
		follow(a, "probe-accuracy");
		all = all && a->got;
		if (a->c->ended)
			return true;
	}
	return all;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static double quantile(const double *v, size_t n, double q)
{
	size_t k = (size_t)ceil(q * (double)n);

	return n ? v[k ? k - 1 : 0] : NAN;
}

int sync_accuracy(struct probe *p, unsigned members, double tolerance, const char *party,
		  bool fresh)
{
	struct acc_member *a = calloc(members + 2, sizeof(*a));   /* ends with c == NULL */
	size_t n_samples = (size_t)(ACC_WINDOW_MS / ACC_SAMPLE_MS) + 2, ns = 0;
	double *spread = calloc(n_samples, sizeof(*spread)), worst_bound = 0, t_end, next;
	char role[16], name[40];
	bool host = false, playing = false;
	unsigned n = members + 1;

	if (!a || !spread) {
		probe_fail(p, PX_FAILED, "sync: out of memory");
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		if (i)
			snprintf(name, sizeof(name), "member%u", i);
		else
			snprintf(name, sizeof(name), "host");
		if (join(p, &a[i], party, name, role, sizeof(role)))
			goto out;
		if (i == 0)
			host = !strcmp(role, "host");
		if (fresh && strcmp(role, i ? "member" : "host")) {
			probe_fail(p, PX_FAILED, "sync: %s joined as %s, expected %s (is the party in "
				   "use?)", name, role, i ? "member" : "host");
			goto out;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		double b;

		if (estimate(p, &a[i]))
			goto out;
		rv_offset_get_ex(&a[i].est, probe_now_ms(), NULL, NULL, &b);
		worst_bound = fmax(worst_bound, b);
	}
	if (host) {
		/* resume from where the party is, stamped with the host's own
		 * estimate of the server time (the protocol's `at`) */
		double now = rv_offset_server_now(&a[0].est, probe_now_ms());
		double pos = rv_schedule_position(&a[0].sched, now);

		if (pc_sendf(a[0].c, "sync", json_pack("{s:f,s:b,s:f,s:f}", "position", pos,
						       "playing", 1, "speed", 1.0, "at", now),
			     "probe-accuracy"))
			goto out;
		if (!probe_run_until(p, all_got, a, probe_now_ms() + p->timeout_ms)) {
			for (unsigned i = 0; i < n; i++)
				if (!a[i].got)
					probe_fail(p, PX_TIMEOUT, "sync: %s did not get the host's sync "
						   "within %.0f ms", a[i].c->name, p->timeout_ms);
			goto out;
		}
	}
	t_end = probe_now_ms() + ACC_WINDOW_MS;
	for (next = probe_now_ms(); next < t_end && ns < n_samples; next += ACC_SAMPLE_MS) {
		double lo = INFINITY, hi = -INFINITY, t;

		probe_sleep(p, next - probe_now_ms());
		t = probe_now_ms();   /* one instant for all: what each member shows then */
		for (unsigned i = 0; i < n; i++) {
			struct acc_member *m = &a[i];
			double server, pos;

			if (m->c->ended) {
				probe_fail(p, PX_CONNECT, "sync: %s's connection ended (%d %s)",
					   m->c->name, m->c->close_code, m->c->end_reason);
				goto out;
			}
			follow(m, NULL);
			server = rv_offset_server_now(&m->est, t);
			pos = rv_schedule_position(&m->sched, server);
			playing = playing || rv_schedule_at(&m->sched, server)->playing;
			lo = fmin(lo, pos);
			hi = fmax(hi, pos);
		}
		spread[ns++] = (hi - lo) * 1000;
	}
	qsort(spread, ns, sizeof(*spread), cmp_double);
	double p50 = quantile(spread, ns, 0.5), p99 = quantile(spread, ns, 0.99);
	double max = quantile(spread, ns, 1);

	json_object_set_new(p->details, "party", json_string(party));
	json_object_set_new(p->details, "members", json_integer(members));
	json_object_set_new(p->details, "mode", json_string(host ? "host" : "passive"));
	json_object_set_new(p->details, "playing", json_boolean(playing));
	json_object_set_new(p->details, "samples", json_integer((json_int_t)ns));
	json_object_set_new(p->details, "window_ms", json_real(ACC_WINDOW_MS));
	json_object_set_new(p->details, "spread_ms",
			    json_pack("{s:f,s:f,s:f}", "p50", p50, "p99", p99, "max", max));
	json_object_set_new(p->details, "clock_bound_ms", json_real(worst_bound));
	json_object_set_new(p->details, "tolerance_ms", json_real(tolerance));
	if (p99 >= tolerance) {   /* "within": 0 always fails */
		probe_fail(p, PX_FAILED, "sync: %u members' positions spread p99 %.3f ms (max %.3f), "
			   "tolerance %.3f ms", n, p99, max, tolerance);
		goto out;
	}
	snprintf(p->why, sizeof(p->why), "%u members%s agree: spread p50 %.3f / p99 %.3f / max "
		 "%.3f ms over %.0f s%s; clock bound %.2f ms", n, host ? "" : " (watching)", p50,
		 p99, max, ACC_WINDOW_MS / 1000, playing ? "" : " (paused: trivially)",
		 worst_bound);
out:
	free(spread);
	free(a);
	return p->status;
}
