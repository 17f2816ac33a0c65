/* cmd/revenge-probe/checks.c - the built-in checks: health, sync, chat,
 * progress, quality and tail. Each is a short script over the runtime in
 * probe.h; every failure names what was expected and what arrived.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#define MEMBERS_MAX 100

/* A short random id so concurrent probes (and reruns) never share a party. */
static void random_id(char *buf, size_t len, const char *prefix)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t x = rv_time_mono_ns() ^ ((uint64_t)getpid() << 32);
	size_t n = (size_t)snprintf(buf, len, "%s-", prefix);

	for (int i = 0; i < 10 && n + 1 < len; i++, x >>= 4)
		buf[n++] = hex[x & 15];
	buf[n] = 0;
}

static double num(const json_t *v, const char *path)
{
	json_t *x = (json_t *)v;
	char key[64];
	const char *p = path, *dot;

	while (x && (dot = strchr(p, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - p), p);
		x = json_object_get(x, key);
		p = dot + 1;
	}
	x = x ? json_object_get(x, p) : NULL;
	return json_is_number(x) ? json_number_value(x) : NAN;
}

static const char *str(const json_t *v, const char *k1, const char *k2)
{
	json_t *x = json_object_get(v, k1);

	if (k2)
		x = json_object_get(x, k2);
	return json_is_string(x) ? json_string_value(x) : "";
}

/* Parse a check's own options; getopt state is reset per check. */
#define CHECK_OPTS_BEGIN(opts) \
	optind = 1; \
	int opt_; \
	while ((opt_ = getopt_long(argc, argv, ":", opts, NULL)) != -1) { \
		switch (opt_) {
#define CHECK_OPTS_END \
		case ':': usage_error("%s: missing value", argv[optind - 1]); \
		default: usage_error("unknown option '%s' for this check", argv[optind - 1]); \
		} \
	} \
	if (optind < argc) \
		usage_error("unexpected argument '%s'", argv[optind]);

/* ---- health ------------------------------------------------------------- */

/* Strict Prometheus text: returns 0, or the 1-based line that is not. */
static int prom_invalid_line(const char *text, int *samples)
{
	int line = 0;

	*samples = 0;
	for (const char *p = text; *p;) {
		const char *end = strchr(p, '\n');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char buf[1024], name[256], value[64];

		line++;
		if (n >= sizeof(buf))
			return line;
		memcpy(buf, p, n);
		buf[n] = 0;
		p += n + (end ? 1 : 0);
		if (!n || !strncmp(buf, "# HELP ", 7) || !strncmp(buf, "# TYPE ", 7))
			continue;
		if (buf[0] == '#')
			return line;
		/* name{labels} value   or   name value */
		char *brace = strchr(buf, '{'), *sp;

		if (brace) {
			char *close = strchr(brace, '}');

			if (!close || close[1] != ' ')
				return line;
			*brace = 0;
			sp = close + 1;
		} else {
			sp = strchr(buf, ' ');
			if (!sp)
				return line;
			*sp = 0;
		}
		if (strlen(buf) >= sizeof(name) || strlen(sp + 1) >= sizeof(value))
			return line;
		strcpy(name, buf);
		strcpy(value, sp + 1);
		for (char *q = name; *q; q++)
			if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || *q == '_' ||
			      *q == ':' || (q != name && *q >= '0' && *q <= '9')))
				return line;
		char *e;

		strtod(value, &e);
		if (e == value || (*e && *e != ' '))
			return line;
		(*samples)++;
	}
	return 0;
}

int check_health(struct probe *p, int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	char *body = NULL;
	size_t len;
	int status, bad, samples;
	json_t *h;

	CHECK_OPTS_BEGIN(opts)
	CHECK_OPTS_END
	status = probe_http_get(p, "/healthz", &body, &len);
	if (!status)
		goto out;
	h = json_loadb(body, len, 0, NULL);
	if (status != 200 || !h || strcmp(str(h, "status", NULL), "ok")) {
		probe_fail(p, PX_FAILED, "/healthz answered %d %.120s, expected 200 {\"status\":\"ok\"}",
			   status, body);
		json_decref(h);
		goto out;
	}
	json_object_set_new(p->details, "healthz", h);
	free(body);
	body = NULL;
	status = probe_http_get(p, "/metrics", &body, &len);
	if (!status)
		goto out;
	if (status != 200) {
		probe_fail(p, PX_FAILED, "/metrics answered %d, expected 200", status);
		goto out;
	}
	bad = prom_invalid_line(body, &samples);
	if (bad || !samples) {
		probe_fail(p, PX_PROTOCOL, "/metrics line %d is not Prometheus text", bad);
		goto out;
	}
	json_object_set_new(p->details, "metrics_samples", json_integer(samples));
	snprintf(p->why, sizeof(p->why), "/healthz ok, /metrics has %d samples", samples);
out:
	free(body);
	return p->status;
}

/* ---- sync --------------------------------------------------------------- */

struct sync_expect {
	const char *member;           /* for messages */
	const char *host_name;
	const char *host_id;
	double position, speed;
	bool playing;
};

static bool sync_matches(const json_t *m, void *arg, char *why, size_t len)
{
	const struct sync_expect *e = arg;
	double pos = num(m, "payload.position"), speed = num(m, "payload.speed");
	json_t *playing = json_object_get(json_object_get(m, "payload"), "playing");

	if (json_object_get(m, "id"))
		return false;   /* a direct reply, not the relay */
	if (pos != e->position) {
		snprintf(why, len, "sync: member %s got position %g, expected %g (from host %s)",
			 e->member, pos, e->position, e->host_name);
		return false;
	}
	if (!json_is_boolean(playing) || json_boolean_value(playing) != e->playing) {
		snprintf(why, len, "sync: member %s got playing %s, expected %s (from host %s)",
			 e->member, json_is_true(playing) ? "true" : "false",
			 e->playing ? "true" : "false", e->host_name);
		return false;
	}
	if (speed != e->speed) {
		snprintf(why, len, "sync: member %s got speed %g, expected %g (from host %s)",
			 e->member, speed, e->speed, e->host_name);
		return false;
	}
	if (strcmp(str(m, "from", NULL), e->host_id)) {
		snprintf(why, len, "sync: member %s got a sync from \"%s\", expected the host %s",
			 e->member, str(m, "from", NULL), e->host_id);
		return false;
	}
	if (!isfinite(num(m, "payload.server_time")) || !isfinite(num(m, "ts"))) {
		snprintf(why, len, "sync: member %s got a sync without server_time or ts", e->member);
		return false;
	}
	return true;
}

static bool has_id(const json_t *m, void *arg, char *why, size_t len)
{
	const char *want = arg;

	if (!strcmp(str(m, "id", NULL), want))
		return true;
	snprintf(why, len, "reply carried id \"%s\", expected \"%s\"", str(m, "id", NULL), want);
	return false;
}

static bool is_relay(const json_t *m, void *arg, char *why, size_t len)
{
	return !json_object_get(m, "id");
}

/* Clock offset (server - local, ms) of client c from a few time exchanges:
 * the sample with the lowest round trip, the NTP way. */
static bool time_offset(struct pclient *c, double *offset, double *rtt)
{
	double best_rtt = INFINITY, best = 0;

	for (int i = 0; i < 3; i++) {
		char id[16];
		double t0 = rv_time_wall_ms(), t3, off, r;
		json_t *m;

		snprintf(id, sizeof(id), "t%d", i);
		pc_sendf(c, "time", json_pack("{s:f}", "client_time", t0), id);
		m = pc_expect(c, "time", has_id, id, 0, NULL);
		t3 = rv_time_wall_ms();
		if (!m)
			return false;
		rv_clock_ntp_sample(t0, num(m, "payload.server_receive_time"),
				    num(m, "payload.server_time"), t3, &off, &r);
		json_decref(m);
		if (r < best_rtt) {
			best_rtt = r;
			best = off;
		}
	}
	*offset = best;
	*rtt = best_rtt;
	return true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static json_t *welcome_of(struct pclient *c, const char *role)
{
	json_t *w = pc_expect(c, "welcome", NULL, NULL, 0, NULL);

	if (!w)
		return NULL;
	if (strcmp(str(w, "payload", "role"), role)) {
		probe_fail(c->p, PX_FAILED, "%s joined as %s, expected %s (is the party in use?)",
			   c->name, str(w, "payload", "role"), role);
		json_decref(w);
		return NULL;
	}
	return w;
}

int check_sync(struct probe *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "members", required_argument, NULL, 'm' },
		{ "tolerance-ms", required_argument, NULL, 't' },
		{ "party", required_argument, NULL, 'p' },
		{ "accuracy", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned n = 3;
	double tolerance = NAN;
	bool accuracy = false;
	char party[80] = "", path[200], name[40], host_id[64];
	struct pclient *host, *members[MEMBERS_MAX];
	double lat[MEMBERS_MAX], pos_at[MEMBERS_MAX], t_sent, lead = 0;
	struct sync_expect e = { .host_name = "host", .position = 12.5, .speed = 1.0,
				 .playing = true };
	json_t *w, *m, *lat_j;

	CHECK_OPTS_BEGIN(opts)
	case 'm': n = (unsigned)opt_uint("--members", optarg, 1, MEMBERS_MAX); break;
	case 't': tolerance = opt_double("--tolerance-ms", optarg, 0, 60000); break;
	case 'a': accuracy = true; break;
	case 'p':
		if (!rv_proto_valid_id(optarg, strlen(optarg)))
			usage_error("--party: expected 1-64 characters of A-Z a-z 0-9 _ -");
		snprintf(party, sizeof(party), "%s", optarg);
		break;
	CHECK_OPTS_END
	if (isnan(tolerance))
		tolerance = accuracy ? 20 : 50;
	if (accuracy) {
		/* a party of its own is the probe's to host; a given one may
		 * have a host already, and the probe then only watches */
		bool fresh = !party[0];

		if (fresh)
			random_id(party, sizeof(party), "probe-sync");
		return sync_accuracy(p, n, tolerance, party, fresh);
	}
	if (!party[0])
		random_id(party, sizeof(party), "probe-sync");

	snprintf(path, sizeof(path), "/ws/party/%s?name=host", party);
	host = probe_client(p, "host", path);
	if (pc_open(host, NULL) || !(w = welcome_of(host, "host")))
		return p->status;
	snprintf(host_id, sizeof(host_id), "%s", str(w, "payload", "participant_id"));
	json_decref(w);
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "member%u", i + 1);
		snprintf(path, sizeof(path), "/ws/party/%s?name=%s", party, name);
		members[i] = probe_client(p, name, path);
		if (pc_open(members[i], NULL) || !(w = welcome_of(members[i], "member")))
			return p->status;
		json_decref(w);
	}

	/* The host's sync: every member gets exactly it, the host only its
	 * direct reply. */
	e.host_id = host_id;
	t_sent = probe_now_ms();
	pc_sendf(host, "sync", json_pack("{s:f,s:b,s:f}", "position", e.position, "playing",
					 e.playing, "speed", e.speed), "probe-sync");
	if (!(m = pc_expect_reply(host, "sync", "probe-sync", "sync", 0, NULL)))
		return p->status;
	json_decref(m);
	for (unsigned i = 0; i < n; i++) {
		double at;

		e.member = members[i]->name;
		if (!(m = pc_expect(members[i], "sync", sync_matches, &e, 0, &at)))
			return p->status;
		lat[i] = at - t_sent;
		/* Where each member would show the playback at one common local
		 * instant, through its own estimate of server time. */
		double offset, rtt;
		struct rv_playback pb = { num(m, "payload.position"), true, num(m, "payload.speed"),
					  num(m, "payload.server_time") };

		/* a scheduling server stamps the state ahead of the relay */
		lead = fmax(lead, pb.server_time - num(m, "ts"));
		json_decref(m);
		if (!time_offset(members[i], &offset, &rtt))
			return p->status;
		pos_at[i] = rv_playback_position_at(&pb, t_sent + 1000 + offset +
						    (rv_time_wall_ms() - probe_now_ms()));
	}
	if (pc_expect_none(host, "sync", is_relay, NULL, 200))
		return p->status;

	/* A member may not sync. */
	pc_sendf(members[0], "sync", json_pack("{s:f,s:b,s:f}", "position", 1.0, "playing", 0,
					       "speed", 1.0), "probe-forbidden");
	if (!(m = pc_expect(members[0], "error", has_id, "probe-forbidden", 0, NULL)))
		return p->status;
	if (strcmp(str(m, "payload", "code"), "forbidden")) {
		probe_fail(p, PX_FAILED, "a member's sync got error %s, expected forbidden",
			   str(m, "payload", "code"));
		json_decref(m);
		return p->status;
	}
	json_decref(m);
	for (unsigned i = 0; i < n; i++)
		if (pc_expect_none(members[i], "sync", is_relay, NULL, i == 0 ? 100 : 0))
			return p->status;

	double lo = INFINITY, hi = -INFINITY;

	for (unsigned i = 0; i < n; i++) {
		lo = fmin(lo, pos_at[i]);
		hi = fmax(hi, pos_at[i]);
	}
	double disagreement = (hi - lo) * 1000;

	qsort(lat, n, sizeof(lat[0]), cmp_double);
	lat_j = json_pack("{s:f,s:f,s:f}", "min", lat[0], "median", lat[n / 2], "max", lat[n - 1]);
	json_object_set_new(p->details, "party", json_string(party));
	json_object_set_new(p->details, "members", json_integer(n));
	json_object_set_new(p->details, "relay_latency_ms", lat_j);
	json_object_set_new(p->details, "disagreement_ms", json_real(disagreement));
	json_object_set_new(p->details, "tolerance_ms", json_real(tolerance));
	json_object_set_new(p->details, "lead_ms", json_real(lead));
	if (disagreement > tolerance) {
		probe_fail(p, PX_FAILED, "members' positions disagree by %.1f ms, tolerance %.1f ms",
			   disagreement, tolerance);
		return p->status;
	}
	snprintf(p->why, sizeof(p->why),
		 "%u members got the host's sync; relay min %.2f / median %.2f / max %.2f ms; "
		 "disagreement %.2f ms; lead %.0f ms", n, lat[0], lat[n / 2], lat[n - 1],
		 disagreement, lead);
	return 0;
}

/* ---- chat --------------------------------------------------------------- */

struct chat_expect {
	const char *who, *text, *name, *from;
};

static bool chat_matches(const json_t *m, void *arg, char *why, size_t len)
{
	const struct chat_expect *e = arg;

	if (strcmp(str(m, "payload", "text"), e->text)) {
		snprintf(why, len, "chat: %s got text \"%.60s\", expected \"%s\"", e->who,
			 str(m, "payload", "text"), e->text);
		return false;
	}
	if (strcmp(str(m, "payload", "name"), e->name) || strcmp(str(m, "from", NULL), e->from)) {
		snprintf(why, len, "chat: %s got name \"%s\" from \"%s\", expected \"%s\" from \"%s\"",
			 e->who, str(m, "payload", "name"), str(m, "from", NULL), e->name, e->from);
		return false;
	}
	return true;
}

int check_chat(struct probe *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "party", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	char party[80] = "", path[200], text[64], a_id[64];
	struct pclient *a, *b, *late;
	struct chat_expect e;
	json_t *w, *m, *hist;

	CHECK_OPTS_BEGIN(opts)
	case 'p':
		if (!rv_proto_valid_id(optarg, strlen(optarg)))
			usage_error("--party: expected 1-64 characters of A-Z a-z 0-9 _ -");
		snprintf(party, sizeof(party), "%s", optarg);
		break;
	CHECK_OPTS_END
	if (!party[0])
		random_id(party, sizeof(party), "probe-chat");
	random_id(text, sizeof(text), "hello from the probe");

	snprintf(path, sizeof(path), "/ws/party/%s?name=alice", party);
	a = probe_client(p, "alice", path);
	if (pc_open(a, NULL) || !(w = pc_expect(a, "welcome", NULL, NULL, 0, NULL)))
		return p->status;
	snprintf(a_id, sizeof(a_id), "%s", str(w, "payload", "participant_id"));
	json_decref(w);
	snprintf(path, sizeof(path), "/ws/party/%s?name=bob", party);
	b = probe_client(p, "bob", path);
	if (pc_open(b, NULL) || !(w = pc_expect(b, "welcome", NULL, NULL, 0, NULL)))
		return p->status;
	json_decref(w);

	pc_sendf(a, "chat", json_pack("{s:s}", "text", text), "probe-chat");
	e = (struct chat_expect){ "alice", text, "alice", a_id };
	if (!(m = pc_expect(a, "chat", chat_matches, &e, 0, NULL)))
		return p->status;
	json_decref(m);
	e.who = "bob";
	if (!(m = pc_expect(b, "chat", chat_matches, &e, 0, NULL)))
		return p->status;
	json_decref(m);

	snprintf(path, sizeof(path), "/ws/party/%s?name=carol", party);
	late = probe_client(p, "carol", path);
	if (pc_open(late, NULL) || !(w = pc_expect(late, "welcome", NULL, NULL, 0, NULL)))
		return p->status;
	hist = json_object_get(json_object_get(w, "payload"), "history");
	size_t i, found = 0;
	json_t *h;

	json_array_foreach(hist, i, h)
		if (!strcmp(str(h, "payload", "text"), text) && !strcmp(str(h, "from", NULL), a_id))
			found = 1;
	json_decref(w);
	if (!found) {
		probe_fail(p, PX_FAILED, "chat: the late joiner carol did not find \"%s\" in "
			   "welcome.history", text);
		return p->status;
	}
	json_object_set_new(p->details, "party", json_string(party));
	snprintf(p->why, sizeof(p->why), "chat reached alice and bob; carol saw it in history");
	return 0;
}

/* ---- progress ----------------------------------------------------------- */

int check_progress(struct probe *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "media", required_argument, NULL, 'm' },
		{ "position", required_argument, NULL, 'p' },
		{ "duration", required_argument, NULL, 'd' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	char session[80] = "", media[80] = "probe-media", path[200];
	double position = 10, duration = 3600, interval = 200;
	double at[4], pos[4];
	struct pclient *c;
	json_t *m;

	CHECK_OPTS_BEGIN(opts)
	case 's':
		if (!rv_proto_valid_id(optarg, strlen(optarg)))
			usage_error("--session: expected 1-64 characters of A-Z a-z 0-9 _ -");
		snprintf(session, sizeof(session), "%s", optarg);
		break;
	case 'm':
		if (!rv_proto_valid_id(optarg, strlen(optarg)))
			usage_error("--media: expected 1-64 characters of A-Z a-z 0-9 _ -");
		snprintf(media, sizeof(media), "%s", optarg);
		break;
	case 'p': position = opt_double("--position", optarg, 0, 1e9); break;
	case 'd': duration = opt_double("--duration", optarg, 0, 1e9); break;
	case 'i': interval = (double)opt_uint("--interval-ms", optarg, 100, 60000); break;
	CHECK_OPTS_END
	if (duration > 0 && position > duration)
		usage_error("--position: %g is past --duration %g", position, duration);
	if (!session[0])
		random_id(session, sizeof(session), "probe-progress");

	snprintf(path, sizeof(path), "/ws/progress/%s?interval_ms=%.0f", session, interval);
	c = probe_client(p, "player", path);
	if (pc_open(c, NULL))
		return p->status;
	pc_sendf(c, "progress", json_pack("{s:s,s:f,s:f,s:b}", "media_id", media, "position",
					  position, "duration", duration, "playing", 1), "probe-1");
	if (!(m = pc_expect_reply(c, "ack", "probe-1", "progress", 0, NULL)))
		return p->status;
	json_decref(m);
	/* Ticks at the interval, extrapolating while playing. */
	for (int i = 0; i < 4; i++) {
		if (!(m = pc_expect(c, "progress", NULL, NULL, interval * 3 + 1000, &at[i])))
			return p->status;
		pos[i] = num(m, "payload.position");
		if (strcmp(str(m, "payload", "media_id"), media) ||
		    strcmp(str(m, "payload", "session_id"), session)) {
			probe_fail(p, PX_FAILED, "progress: tick for %s/%s, expected %s/%s",
				   str(m, "payload", "session_id"), str(m, "payload", "media_id"),
				   session, media);
			json_decref(m);
			return p->status;
		}
		json_decref(m);
	}
	for (int i = 1; i < 4; i++) {
		double gap = at[i] - at[i - 1], moved = (pos[i] - pos[i - 1]) * 1000;

		if (gap < interval * 0.5 || gap > interval * 1.5 + 50) {
			probe_fail(p, PX_FAILED, "progress: ticks %.0f ms apart, expected about %.0f",
				   gap, interval);
			return p->status;
		}
		if (fabs(moved - gap) > 50 + gap * 0.25) {
			probe_fail(p, PX_FAILED, "progress: position moved %.0f ms over %.0f ms while "
				   "playing, expected about the same", moved, gap);
			return p->status;
		}
	}
	/* Paused: the position holds. */
	pc_sendf(c, "progress", json_pack("{s:s,s:f,s:f,s:b}", "media_id", media, "position",
					  position, "duration", duration, "playing", 0), "probe-2");
	if (!(m = pc_expect_reply(c, "ack", "probe-2", "progress", 0, NULL)))
		return p->status;
	json_decref(m);
	/* ticks already queued before the pause may still say playing */
	for (int i = 0, held = 0; held < 2 && i < 6; i++) {
		if (!(m = pc_expect(c, "progress", NULL, NULL, interval * 3 + 1000, NULL)))
			return p->status;
		double got = num(m, "payload.position");
		bool playing = json_is_true(json_object_get(json_object_get(m, "payload"), "playing"));

		json_decref(m);
		if (playing)
			continue;
		if (got != position) {
			probe_fail(p, PX_FAILED, "progress: paused at %g, a tick said %g", position, got);
			return p->status;
		}
		held++;
	}
	json_object_set_new(p->details, "session", json_string(session));
	json_object_set_new(p->details, "interval_ms", json_real(interval));
	snprintf(p->why, sizeof(p->why), "report acked; ticks every ~%.0f ms extrapolate while "
		 "playing and hold while paused", interval);
	return 0;
}

/* ---- quality ------------------------------------------------------------ */

int check_quality(struct probe *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "request", required_argument, NULL, 'r' },
		{ "bandwidth", required_argument, NULL, 'b' },
		{ "expect", required_argument, NULL, 'e' },
		{ "spacing-ms", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	char session[80] = "", path[200], current[64];
	const char *request = NULL, *expect = NULL;
	double bw[256], spacing = 1000;
	int n_bw = 0, cur_idx = -1;
	json_t *m, *ladder, *last = NULL;
	struct pclient *c;

	CHECK_OPTS_BEGIN(opts)
	case 's':
		if (!rv_proto_valid_id(optarg, strlen(optarg)))
			usage_error("--session: expected 1-64 characters of A-Z a-z 0-9 _ -");
		snprintf(session, sizeof(session), "%s", optarg);
		break;
	case 'r': request = optarg; break;
	case 'e': expect = optarg; break;
	case 'g': spacing = (double)opt_uint("--spacing-ms", optarg, 0, 60000); break;
	case 'b': {
		char *copy = strdup(optarg), *tok, *save;

		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			if (n_bw == 256)
				usage_error("--bandwidth: at most 256 reports");
			bw[n_bw++] = opt_double("--bandwidth", tok, 0, 1e9);
		}
		free(copy);
		if (!n_bw)
			usage_error("--bandwidth: expected KBPS,KBPS,...");
		break;
	}
	CHECK_OPTS_END
	if (expect && !n_bw)
		usage_error("--expect needs --bandwidth");
	if (!session[0])
		random_id(session, sizeof(session), "probe-quality");

	snprintf(path, sizeof(path), "/ws/stream/%s", session);
	c = probe_client(p, "player", path);
	if (pc_open(c, NULL) || !(m = pc_expect(c, "quality_state", NULL, NULL, 0, NULL)))
		return p->status;
	snprintf(current, sizeof(current), "%s", str(m, "payload", "profile"));
	ladder = json_incref(json_object_get(json_object_get(m, "payload"), "ladder"));
	json_decref(m);
	if (!json_is_array(ladder) || !json_array_size(ladder)) {
		probe_fail(p, PX_PROTOCOL, "quality_state without a ladder");
		json_decref(ladder);
		return p->status;
	}
	if (request) {
		pc_sendf(c, "quality_request", json_pack("{s:s}", "profile", request), "probe-q");
		char what[RV_ID_MAX + 32];

		snprintf(what, sizeof(what), "quality_request %s", request);
		if (!(m = pc_expect_reply(c, "quality_changed", "probe-q", what, 0, NULL))) {
			json_decref(ladder);
			return p->status;
		}
		if (strcmp(str(m, "payload", "profile"), request)) {
			probe_fail(p, PX_FAILED, "quality_changed to %s, expected %s",
				   str(m, "payload", "profile"), request);
			json_decref(m);
			json_decref(ladder);
			return p->status;
		}
		snprintf(current, sizeof(current), "%s", request);
		json_decref(m);
	}
	for (int i = 0; i < n_bw; i++) {
		char id[16];

		if (i && spacing)
			probe_sleep(p, spacing);
		snprintf(id, sizeof(id), "b%d", i);
		pc_sendf(c, "bandwidth_report", json_pack("{s:f}", "kbps", bw[i]), id);
		/* either a suggestion or an ack answers each report */
		for (;;) {
			json_t *s = pc_expect(c, "quality_suggestion", has_id, id, 1, NULL);

			p->status = 0;
			if (s) {
				json_decref(last);
				last = s;
				break;
			}
			if ((s = pc_expect(c, "ack", has_id, id, 1, NULL))) {
				json_decref(s);
				break;
			}
			p->status = 0;
			if ((s = pc_expect(c, "error", has_id, id, 1, NULL))) {
				probe_fail(p, PX_FAILED, "bandwidth_report %g: error %s", bw[i],
					   str(s, "payload", "code"));
				json_decref(s);
				json_decref(ladder);
				json_decref(last);
				return p->status;
			}
			p->status = 0;
			p->why[0] = 0;
			if (c->ended || c->broken) {
				pc_expect(c, "ack", NULL, NULL, 1, NULL);   /* records why */
				json_decref(ladder);
				json_decref(last);
				return p->status;
			}
		}
	}
	/* the direction of the last suggestion against the current profile */
	const char *dir = "none", *sugg = last ? str(last, "payload", "profile") : NULL;
	size_t i;
	json_t *e;
	int sugg_idx = -1;

	json_array_foreach(ladder, i, e) {
		if (!strcmp(str(e, "profile", NULL), current))
			cur_idx = (int)i;
		if (sugg && !strcmp(str(e, "profile", NULL), sugg))
			sugg_idx = (int)i;
	}
	if (sugg)
		dir = sugg_idx < cur_idx ? "up" : "down";
	json_object_set_new(p->details, "session", json_string(session));
	json_object_set_new(p->details, "profile", json_string(current));
	json_object_set_new(p->details, "suggestion", sugg ? json_string(sugg) : json_null());
	json_object_set_new(p->details, "direction", json_string(dir));
	if (expect && strcmp(expect, dir) && (!sugg || strcmp(expect, sugg))) {
		probe_fail(p, PX_FAILED, "quality: expected %s, the server %s%s%s (at %s)", expect,
			   sugg ? "suggested " : "suggested nothing", sugg ? sugg : "",
			   sugg ? sugg_idx < cur_idx ? " (up)" : " (down)" : "", current);
	} else {
		snprintf(p->why, sizeof(p->why), "profile %s%s%s", current,
			 sugg ? "; suggested " : "", sugg ? sugg : "");
	}
	json_decref(ladder);
	json_decref(last);
	return p->status;
}

/* ---- tail --------------------------------------------------------------- */

struct tail_state {
	long count, seen;
};

static void tail_line(struct pclient *c, const char *text, size_t len)
{
	struct tail_state *t = c->user;

	if (t->count && t->seen >= t->count)
		return;   /* more may come in the same read; --count is exact */
	fwrite(text, 1, len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	t->seen++;
}

static bool tail_done(void *arg)
{
	struct pclient *c = arg;
	struct tail_state *t = c->user;

	return c->ended || c->p->interrupted || (t->count && t->seen >= t->count);
}

int check_tail(struct probe *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct tail_state t = { 0 };
	const char *path = NULL;
	struct pclient *c;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': t.count = (long)opt_uint("--count", optarg, 1, 100000000); break;
		case ':': usage_error("%s: missing value", argv[optind - 1]);
		default: usage_error("unknown option '%s' for tail", argv[optind - 1]);
		}
	}
	if (optind < argc)
		path = argv[optind++];
	if (!path || strncmp(path, "/ws/", 4))
		usage_error("tail: expected a PATH like /ws/party/ID");
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	c = probe_client(p, "tail", path);
	c->on_raw = tail_line;
	c->user = &t;
	if (pc_open(c, NULL))
		return p->status;
	probe_run_until(p, tail_done, c, INFINITY);
	json_object_set_new(p->details, "messages", json_integer(t.seen));
	if (c->ended && !(t.count && t.seen >= t.count)) {
		probe_fail(p, PX_CONNECT, "the server closed the connection (%d %s) after %ld "
			   "message(s)", c->close_code, c->end_reason, t.seen);
		return p->status;
	}
	snprintf(p->why, sizeof(p->why), "%ld message(s)", t.seen);
	return 0;
}
