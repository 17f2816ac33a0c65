/* cmd/revenge-bench/fill.c - `revenge-bench fill`: P parties of M members
 * (mesh.c) join as fast as the server lets them (--connect-rate, at most
 * mesh's handshakes in flight); the fill time runs from the first
 * connection to the last member's first message (its welcome). A second
 * after that, each host sends one sync (the send time rides in its
 * position, as in fanout, so the seed design and the floor relay are
 * measured alike) and every other member times its delivery: how long a
 * sync waits behind what the joins made the server send.
 *
 * Also counted: the messages and bytes members got besides welcomes and
 * the sync (the server's join announcements: member_joined or presence).
 */
#include "fill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histo.h"
#include "limits.h"
#include "mesh.h"

struct fill {
	const struct fill_opts *o;
	struct mesh ms;
	bool *welcomed;               /* per member */
	unsigned welcomes;
	double t_last_welcome;        /* monotonic seconds */
	double t_sync;                /* when the syncs went out, 0: not yet */
	uint64_t sent, received, other_msgs, other_bytes;
	struct histo lat;
};

static void message(struct mesh *ms, struct mesh_member *m, const char *text, size_t len)
{
	struct fill *f = ms->user;
	size_t i = (size_t)m->party * ms->members + m->idx;
	const char *p;

	if (!f->welcomed[i]) {
		/* the first message is the welcome, whatever the server */
		f->welcomed[i] = true;
		f->welcomes++;
		f->t_last_welcome = mesh_now();
		return;
	}
	if (m->idx && f->t_sync && len > 16 && !memcmp(text, "{\"type\":\"sync\"", 14) &&
	    (p = memmem(text, len, "\"position\":", 11))) {
		f->received++;
		histo_add(&f->lat, (mesh_now() - ms->t0 - strtod(p + 11, NULL)) * 1e6);
		return;
	}
	f->other_msgs++;
	f->other_bytes += len;
}

/* While the mesh settles: the syncs, once, a second after the last join. */
static void warm(struct mesh *ms, double now)
{
	struct fill *f = ms->user;
	char buf[200];

	if (f->t_sync || f->welcomes < ms->connected || ms->connected < ms->n ||
	    now < f->t_last_welcome + FILL_SYNC_AFTER_S)
		return;
	f->t_sync = now;
	for (unsigned p = 0; p < ms->parties; p++) {
		struct mesh_member *h = &ms->m[p * ms->members];
		int n;

		if (!h->open)
			continue;
		n = snprintf(buf, sizeof(buf), "{\"type\":\"sync\",\"payload\":{\"position\":%.6f,"
			     "\"playing\":true,\"speed\":1}}", mesh_now() - ms->t0);
		if (!rv_conn_send(h->conn, buf, (size_t)n))
			f->sent++;
	}
}

static uint64_t expected(const struct fill *f)
{
	return f->sent * (f->ms.members - 1);
}

/* In the window: nothing to send; end the run once every delivery is in. */
static void pace(struct mesh *ms, double now)
{
	struct fill *f = ms->user;

	(void)now;
	if (f->t_sync && f->received >= expected(f))
		ms->stopping = true;
}

static bool complete(struct mesh *ms)
{
	struct fill *f = ms->user;

	return f->t_sync && f->received >= expected(f);
}

static void status(struct mesh *ms, char *buf, size_t len)
{
	struct fill *f = ms->user;

	snprintf(buf, len, "%u welcomed  %llu announcements  %llu/%llu sync deliveries",
		 f->welcomes, (unsigned long long)f->other_msgs, (unsigned long long)f->received,
		 (unsigned long long)expected(f));
}

static void report(const struct mesh *ms)
{
	const struct fill *f = ms->user;
	double fill_s = f->welcomes ? f->t_last_welcome - ms->t0 : 0;

	if (f->o->c.json) {
		printf("{\"scenario\":\"fill\",");
		mesh_json_head(ms, stdout);
		printf("\"welcomed\":%u,\"fill_s\":%.3f,\"joins_per_s\":%.1f,"
		       "\"announcements\":%llu,\"announcement_bytes\":%llu,"
		       "\"sync_sent\":%llu,\"sync_expected\":%llu,\"sync_received\":%llu,"
		       "\"loss_pct\":%.3f,",
		       f->welcomes, fill_s, fill_s > 0 ? f->welcomes / fill_s : 0,
		       (unsigned long long)f->other_msgs, (unsigned long long)f->other_bytes,
		       (unsigned long long)f->sent, (unsigned long long)expected(f),
		       (unsigned long long)f->received, mesh_loss_pct(expected(f), f->received));
		mesh_load_json(ms, stdout);
		printf("\"latency_ms\":");
		histo_json(&f->lat, stdout);
		limits_json(f->o->c.lim, stdout);
		printf("}\n");
		return;
	}
	printf("scenario      fill (%u parties x %u members, then one sync per party %.0f s "
	       "after the last join)\n", ms->parties, ms->members, FILL_SYNC_AFTER_S);
	mesh_server_text(ms, stdout);
	printf("connected     %u of %u (failed %u, closed by server %u)\n", ms->connected, ms->n,
	       ms->failed, ms->closed);
	printf("fill          %.2f s (%u welcomed, %.0f joins/s)\n", fill_s, f->welcomes,
	       fill_s > 0 ? f->welcomes / fill_s : 0);
	printf("announcements %llu messages, %.1f MiB\n", (unsigned long long)f->other_msgs,
	       f->other_bytes / 1048576.0);
	printf("sync          %llu of %llu delivered (loss %.2f%%)\n",
	       (unsigned long long)f->received, (unsigned long long)expected(f),
	       mesh_loss_pct(expected(f), f->received));
	printf("latency       ");
	histo_text(&f->lat, stdout);
	limits_text(f->o->c.lim, stdout);
	if (ms->reason[0])
		printf("first failure %s\n", ms->reason);
}

static const struct mesh_hooks hooks = {
	.message = message, .pace = pace, .warm = warm, .complete = complete,
	.status = status, .report = report,
};

int fill_run(const struct fill_opts *o)
{
	struct fill *f = calloc(1, sizeof(*f));
	int rc;

	if (f)
		f->welcomed = calloc((size_t)o->parties * o->members, sizeof(*f->welcomed));
	if (!f || !f->welcomed) {
		fprintf(stderr, "revenge-bench: out of memory\n");
		free(f);
		return 1;
	}
	f->o = o;
	rc = mesh_main(&f->ms, &o->c, o->parties, o->members, &hooks, f);
	if (!rc && (!f->sent || f->received < expected(f)))
		rc = 1;
	free(f->welcomed);
	free(f);
	return rc;
}
