/* cmd/revenge-bench/chat.c - `revenge-bench chat`: P parties of M members
 * (mesh.c), every member sending --rate chat messages per second. The
 * server relays a chat to every member of the party, the sender included
 * (revenge.v1), so each chat is M deliveries, each timed where it lands.
 *
 * The send time rides in the text, "b:RUN:MICROSECONDS" (since the run
 * started), a few dozen bytes, well within the 2,000 allowed; the run id
 * keeps other runs' chats (and anyone else's) out of the count. The sends
 * are open loop and spread evenly: every millisecond, the chats due by
 * then, round-robin over the members, parties interleaved.
 *
 * Reported: sent, expected and received deliveries (loss), latency
 * percentiles, delivered messages per second, errors (with the first
 * error's text: rate_limited means the server's --rate-limit is in the
 * way) and the server's CPU per delivered message (servstat.c). An error
 * reply or a lost delivery fails the run.
 */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histo.h"
#include "limits.h"
#include "mesh.h"

struct chat {
	const struct chat_opts *o;
	struct mesh ms;
	char marker[32];              /* "b:RUN:" as it appears in the text */
	size_t marker_len;
	uint64_t due, sent, received, errors;
	unsigned long rr;
	struct histo lat;
};

static void message(struct mesh *ms, struct mesh_member *m, const char *text, size_t len)
{
	struct chat *ch = ms->user;
	const char *p;
	double sent, t;

	/* Scanned, not parsed: the generator must stay cheaper than the
	 * server it measures. */
	if (!mesh_type_is(text, len, "chat")) {
		if (mesh_type_is(text, len, "error")) {
			ch->errors++;
			mesh_error_reply(ms, text, len);
		}
		return;
	}
	p = memmem(text, len, ch->marker, ch->marker_len);
	if (!p || !ms->measuring)
		return;
	sent = strtod(p + ch->marker_len, NULL) / 1e6;
	if (sent < ms->t_measure - ms->t0 || sent > ms->t_end - ms->t0)
		return;   /* sent outside the window */
	t = mesh_now() - ms->t0;
	ch->received++;
	mesh_count_rx(ms, m);
	histo_add(&ch->lat, (t - sent) * 1e6);
}

/* The chats due by now, round-robin over every member with the parties
 * interleaved (member k of party 0, of party 1, ..., then member k+1), so
 * the load is even over time and over the parties. */
static void pace(struct mesh *ms, double now)
{
	struct chat *ch = ms->user;
	uint64_t due = (uint64_t)((now - ms->t_measure) * ch->o->rate * ms->n);
	char buf[160];

	while (ch->due < due) {
		unsigned long i = ch->rr++ % ms->n;
		struct mesh_member *m = &ms->m[(i % ms->parties) * ms->members + i / ms->parties];
		int n;

		ch->due++;
		if (!m->open)
			continue;
		n = snprintf(buf, sizeof(buf), "{\"type\":\"chat\",\"payload\":{\"text\":\"%s%llu\"}}",
			     ch->marker, (unsigned long long)((mesh_now() - ms->t0) * 1e6));
		if (!rv_conn_send(m->conn, buf, (size_t)n))
			ch->sent++;
	}
}

/* A delivery that did not arrive fails the run. */
static void check(struct mesh *ms)
{
	struct chat *ch = ms->user;

	mesh_loss(ms, "chat deliveries", ch->sent * ms->members, ch->received);
}

static bool complete(struct mesh *ms)
{
	struct chat *ch = ms->user;

	return ch->received >= ch->sent * ms->members;
}

static void status(struct mesh *ms, char *buf, size_t len)
{
	struct chat *ch = ms->user;

	snprintf(buf, len, "%llu sent  %llu delivered  p99 %.2f ms", (unsigned long long)ch->sent,
		 (unsigned long long)ch->received, histo_quantile(&ch->lat, 0.99) / 1000);
}

/* The run has its id: chats carry it, so that other runs' are not
 * counted. */
static void begin(struct mesh *ms)
{
	struct chat *ch = ms->user;

	ch->marker_len = (size_t)snprintf(ch->marker, sizeof(ch->marker), "b:%s:", ms->run);
}

static void report(const struct mesh *ms)
{
	const struct chat *ch = ms->user;
	const struct chat_opts *o = ch->o;
	/* every chat goes to the whole party, the sender too */
	const struct mesh_deliveries d = {
		.sent = ch->sent, .expected = ch->sent * o->members, .received = ch->received,
		.errors = ch->errors, .lat = &ch->lat,
	};
	double secs = mesh_window(ms);

	if (o->c.json) {
		printf("{\"scenario\":\"chat\",");
		mesh_json_head(ms, stdout);
		printf("\"rate_per_member\":%g,", o->rate);
		mesh_deliveries_json(ms, &d, stdout);
		mesh_errors_json(ms, stdout);
		mesh_deliveries_json_end(ms, &d, stdout);
		return;
	}
	printf("scenario      chat (%u parties x %u members, %g chats/s per member)\n",
	       o->parties, o->members, o->rate);
	mesh_server_text(ms, stdout);
	printf("connected     %u of %u (failed %u, closed by server %u)\n", ms->connected, ms->n,
	       ms->failed, ms->closed);
	printf("measured      %.1f s (+ up to %.0f s for deliveries in flight)\n", secs,
	       MESH_GRACE_S);
	printf("sent          %llu chats, %.0f/s\n", (unsigned long long)ch->sent,
	       secs > 0 ? (double)ch->sent / secs : 0);
	mesh_deliveries_text(ms, &d, stdout);
	printf("errors        %llu\n", (unsigned long long)ch->errors);
	limits_text(o->c.lim, stdout);
	mesh_errors_text(ms, stdout);
}

static const struct mesh_hooks hooks = {
	.message = message, .pace = pace, .complete = complete, .status = status,
	.begin = begin, .check = check, .report = report,
};

int chat_run(const struct chat_opts *o)
{
	struct chat *ch = calloc(1, sizeof(*ch));
	int rc;

	if (!ch) {
		fprintf(stderr, "revenge-bench: out of memory\n");
		return 1;
	}
	ch->o = o;
	rc = mesh_main(&ch->ms, &o->c, o->parties, o->members, &hooks, ch);
	free(ch);
	return rc;
}
