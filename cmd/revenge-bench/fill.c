/* cmd/revenge-bench/fill.c - `revenge-bench fill`: P parties of M members
 * (mesh.c) join as fast as the server lets them (--connect-rate, at most
 * mesh's handshakes in flight); the fill time runs from the first
 * connection to the last member's first message (its welcome). Each host
 * sends two syncs, each timed by every other member (the send time rides
 * in its position, as in fanout, so the seed design and the floor relay
 * are measured alike): the storm sync the moment the last member is
 * welcomed, while the server (and, over several nodes, Redis and the
 * other nodes) still announce the joins; and the quiet sync a second
 * after, how long a sync waits behind what the joins left queued.
 *
 * Also counted: the messages and bytes members got besides welcomes and
 * the syncs (the server's join announcements: member_joined or presence),
 * and when each member's roster became whole (the welcome's member_count,
 * then each member_joined / member_left, or a presence's count, reaching
 * every member of the party). With --url given more than once, every
 * figure is kept per node too (member i of a party on --url i % N).
 */
#include "fill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histo.h"
#include "limits.h"
#include "mesh.h"

#define FILL_NODES_MAX 16         /* --url given this often at most */
/* Sync k's position is (k + 1) x this ahead of its send time: a seek
 * from the party's state, which a server that schedules commands
 * (revenge-server's lead) relays exactly, where a sync continuous with the
 * playback (within its tolerance) would be relayed as the party's own
 * position at its instant (fanout.c does the same); and it tells the two
 * apart. */
#define SEEK_APART 1e6

enum { SYNC_STORM, SYNC_QUIET, SYNCS };
static const char *const sync_names[SYNCS] = { "storm_sync", "sync" };

/* One sync's deliveries, in all or on one node. */
struct fsync {
	uint64_t expected, received;
	struct histo lat;
};

struct fnode {
	unsigned members, welcomes, rosters;
	double t_last_welcome, t_last_roster;   /* monotonic seconds */
	struct fsync s[SYNCS];
};

struct fill {
	const struct fill_opts *o;
	struct mesh ms;
	bool *welcomed;               /* per member */
	int *roster;                  /* per member: the members it knows of */
	unsigned welcomes, rosters;   /* rosters: members whose roster is whole */
	unsigned counted;             /* welcomes with a member_count (not the anchors') */
	double t_last_welcome;        /* monotonic seconds */
	double t_last_roster;
	double t_sync[SYNCS];         /* when each went out, 0: not yet */
	uint64_t sent[SYNCS], other_msgs, other_bytes;
	uint64_t errors;              /* error replies (to a host's sync: not the host) */
	uint64_t host_changes;        /* host_changed seen by the hosts */
	struct fsync s[SYNCS];
	unsigned nnodes;
	struct fnode nodes[FILL_NODES_MAX];
};

static unsigned node_of(const struct fill *f, const struct mesh_member *m)
{
	return m->idx % f->nnodes;   /* as mesh_url spreads them */
}

/* A member's roster after a message: the welcome's count, a presence's
 * count, one more or one less; whole once it names the whole party. */
static void roster(struct fill *f, struct mesh_member *m, size_t i, const char *text, size_t len)
{
	const char *p;
	int before = f->roster[i];

	if ((p = memmem(text, len, "\"member_count\":", 15))) {
		f->roster[i] = atoi(p + 15);
		f->counted++;
	}
	else if (mesh_type_is(text, len, "presence") && (p = memmem(text, len, "\"count\":", 8)))
		f->roster[i] = atoi(p + 8);
	else if (mesh_type_is(text, len, "member_joined"))
		f->roster[i]++;
	else if (mesh_type_is(text, len, "member_left"))
		f->roster[i]--;
	if (before < (int)f->ms.members && f->roster[i] >= (int)f->ms.members) {
		struct fnode *nd = &f->nodes[node_of(f, m)];

		f->rosters++;
		f->t_last_roster = mesh_now();
		nd->rosters++;
		nd->t_last_roster = f->t_last_roster;
	}
}

/* Sync k from every host, its send time in its position. */
static void send_syncs(struct fill *f, int k)
{
	struct mesh *ms = &f->ms;
	char buf[200];

	f->t_sync[k] = mesh_now();
	for (unsigned p = 0; p < ms->parties; p++) {
		struct mesh_member *h = &ms->m[p * ms->members];
		int n;

		if (!h->open)
			continue;
		n = snprintf(buf, sizeof(buf), "{\"type\":\"sync\",\"payload\":{\"position\":%.6f,"
			     "\"playing\":true,\"speed\":1}}",
			     mesh_now() - ms->t0 + (k + 1) * SEEK_APART);
		if (rv_conn_send(h->conn, buf, (size_t)n))
			continue;
		f->sent[k]++;
		/* every other member should get it, on its own node */
		f->s[k].expected += ms->members - 1;
		for (unsigned idx = 1; idx < ms->members; idx++)
			f->nodes[idx % f->nnodes].s[k].expected++;
	}
}

static void message(struct mesh *ms, struct mesh_member *m, const char *text, size_t len)
{
	struct fill *f = ms->user;
	size_t i = (size_t)m->party * ms->members + m->idx;
	struct fnode *nd = &f->nodes[node_of(f, m)];
	const char *p;

	if (!f->welcomed[i]) {
		/* the first message is the welcome, whatever the server */
		f->welcomed[i] = true;
		f->welcomes++;
		f->t_last_welcome = mesh_now();
		nd->welcomes++;
		nd->t_last_welcome = f->t_last_welcome;
		roster(f, m, i, text, len);
		/* the last one in: the storm sync, at once */
		if (f->welcomes == ms->n && !f->t_sync[SYNC_STORM])
			send_syncs(f, SYNC_STORM);
		return;
	}
	if (m->idx && f->t_sync[SYNC_STORM] && len > 16 &&
	    !memcmp(text, "{\"type\":\"sync\"", 14) &&
	    (p = memmem(text, len, "\"position\":", 11))) {
		double sent = strtod(p + 11, NULL);
		int k = sent >= 2 * SEEK_APART ? SYNC_QUIET : SYNC_STORM;
		double us = (mesh_now() - ms->t0 - (sent - (k + 1) * SEEK_APART)) * 1e6;

		f->s[k].received++;
		histo_add(&f->s[k].lat, us);
		nd->s[k].received++;
		histo_add(&nd->s[k].lat, us);
		return;
	}
	if (mesh_type_is(text, len, "error")) {
		f->errors++;
		mesh_error_reply(ms, text, len);
	} else if (!m->idx && mesh_type_is(text, len, "host_changed")) {
		f->host_changes++;
	}
	roster(f, m, i, text, len);
	f->other_msgs++;
	f->other_bytes += len;
}

/* While the mesh settles: the quiet syncs, once, a second after the last
 * join. */
static void warm(struct mesh *ms, double now)
{
	struct fill *f = ms->user;

	if (f->t_sync[SYNC_QUIET] || f->welcomes < ms->connected || ms->connected < ms->n ||
	    now < f->t_last_welcome + FILL_SYNC_AFTER_S)
		return;
	if (!f->t_sync[SYNC_STORM])
		send_syncs(f, SYNC_STORM);   /* a welcome that never came: never */
	send_syncs(f, SYNC_QUIET);
}

static bool quiet_done(const struct fill *f)
{
	return f->t_sync[SYNC_QUIET] && f->s[SYNC_QUIET].received >= f->s[SYNC_QUIET].expected;
}

/* In the window: nothing to send; end the run once every delivery of the
 * quiet sync is in (the storm one's are then in too, or replaced by it:
 * syncs are latest-wins). */
static void pace(struct mesh *ms, double now)
{
	(void)now;
	if (quiet_done(ms->user))
		ms->stopping = true;
}

static bool complete(struct mesh *ms)
{
	return quiet_done(ms->user);
}

/* The quiet sync never sent, or not delivered to every member, fails the
 * run (the storm sync may be replaced by it: syncs are latest-wins). */
static void check(struct mesh *ms)
{
	struct fill *f = ms->user;

	if (!f->sent[SYNC_QUIET])
		mesh_error(ms, "no sync went out: %u of %u members welcomed", f->welcomes, ms->n);
	mesh_loss(ms, "sync deliveries", f->s[SYNC_QUIET].expected, f->s[SYNC_QUIET].received);
}

static void status(struct mesh *ms, char *buf, size_t len)
{
	struct fill *f = ms->user;

	snprintf(buf, len, "%u welcomed  %llu announcements  %llu/%llu sync deliveries",
		 f->welcomes, (unsigned long long)f->other_msgs,
		 (unsigned long long)f->s[SYNC_QUIET].received,
		 (unsigned long long)f->s[SYNC_QUIET].expected);
}

static double since_t0(const struct mesh *ms, unsigned count, double t)
{
	return count ? t - ms->t0 : 0;
}

static void fsync_json(const char *key, const struct fsync *s, FILE *out)
{
	fprintf(out, "\"%s\":{\"expected\":%llu,\"received\":%llu,\"loss_pct\":%.3f,"
		"\"latency_ms\":", key, (unsigned long long)s->expected,
		(unsigned long long)s->received, mesh_loss_pct(s->expected, s->received));
	histo_json(&s->lat, out);
	fprintf(out, "}");
}

static void fsync_text(const char *label, const struct fsync *s, FILE *out)
{
	fprintf(out, "%-14s%llu of %llu delivered (loss %.2f%%)", label,
		(unsigned long long)s->received, (unsigned long long)s->expected,
		mesh_loss_pct(s->expected, s->received));
	if (s->received) {
		fprintf(out, ", ");
		histo_text(&s->lat, out);
	} else {
		fprintf(out, "\n");
	}
}

static void report(const struct mesh *ms)
{
	const struct fill *f = ms->user;
	double fill_s = since_t0(ms, f->welcomes, f->t_last_welcome);
	double roster_s = since_t0(ms, f->rosters, f->t_last_roster);
	const struct fsync *q = &f->s[SYNC_QUIET];

	if (f->o->c.json) {
		printf("{\"scenario\":\"fill\",");
		mesh_json_head(ms, stdout);
		printf("\"welcomed\":%u,\"fill_s\":%.3f,\"joins_per_s\":%.1f,"
		       "\"rosters_whole\":%u,\"roster_s\":%.3f,"
		       "\"announcements\":%llu,\"announcement_bytes\":%llu,"
		       "\"sync_sent\":%llu,\"sync_expected\":%llu,\"sync_received\":%llu,"
		       "\"loss_pct\":%.3f,",
		       f->welcomes, fill_s, fill_s > 0 ? f->welcomes / fill_s : 0, f->rosters,
		       roster_s, (unsigned long long)f->other_msgs,
		       (unsigned long long)f->other_bytes, (unsigned long long)f->sent[SYNC_QUIET],
		       (unsigned long long)q->expected, (unsigned long long)q->received,
		       mesh_loss_pct(q->expected, q->received));
		fsync_json(sync_names[SYNC_STORM], &f->s[SYNC_STORM], stdout);
		printf(",\"errors\":%llu,", (unsigned long long)f->errors);
		mesh_errors_json(ms, stdout);
		printf("\"host_changes\":%llu", (unsigned long long)f->host_changes);
		printf(",\"nodes\":[");
		for (unsigned n = 0; n < f->nnodes; n++) {
			const struct fnode *nd = &f->nodes[n];

			printf("%s{\"url\":\"%s\",\"members\":%u,\"welcomed\":%u,\"fill_s\":%.3f,"
			       "\"rosters_whole\":%u,\"roster_s\":%.3f,", n ? "," : "",
			       f->o->c.urls[n], nd->members, nd->welcomes,
			       since_t0(ms, nd->welcomes, nd->t_last_welcome), nd->rosters,
			       since_t0(ms, nd->rosters, nd->t_last_roster));
			for (int k = 0; k < SYNCS; k++) {
				fsync_json(sync_names[k], &nd->s[k], stdout);
				printf(k + 1 < SYNCS ? "," : "}");
			}
		}
		printf("],");
		mesh_load_json(ms, stdout);
		printf("\"latency_ms\":");
		histo_json(&q->lat, stdout);
		limits_json(f->o->c.lim, stdout);
		printf("}\n");
		return;
	}
	printf("scenario      fill (%u parties x %u members; one sync per party as the last "
	       "joins, one %.0f s after)\n", ms->parties, ms->members, FILL_SYNC_AFTER_S);
	mesh_server_text(ms, stdout);
	printf("connected     %u of %u (failed %u, closed by server %u)\n", ms->connected, ms->n,
	       ms->failed, ms->closed);
	printf("fill          %.2f s (%u welcomed, %.0f joins/s)\n", fill_s, f->welcomes,
	       fill_s > 0 ? f->welcomes / fill_s : 0);
	if (f->counted || !f->welcomes)
		printf("rosters       %u of %u whole, the last at %.2f s\n", f->rosters, ms->n,
		       roster_s);
	else
		printf("rosters       not followed: the welcomes have no member_count\n");
	printf("announcements %llu messages, %.1f MiB\n", (unsigned long long)f->other_msgs,
	       f->other_bytes / 1048576.0);
	fsync_text("storm sync", &f->s[SYNC_STORM], stdout);
	printf("sync          %llu of %llu delivered (loss %.2f%%)\n",
	       (unsigned long long)q->received, (unsigned long long)q->expected,
	       mesh_loss_pct(q->expected, q->received));
	printf("latency       ");
	histo_text(&q->lat, stdout);
	if (f->errors || f->host_changes)
		printf("errors        %llu; the hosts saw %llu host_changed\n",
		       (unsigned long long)f->errors, (unsigned long long)f->host_changes);
	for (unsigned n = 0; f->nnodes > 1 && n < f->nnodes; n++) {
		const struct fnode *nd = &f->nodes[n];

		printf("node %-9u%s: %u members%s, welcomed by %.2f s, rosters whole by %.2f s "
		       "(%u)\n", n + 1, f->o->c.urls[n], nd->members, n ? "" : " (the hosts)",
		       since_t0(ms, nd->welcomes, nd->t_last_welcome),
		       since_t0(ms, nd->rosters, nd->t_last_roster), nd->rosters);
		fsync_text("  storm sync", &nd->s[SYNC_STORM], stdout);
		fsync_text("  quiet sync", &nd->s[SYNC_QUIET], stdout);
	}
	limits_text(f->o->c.lim, stdout);
	mesh_errors_text(ms, stdout);
}

static const struct mesh_hooks hooks = {
	.message = message, .pace = pace, .warm = warm, .complete = complete,
	.status = status, .check = check, .report = report,
};

int fill_run(const struct fill_opts *o)
{
	struct fill *f = calloc(1, sizeof(*f));
	size_t n = (size_t)o->parties * o->members;
	int rc;

	if (f) {
		f->welcomed = calloc(n, sizeof(*f->welcomed));
		f->roster = calloc(n, sizeof(*f->roster));
	}
	if (!f || !f->welcomed || !f->roster) {
		fprintf(stderr, "revenge-bench: out of memory\n");
		if (f) {
			free(f->welcomed);
			free(f->roster);
		}
		free(f);
		return 1;
	}
	f->o = o;
	f->nnodes = o->c.nurls < FILL_NODES_MAX ? o->c.nurls : FILL_NODES_MAX;
	for (unsigned idx = 0; idx < o->members; idx++)
		f->nodes[idx % f->nnodes].members += o->parties;
	rc = mesh_main(&f->ms, &o->c, o->parties, o->members, &hooks, f);
	free(f->welcomed);
	free(f->roster);
	free(f);
	return rc;
}
