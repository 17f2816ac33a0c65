/* cmd/revenge-bench/fanout.c - `revenge-bench fanout`: P parties of M
 * members (mesh.c); each host sends --rate syncs per second and every
 * other member times each delivery. The send time rides in the sync's
 * position (seconds since the run started, microsecond precision), so the
 * measurement works unchanged against any server that relays the host's
 * sync: revenge-server, the seed's reference design and the bare floor
 * relay. Every other round of a host's syncs adds SEEK_APART to the
 * position, so each sync is a seek: a server that schedules commands
 * (revenge-server's lead) relays a seek's position exactly, where a sync
 * continuous with the playback would be relayed as the party's own
 * position at its scheduled instant, which no longer names the send
 * time.
 *
 * Reported: delivered messages per second, expected against received
 * (loss), latency percentiles, and the server's CPU per delivered message
 * (servstat.c). The sync load itself (syncload_*) is also churn.c's.
 */
#include "fanout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"

/* Far beyond any run's length and any continuity allowance. */
#define SEEK_APART 1e6

struct fan {
	const struct fanout_opts *o;
	struct mesh ms;
	struct syncload sl;
};

void syncload_message(struct syncload *s, struct mesh *ms, struct mesh_member *m,
		      const char *text, size_t len)
{
	const char *p;
	double sent, t;

	/* Scanned, not parsed: the generator must stay cheaper than the
	 * servers it measures. An error reply to the host is one to its
	 * syncs (rate_limited, forbidden). */
	if (len > 16 && !memcmp(text, "{\"type\":\"error\"", 15)) {
		s->errors++;
		mesh_error_reply(ms, text, len);
		return;
	}
	if (m->idx == 0 || len < 16 || memcmp(text, "{\"type\":\"sync\"", 14))
		return;   /* the host's own syncs come back to it */
	p = memmem(text, len, "\"position\":", 11);
	if (!p)
		return;
	sent = strtod(p + 11, NULL);
	if (sent >= SEEK_APART)
		sent -= SEEK_APART;
	t = mesh_now() - ms->t0;
	if (!ms->measuring || sent < ms->t_measure - ms->t0 || sent > ms->t_end - ms->t0)
		return;   /* sent outside the window */
	s->received++;
	mesh_count_rx(ms, m);
	histo_add(&s->lat, (t - sent) * 1e6);
}

void syncload_pace(struct syncload *s, struct mesh *ms, double now)
{
	uint64_t due = (uint64_t)((now - ms->t_measure) * s->rate * ms->parties);
	char buf[200];

	while (s->due < due) {
		/* the host's round: odd rounds are SEEK_APART ahead */
		bool odd = (s->rr / ms->parties) & 1;
		struct mesh_member *h = &ms->m[(s->rr++ % ms->parties) * ms->members];
		int n;

		s->due++;
		if (!h->open)
			continue;
		n = snprintf(buf, sizeof(buf), "{\"type\":\"sync\",\"payload\":{\"position\":%.6f,"
			     "\"playing\":true,\"speed\":1}}",
			     mesh_now() - ms->t0 + (odd ? SEEK_APART : 0));
		if (!rv_conn_send(h->conn, buf, (size_t)n))
			s->sent++;
	}
}

uint64_t syncload_expected(const struct syncload *s, const struct mesh *ms)
{
	return s->sent * (ms->members - 1);
}

static void message(struct mesh *ms, struct mesh_member *m, const char *text, size_t len)
{
	struct fan *f = ms->user;

	syncload_message(&f->sl, ms, m, text, len);
}

static void pace(struct mesh *ms, double now)
{
	struct fan *f = ms->user;

	syncload_pace(&f->sl, ms, now);
}

static void status(struct mesh *ms, char *buf, size_t len)
{
	struct fan *f = ms->user;

	snprintf(buf, len, "%llu sent  %llu delivered  p99 %.2f ms",
		 (unsigned long long)f->sl.sent, (unsigned long long)f->sl.received,
		 histo_quantile(&f->sl.lat, 0.99) / 1000);
}

/* A delivery that did not arrive fails the run. */
static void check(struct mesh *ms)
{
	struct fan *f = ms->user;

	mesh_loss(ms, "sync deliveries", syncload_expected(&f->sl, ms), f->sl.received);
}

/* Every sync sent in the window has reached every member: no need to wait
 * out the grace period. */
static bool complete(struct mesh *ms)
{
	struct fan *f = ms->user;

	return f->sl.received >= syncload_expected(&f->sl, ms);
}

static void report(const struct mesh *ms)
{
	const struct fan *f = ms->user;
	const struct fanout_opts *o = f->o;
	const struct syncload *sl = &f->sl;
	const struct mesh_deliveries d = {
		.sent = sl->sent, .expected = syncload_expected(sl, ms), .received = sl->received,
		.errors = sl->errors, .lat = &sl->lat,
	};

	if (o->c.json) {
		printf("{\"scenario\":\"fanout\",");
		mesh_json_head(ms, stdout);
		printf("\"rate_per_host\":%g,", o->rate);
		mesh_deliveries_json(ms, &d, stdout);
		mesh_errors_json(ms, stdout);
		mesh_deliveries_json_end(ms, &d, stdout);
		return;
	}
	printf("scenario      fanout (%u parties x %u members, %g syncs/s per host)\n", o->parties,
	       o->members, o->rate);
	mesh_server_text(ms, stdout);
	printf("connected     %u of %u (failed %u, closed by server %u)\n", ms->connected, ms->n,
	       ms->failed, ms->closed);
	printf("measured      %.1f s (+%.0f s for deliveries in flight)\n", mesh_window(ms),
	       MESH_GRACE_S);
	mesh_deliveries_text(ms, &d, stdout);
	if (sl->errors)
		printf("errors        %llu\n", (unsigned long long)sl->errors);
	limits_text(o->c.lim, stdout);
	mesh_errors_text(ms, stdout);
}

static const struct mesh_hooks hooks = {
	.message = message, .pace = pace, .complete = complete, .status = status,
	.check = check, .report = report,
};

int fanout_run(const struct fanout_opts *o)
{
	struct fan *f = calloc(1, sizeof(*f));
	int rc;

	if (!f) {
		fprintf(stderr, "revenge-bench: out of memory\n");
		return 1;
	}
	f->o = o;
	f->sl.rate = o->rate;
	rc = mesh_main(&f->ms, &o->c, o->parties, o->members, &hooks, f);
	free(f);
	return rc;
}
