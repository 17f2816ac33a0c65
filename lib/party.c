/* lib/party.c - the watch-party state machine (see party.h).
 *
 * Owns one party's members (a doubly linked list in join order, so the head
 * is always the longest present and host election is "the first from the
 * head who may host"), who is host, the authoritative playback state and the
 * recent chat history.
 * Events come in with the current server time as an argument; what must be
 * sent goes out as actions in the caller's outbox. No sockets, no clock
 * reads, no globals: the server adapter and the unit tests drive it alike.
 *
 * Every outgoing message is encoded once into a shared frame (proto.h). The
 * history keeps references to the very chat frames that were relayed, so a
 * welcome splices their bytes in rather than encoding them again.
 */
#include "revenge/party.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "barrier.h"
#include "bucket.h"
#include "idmap.h"
#include "drift.h"
#include "jw.h"
#include "lead.h"
#include "list.h"
#include "outbox.h"
#include "presence.h"
#include "relay.h"
#include "revenge/error.h"

struct rv_party {
	char id[RV_ID_MAX + 1];
	struct rv_party_config cfg;
	RV__LIST(struct rv_member) members; /* join order */
	/* NULL exactly when no present member may host (an empty party
	 * included): every join, leave and hand-over keeps that true. */
	struct rv_member *host;
	size_t size;
	unsigned long joins;            /* successful joins, names guests */
	bool started;                   /* state anchored by a first join */
	bool restored;                  /* state restored (rv_party_restore): kept */
	struct rv_playback state;
	/* cfg.chat_rate: chat and reactions of all members together. A
	 * party's fan-out costs the server its size per message, so one
	 * party's members, each within its own rate limit, could otherwise
	 * take the whole server from every other party. */
	struct rv__bucket budget;
	/* cfg.join_rate: joins of all joiners together. Each join costs every
	 * member a member_joined (and a member_left soon after, in a churn)
	 * and the joiner a welcome with the whole history: one client joining
	 * and leaving in a loop would otherwise flood the party. */
	struct rv__bucket join_budget;
	/* Ring of the last cfg.history_max relayed chat frames (one reference
	 * each): the oldest is at hist_start. */
	struct rv_frame **hist;
	size_t hist_start, hist_len;
	/* H1 lead: the RTT window, and the state in force until state's
	 * server_time while state is still pending (lead.h) */
	struct rv__lead lead;
	struct rv_playback before;
	/* H2 barrier: the waiting room (lib/barrier.c) */
	struct rv__barrier barrier;
	/* H4: members by id (rv_party_find is O(1): a join checks its id),
	 * and the presence batch (presence.c). */
	struct rv__idmap by_id;
	struct rv__presence pres;
	struct rv__drift drift;         /* H3: members' drift, the host's report */
	/* cluster mode: Redis away, the other nodes unheard (rv_party_cluster_up) */
	bool cut_off;
	/* What the party watches (the host's `media`): has_media false, or
	 * a url that passed rv_proto_valid_media_url and a title that
	 * passed rv_proto_valid_title, NUL-terminated. */
	bool has_media;
	char media_url[RV_MEDIA_URL_MAX + 1];
	char media_title[RV_MEDIA_TITLE_MAX + 1];
};

struct rv_party *rv_party_new(const char *party_id, const struct rv_party_config *cfg)
{
	struct rv_party *p;

	if (!party_id || !rv_proto_valid_id(party_id, strlen(party_id)))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	memcpy(p->id, party_id, strlen(party_id) + 1);
	if (cfg) {
		p->cfg = *cfg;
	} else {
		p->cfg.history_max = RV_PARTY_HISTORY_DEFAULT;
		p->cfg.max_members = 0;
	}
	if (p->cfg.history_max) {
		p->hist = calloc(p->cfg.history_max, sizeof(*p->hist));
		if (!p->hist) {
			free(p);
			return NULL;
		}
	}
	if (rv__idmap_init(&p->by_id)) {
		free(p->hist);
		free(p);
		return NULL;
	}
	rv__presence_init(&p->pres);
	p->state.position = 0;
	p->state.playing = false;
	p->state.speed = 1;
	p->state.server_time = 0;
	p->before = p->state;
	rv__lead_init(&p->lead, p->cfg.lead_min_ms, p->cfg.lead_max_ms);
	rv__barrier_init(&p->barrier);
	rv__drift_init(&p->drift, cfg ? cfg->drift_interval_ms : 0);
	return p;
}

static double lead_now(const struct rv_party *p, double now_ms);

/* What lib/presence.c reads of the party. */
static struct rv__roster roster(const struct rv_party *p)
{
	return (struct rv__roster){ .first = p->members.first, .host = p->host,
				    .size = p->size };
}

static bool same_playback(const struct rv_playback *a, const struct rv_playback *b)
{
	return a->position == b->position && a->playing == b->playing &&
	       a->speed == b->speed && a->server_time == b->server_time;
}

/* The barrier stamps states of its own (a stall's pause, a held resume's
 * release) lead ms ahead; until then members play what was in force
 * before, which scheduling (lead.c) must extrapolate from: keep it. */
static void keep_before(struct rv_party *p, const struct rv_playback *prev,
			double now_ms)
{
	if (same_playback(prev, &p->state) || !(p->state.server_time > now_ms))
		return;
	if (!(prev->server_time > now_ms))
		p->before = *prev;
}

/* What lib/barrier.c works on for one call. */
static struct rv__barrier_env barrier_env(struct rv_party *p, double now_ms,
					  struct rv_outbox *ob)
{
	return (struct rv__barrier_env){ .b = &p->barrier, .state = &p->state,
					 .first = p->members.first, .cfg = &p->cfg,
					 .now_ms = now_ms, .lead_ms = lead_now(p, now_ms),
					 .before = p->cfg.lead_max_ms > 0 ? &p->before : NULL,
					 .ob = ob,
					 .follows = p->cfg.cluster && !p->cut_off && p->host &&
						    p->host->remote };
}

void rv_party_free(struct rv_party *p)
{
	struct rv_member *m, *next;

	if (!p)
		return;
	RV__LIST_FOREACH_SAFE(m, &p->members, , next)
		free(m);
	for (size_t i = 0; i < p->hist_len; i++)
		rv_frame_unref(p->hist[(p->hist_start + i) % p->cfg.history_max]);
	free(p->hist);
	rv__idmap_free(&p->by_id, NULL);
	rv__presence_free(&p->pres);
	free(p);
}

const char *rv_party_id(const struct rv_party *p)
{
	return p->id;
}

size_t rv_party_size(const struct rv_party *p)
{
	return p->size;
}

void rv_party_next_guest_name(const struct rv_party *p, char *buf, size_t len)
{
	snprintf(buf, len, "guest-%lu", p->joins + 1);
}

struct rv_member *rv_party_first(const struct rv_party *p)
{
	return p->members.first;
}

struct rv_member *rv_party_host(const struct rv_party *p)
{
	return p->host;
}

const struct rv_playback *rv_party_state(const struct rv_party *p)
{
	return &p->state;
}

size_t rv_party_history_len(const struct rv_party *p)
{
	return p->hist_len;
}

const char *rv_party_media_url(const struct rv_party *p)
{
	return p->has_media ? p->media_url : NULL;
}

const char *rv_party_media_title(const struct rv_party *p)
{
	return p->has_media ? p->media_title : NULL;
}

int rv_party_set_media(struct rv_party *p, const char *url, const char *title)
{
	size_t ul, tl;

	if (!url) {
		p->has_media = false;
		p->media_url[0] = p->media_title[0] = '\0';
		return 0;
	}
	if (!title)
		title = "";
	ul = strnlen(url, RV_MEDIA_URL_MAX + 1);
	tl = strnlen(title, RV_MEDIA_TITLE_MAX + 1);
	if (!rv_proto_valid_media_url(url, ul) || !rv_proto_valid_title(title, tl))
		return RV_EINVAL;
	memcpy(p->media_url, url, ul + 1);
	memcpy(p->media_title, title, tl + 1);
	p->has_media = true;
	return 0;
}

struct rv_member *rv_party_find(const struct rv_party *p, const char *member_id)
{
	if (!member_id)
		return NULL;
	return rv__idmap_get(&p->by_id, member_id);
}

static void history_push(struct rv_party *p, struct rv_frame *f)
{
	size_t max = p->cfg.history_max;

	if (!max || !f)
		return;
	if (p->hist_len == max) {
		rv_frame_unref(p->hist[p->hist_start]);
		p->hist[p->hist_start] = rv_frame_ref(f);
		p->hist_start = (p->hist_start + 1) % max;
	} else {
		p->hist[(p->hist_start + p->hist_len) % max] = rv_frame_ref(f);
		p->hist_len++;
	}
}

static int link_tail(struct rv_party *p, struct rv_member *m)
{
	if (rv__idmap_put(&p->by_id, m->id, m))
		return RV_ENOMEM;
	RV__LIST_APPEND(&p->members, m, );
	p->size++;
	return 0;
}

static void unlink_member(struct rv_party *p, struct rv_member *m)
{
	rv__idmap_del(&p->by_id, m->id);
	RV__LIST_REMOVE(&p->members, m, );
	p->size--;
}

static const char *role_of(const struct rv_party *p, const struct rv_member *m)
{
	return m == p->host ? "host" : "member";
}

/* The longest-present member who may host, NULL when none may. */
static struct rv_member *heir(const struct rv_party *p)
{
	struct rv_member *m;

	for (m = p->members.first; m && !m->may_host; m = m->next)
		;
	return m;
}

/* The lead a command stamped at now_ms gets (lead.h). */
static double lead_now(const struct rv_party *p, double now_ms)
{
	return rv__lead_ms(&p->lead, now_ms);
}

double rv_party_lead_ms(const struct rv_party *p, double now_ms)
{
	return lead_now(p, now_ms);
}

void rv_party_member_rtt(struct rv_party *p, struct rv_member *m, double rtt_ms,
			 double now_ms)
{
	if (!isfinite(rtt_ms) || rtt_ms < 0 || rtt_ms > RV__LEAD_RTT_MAX_MS)
		return;
	m->rtt_ms = rtt_ms;
	rv__lead_rtt(&p->lead, rtt_ms, now_ms);
}

/* The joiner's first message: everything it needs to catch up, built once
 * with the history frames' bytes spliced in as they were relayed. */
static struct rv_frame *welcome_frame(const struct rv_party *p,
				      const struct rv_member *joiner, const char *resume_token,
				      double now_ms)
{
	struct rv__jw w;
	size_t max = p->cfg.history_max;
	/* a guess (the writer grows): summing the members' lengths would
	 * make every join of a large party O(n) */
	size_t hint = 256 + 80 * (p->pres.batching ? RV__PRESENCE_ROSTER_MAX : p->size);

	for (size_t i = 0; i < p->hist_len; i++)
		hint += p->hist[(p->hist_start + i) % max]->len + 1;

	rv__jw_init(&w, hint);
	rv__jw_open(&w, "{\"type\":\"welcome\",\"payload\":{");
	rv__jw_fcstr(&w, "participant_id", joiner->id);
	rv__jw_fcstr(&w, "party_id", p->id);
	rv__jw_fcstr(&w, "role", role_of(p, joiner));
	rv__jw_field(&w, "host_id");
	if (p->host)
		rv__jw_cstr(&w, p->host->id);
	else
		rv__jw_lit(&w, "null");
	rv__presence_roster(&p->pres, &w, roster(p), joiner);
	rv__jw_field(&w, "state");
	rv__jw_open(&w, "{");
	rv__jw_playback(&w, &p->state);
	rv__jw_close(&w, "}");
	rv__jw_fnum(&w, "lead_ms", lead_now(p, now_ms));
	rv__jw_field(&w, "media");
	if (p->has_media) {
		rv__jw_open(&w, "{");
		rv__jw_fcstr(&w, "url", p->media_url);
		rv__jw_fcstr(&w, "title", p->media_title);
		rv__jw_close(&w, "}");
	} else {
		rv__jw_lit(&w, "null");
	}
	rv__jw_field(&w, "history");
	rv__jw_open(&w, "[");
	for (size_t i = 0; i < p->hist_len; i++) {
		struct rv_frame *f = p->hist[(p->hist_start + i) % max];

		rv__jw_elem(&w);
		rv__jw_raw(&w, (const char *)rv_frame_data(f), f->len);
	}
	rv__jw_close(&w, "]");
	rv__jw_fbool(&w, "waiting", p->barrier.waiting > 0);
	if (resume_token)
		rv__jw_fcstr(&w, "resume_token", resume_token);
	rv__jw_close(&w, "}");
	rv__jw_ftime(&w, "ts", now_ms);
	rv__jw_lit(&w, "}");
	return rv__jw_finish(&w, RV_FRAME_EVENT, RV_MSG_WELCOME);
}

/* Member ids are the caller's, but they reach the wire as JSON strings and
 * come back as transfer_host targets, so they must be valid UTF-8. */
static bool valid_member_id(const char *id)
{
	size_t len;

	if (!id)
		return false;
	len = strnlen(id, RV_MEMBER_ID_MAX + 1);
	return len >= 1 && len <= RV_MEMBER_ID_MAX && rv_utf8_valid(id, len);
}

/* The party's state is anchored, its budgets filled, by its first join. */
static void start(struct rv_party *p, double now_ms)
{
	if (p->started)
		return;
	if (!p->restored)
		p->state.server_time = now_ms;
	p->before = p->state;
	rv__bucket_init(&p->budget, p->cfg.chat_rate, p->cfg.chat_burst, now_ms);
	rv__bucket_init(&p->join_budget, p->cfg.join_rate, p->cfg.join_burst, now_ms);
	p->started = true;
}

int rv_party_join(struct rv_party *p, const char *member_id, const char *name,
		  void *user, double now_ms, struct rv_member **out,
		  struct rv_outbox *ob)
{
	return rv_party_join_as(p, member_id, name, true, user, now_ms, out, ob);
}

int rv_party_join_as(struct rv_party *p, const char *member_id, const char *name,
		     bool may_host, void *user, double now_ms,
		     struct rv_member **out, struct rv_outbox *ob)
{
	struct rv_party_join j = { .member_id = member_id, .name = name, .may_host = may_host,
				   .user = user };

	return rv_party_join_ex(p, &j, now_ms, out, ob);
}

int rv_party_join_ex(struct rv_party *p, const struct rv_party_join *j, double now_ms,
		     struct rv_member **out, struct rv_outbox *ob)
{
	const char *member_id = j->member_id, *name = j->name;
	bool may_host = j->may_host;
	void *user = j->user;
	struct rv_member *m;
	struct rv_frame *welcome, *joined = NULL, *changed = NULL;
	bool first = p->size == 0, batched;
	/* Only a party without a host can gain one by a join (or a host who
	 * comes back for the role, reclaim_host); one that has a host keeps
	 * it, however the joiner may. */
	struct rv_member *old_host = p->host;
	bool takes_host = may_host && (!p->host || j->reclaim_host);
	bool started = p->started;
	struct rv_playback saved = p->state;

	if (out)
		*out = NULL;
	if (!valid_member_id(member_id) || rv_party_find(p, member_id))
		return RV_EINVAL;
	if (name && *name && !rv_proto_valid_name(name, strlen(name)))
		return RV_EINVAL;
	if (p->cfg.max_members && p->size >= p->cfg.max_members)
		return RV_EFULL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return RV_ENOMEM;
	memcpy(m->id, member_id, strlen(member_id) + 1);
	if (name && *name)
		memcpy(m->name, name, strlen(name) + 1);
	else
		rv_party_next_guest_name(p, m->name, sizeof(m->name));
	m->joined_at = now_ms;
	m->rtt_ms = NAN;
	m->may_host = may_host;
	m->user = user;

	/* Linked in before the welcome is built so that members[] includes
	 * the joiner; undone below if any frame cannot be made, so a failed
	 * join leaves the party exactly as it was and the caller can refuse
	 * the connection. */
	if (link_tail(p, m)) {
		free(m);
		return RV_ENOMEM;
	}
	if (takes_host)
		p->host = m;
	start(p, now_ms);
	/* in a large party the join waits for the next presence batch */
	batched = rv__presence_join(&p->pres, roster(p), &p->cfg, m, now_ms);
	welcome = welcome_frame(p, m, j->resume_token, now_ms);
	if (welcome && !first && !batched)
		joined = rv_proto_member_frame(RV_MSG_MEMBER_JOINED, m->id, m->name,
					       now_ms);
	/* The members already present had no host until now; the joiner
	 * learns it is host from its welcome's host_id and role. */
	if (welcome && !first && takes_host)
		changed = rv_proto_host_changed_frame(m->id, now_ms);
	if (!welcome || (!first && !batched && !joined) ||
	    (!first && takes_host && !changed)) {
		rv_frame_unref(welcome);
		rv_frame_unref(joined);
		rv__presence_leave(&p->pres, &p->cfg, m, now_ms);
		unlink_member(p, m);
		if (takes_host)
			p->host = old_host;
		p->started = started;
		p->state = saved;
		free(m);
		return RV_ENOMEM;
	}
	p->joins++;
	rv__outbox_emit(ob, RV_TO_ONE, m, welcome);
	if (joined)
		rv__outbox_emit(ob, RV_TO_ALL_BUT, m, joined);
	if (changed)
		rv__outbox_emit(ob, RV_TO_ALL_BUT, m, changed);
	rv__barrier_join(barrier_env(p, now_ms, ob), m);
	if (out)
		*out = m;
	return 0;
}

int rv_party_join_remote(struct rv_party *p, const char *member_id, const char *name,
			 bool may_host, double now_ms, struct rv_member **out,
			 struct rv_outbox *ob)
{
	struct rv_member *m;

	if (out)
		*out = NULL;
	if (!valid_member_id(member_id) || rv_party_find(p, member_id))
		return RV_EINVAL;
	if (!name || !*name || !rv_proto_valid_name(name, strlen(name)))
		return RV_EINVAL;
	if (!(m = calloc(1, sizeof(*m))))
		return RV_ENOMEM;
	memcpy(m->id, member_id, strlen(member_id) + 1);
	memcpy(m->name, name, strlen(name) + 1);
	m->joined_at = now_ms;
	m->rtt_ms = NAN;
	m->may_host = may_host;
	m->remote = true;
	if (link_tail(p, m)) {
		free(m);
		return RV_ENOMEM;
	}
	start(p, now_ms);
	/* no welcome and no barrier place here: its own node has them */
	if (p->size > 1 && !rv__presence_join(&p->pres, roster(p), &p->cfg, m, now_ms))
		rv__outbox_emit(ob, RV_TO_ALL_BUT, m,
				rv_proto_member_frame(RV_MSG_MEMBER_JOINED, m->id, m->name, now_ms));
	if (out)
		*out = m;
	return 0;
}

int rv_party_set_host(struct rv_party *p, struct rv_member *m, double now_ms,
		      struct rv_outbox *ob)
{
	if (m && !m->may_host)
		return RV_EINVAL;
	if (m == p->host)
		return 0;
	p->host = m;
	if (p->size)
		rv__outbox_emit(ob, RV_TO_ALL, NULL,
				rv_proto_host_changed_frame(m ? m->id : NULL, now_ms));
	return 0;
}

bool rv_party_take_join(struct rv_party *p, double now_ms, double *wait_ms)
{
	if (!p->cfg.join_rate || !p->started || rv__bucket_take(&p->join_budget, now_ms))
		return true;
	if (wait_ms)
		*wait_ms = rv__bucket_wait_ms(&p->join_budget);
	return false;
}

void rv_party_leave(struct rv_party *p, struct rv_member *m, double now_ms,
		    struct rv_outbox *ob)
{
	bool was_host, batched;
	struct rv_playback prev;

	if (!p || !m)
		return;
	was_host = m == p->host;
	/* before the unlink: the batch may point at m */
	batched = rv__presence_leave(&p->pres, &p->cfg, m, now_ms);
	unlink_member(p, m);
	rv__drift_leave(&p->drift, m, now_ms);
	/* The longest present of those who may host, as the contract has it;
	 * with none, the party waits without a host (nobody can sync). */
	if (was_host)
		p->host = heir(p);
	/* m is out of the list, so "everyone" no longer includes it and no
	 * action needs to point at the struct about to be freed. */
	if (p->size) {
		if (!batched)
			rv__outbox_emit(ob, RV_TO_ALL, NULL,
					rv_proto_member_frame(RV_MSG_MEMBER_LEFT, m->id, m->name,
							      now_ms));
		if (was_host)
			rv__outbox_emit(ob, RV_TO_ALL, NULL,
					rv_proto_host_changed_frame(p->host ? p->host->id : NULL,
								    now_ms));
	}
	prev = p->state;
	rv__barrier_leave(barrier_env(p, now_ms, ob), m);
	keep_before(p, &prev, now_ms);
	free(m);
}

/* H1 lead: the host's command takes effect for everyone at now + lead
 * (lead.h). Without `at` the host's position is as of receipt, behind by
 * its upload delay (up to its RTT), which the continuity test allows. */
static void schedule(struct rv_party *p, const struct rv_member *host_m,
		     const struct rv_playback *host, bool has_at, double now_ms)
{
	bool pending = p->state.server_time > now_ms;
	struct rv_playback in_force = pending ? p->before : p->state;
	double tol = RV__LEAD_CONTINUOUS_MS;
	double t = now_ms + lead_now(p, now_ms);

	if (!has_at && isfinite(host_m->rtt_ms))
		tol += fmin(host_m->rtt_ms, RV__LEAD_UPLOAD_MAX_MS);
	/* never before the command it replaces: commands keep their order */
	if (pending && t < p->state.server_time)
		t = p->state.server_time;
	p->state = rv__lead_schedule(&in_force, pending ? &p->state : NULL, host, tol, t);
	p->before = in_force;
}

static int handle_sync(struct rv_party *p, struct rv_member *m,
		       const struct rv_msg *msg, double now_ms, struct rv_outbox *ob)
{
	double at = msg->u.sync.at;
	struct rv_playback host;
	bool has_at;

	if (m != p->host)
		return rv__outbox_error(ob, m, msg, RV_ERR_FORBIDDEN, now_ms,
					"only the host can sync");
	/* The decoder enforces these; checked again because this state is
	 * what every client extrapolates from, and messages can also reach
	 * here from other adapters (a bus from another node, tests). */
	if (!isfinite(msg->u.sync.position) || msg->u.sync.position < 0 ||
	    !(msg->u.sync.speed >= RV_SPEED_MIN && msg->u.sync.speed <= RV_SPEED_MAX))
		return rv__outbox_error(ob, m, msg, RV_ERR_BAD_PAYLOAD, now_ms,
					"position must be >= 0 and speed in [0.25, 4]");

	host.position = msg->u.sync.position;
	host.playing = msg->u.sync.playing;
	host.speed = msg->u.sync.speed;
	/* A host's own estimate of when the position held spares everyone
	 * its upload delay, but only a plausible one: a skewed or hostile
	 * clock must not schedule playback hours away. */
	has_at = msg->u.sync.has_at && fabs(at - now_ms) <= RV_AT_WINDOW_MS;
	host.server_time = has_at ? at : now_ms;
	if (p->cfg.lead_max_ms > 0)
		schedule(p, m, &host, has_at, now_ms);
	else
		p->state = host;
	rv__barrier_sync(barrier_env(p, now_ms, ob), m->id);

	rv__outbox_emit(ob, RV_TO_ALL_BUT, m, rv_proto_sync_frame(&p->state, m->id, now_ms, NULL));
	if (msg->id)
		rv__outbox_emit(ob, RV_TO_ONE, m,
				rv_proto_sync_frame(&p->state, m->id, now_ms, msg->id));
	rv__barrier_flush(barrier_env(p, now_ms, ob));
	return 0;
}

/* chat and reaction: everyone gets the message; with an id the sender's copy
 * is its direct reply and is the only one carrying the id. Returns the
 * frame the others got (a new reference, NULL on out-of-memory). */
static struct rv_frame *relay_text(struct rv_member *m, const struct rv_msg *msg,
				   double now_ms, struct rv_outbox *ob)
{
	struct rv_frame *(*enc)(const char *, size_t, const char *, const char *,
				double, const char *);
	const char *text;
	size_t len;
	struct rv_frame *shared;

	if (msg->type == RV_MSG_CHAT) {
		enc = rv_proto_chat_frame;
		text = msg->u.chat.text;
		len = msg->u.chat.len;
	} else {
		enc = rv_proto_reaction_frame;
		text = msg->u.reaction.emoji;
		len = msg->u.reaction.len;
	}
	shared = enc(text, len, m->name, m->id, now_ms, NULL);
	if (msg->id) {
		rv__outbox_emit(ob, RV_TO_ONE, m, enc(text, len, m->name, m->id, now_ms, msg->id));
		rv__outbox_emit(ob, RV_TO_ALL_BUT, m, rv_frame_ref(shared));
	} else {
		rv__outbox_emit(ob, RV_TO_ALL, NULL, rv_frame_ref(shared));
	}
	return shared;
}

static int handle_text(struct rv_party *p, struct rv_member *m,
		       const struct rv_msg *msg, double now_ms, struct rv_outbox *ob)
{
	bool chat = msg->type == RV_MSG_CHAT;
	const char *text = chat ? msg->u.chat.text : msg->u.reaction.emoji;
	size_t len = chat ? msg->u.chat.len : msg->u.reaction.len;
	struct rv_frame *shared;

	/* Re-checked for the same reason as a sync's numbers: a NULL text
	 * would crash the encoder. */
	if (!text || len == 0)
		return rv__outbox_error(ob, m, msg, RV_ERR_BAD_PAYLOAD, now_ms,
					chat ? "text must not be empty"
					     : "emoji must not be empty");
	if (len > (chat ? RV_CHAT_MAX : RV_EMOJI_MAX))
		return rv__outbox_error(ob, m, msg, RV_ERR_TOO_LARGE, now_ms,
					chat ? "text is over 2000 bytes"
					     : "emoji is over 16 bytes");
	if (p->cfg.chat_rate && !rv__bucket_take(&p->budget, now_ms))
		return rv__outbox_error(ob, m, msg, RV_ERR_RATE_LIMITED, now_ms,
					"the party is over its %u chat messages and reactions per second",
					p->cfg.chat_rate);
	shared = relay_text(m, msg, now_ms, ob);
	if (chat)
		history_push(p, shared);
	rv_frame_unref(shared);
	return 0;
}

static int handle_transfer(struct rv_party *p, struct rv_member *m,
			   const struct rv_msg *msg, double now_ms,
			   struct rv_outbox *ob)
{
	struct rv_member *to;

	if (m != p->host)
		return rv__outbox_error(ob, m, msg, RV_ERR_FORBIDDEN, now_ms,
					"only the host can hand over");
	if (!msg->u.transfer_host.to)
		return rv__outbox_error(ob, m, msg, RV_ERR_BAD_PAYLOAD, now_ms,
					"to is required");
	to = rv_party_find(p, msg->u.transfer_host.to);
	if (!to)
		return rv__outbox_error(ob, m, msg, RV_ERR_NOT_FOUND, now_ms,
					"no member \"%s\" in this party",
					msg->u.transfer_host.to);
	if (!to->may_host)
		return rv__outbox_error(ob, m, msg, RV_ERR_FORBIDDEN, now_ms,
					"member \"%s\" cannot be host", to->id);
	if (to != m) {
		p->host = to;
		rv__outbox_emit(ob, RV_TO_ALL, NULL, rv_proto_host_changed_frame(to->id, now_ms));
	}
	/* host_changed is a broadcast, not a direct reply, so an id still
	 * needs its ack (and a hand-over to oneself has nothing else). */
	if (msg->id)
		rv__outbox_emit(ob, RV_TO_ONE, m, rv_proto_ack_frame(msg->id, now_ms));
	return 0;
}

/* media: the host names what the party watches; everyone gets it, the
 * sender's copy (its direct reply) with the id. The playback state is the
 * host's to set with the syncs that follow. */
static int handle_media(struct rv_party *p, struct rv_member *m,
			const struct rv_msg *msg, double now_ms, struct rv_outbox *ob)
{
	const char *url = msg->u.media.url, *title = msg->u.media.title;

	if (m != p->host)
		return rv__outbox_error(ob, m, msg, RV_ERR_FORBIDDEN, now_ms,
					"only the host can choose the media");
	/* checked again, as a sync's numbers are: this reaches every
	 * member's player */
	if (rv_party_set_media(p, url, title))
		return rv__outbox_error(ob, m, msg, RV_ERR_BAD_PAYLOAD, now_ms,
					"media: not a url or title a party may carry");
	url = rv_party_media_url(p);
	title = rv_party_media_title(p);
	if (msg->id) {
		rv__outbox_emit(ob, RV_TO_ONE, m, rv_proto_media_frame(url, title, m->id,
								       now_ms, msg->id));
		rv__outbox_emit(ob, RV_TO_ALL_BUT, m,
				rv_proto_media_frame(url, title, m->id, now_ms, NULL));
	} else {
		rv__outbox_emit(ob, RV_TO_ALL, NULL,
				rv_proto_media_frame(url, title, m->id, now_ms, NULL));
	}
	return 0;
}

/* status: kept as the member's drift (drift.c); no reply but an ack. */
static int handle_status(struct rv_party *p, struct rv_member *m,
			 const struct rv_msg *msg, double now_ms, struct rv_outbox *ob)
{
	ob->has_drift = rv__drift_status(&p->drift, m, p->host, &p->state, msg, now_ms,
					 &ob->drift_ms);
	if (msg->id)
		rv__outbox_emit(ob, RV_TO_ONE, m, rv_proto_ack_frame(msg->id, now_ms));
	return 0;
}

int rv_party_restore(struct rv_party *p, const struct rv_playback *state,
		     struct rv_frame *const *hist, size_t n)
{
	if (p->started)
		return RV_EINVAL;
	p->state = *state;
	p->before = p->state;
	p->restored = true;
	for (size_t i = 0; i < n; i++)
		history_push(p, hist[i]);
	return 0;
}

struct rv_frame *rv_party_history_at(const struct rv_party *p, size_t i)
{
	if (i >= p->hist_len)
		return NULL;
	return p->hist[(p->hist_start + i) % p->cfg.history_max];
}

void rv_party_apply_remote(struct rv_party *p, const struct rv_playback *state,
			   struct rv_frame *chat, double now_ms)
{
	if (state) {
		struct rv_playback prev = p->state;

		p->state = *state;
		keep_before(p, &prev, now_ms);
	}
	history_push(p, chat);
}

void rv_party_remote_waits(struct rv_party *p, const struct rv_party_waits *w, double now_ms,
			   struct rv_outbox *ob)
{
	struct rv_playback prev = p->state;
	const char *s = w->ids, *end = w->len ? w->ids + w->len : w->ids;
	char id[RV_MEMBER_ID_MAX + 1];
	struct rv_member *m;

	if (!p->cfg.cluster || !w->node)
		return;
	while (w->len && rv__relay_wait_next(&s, end, id))
		if ((m = rv_party_find(p, id)) && m->remote && m->node == w->node)
			m->wait_mark = true;
	rv__barrier_remote(barrier_env(p, now_ms, ob), w->node,
			   p->host && p->host->remote && p->host->node == w->node, w->deadline,
			   w->dropped);
	keep_before(p, &prev, now_ms);
}

int rv_party_remote_drift(struct rv_party *p, struct rv_member *m, bool buffering,
			  double drift_ms, double clock_error_ms, double now_ms)
{
	if (!m || !m->remote || (!buffering && !isfinite(drift_ms)) ||
	    !(isnan(clock_error_ms) || (isfinite(clock_error_ms) && clock_error_ms >= 0)))
		return RV_EINVAL;
	rv__drift_remote(&p->drift, m, buffering, drift_ms, clock_error_ms, now_ms);
	return 0;
}

void rv_party_cluster_up(struct rv_party *p, bool up, double now_ms, struct rv_outbox *ob)
{
	struct rv_playback prev = p->state;

	if (!p->cfg.cluster || p->cut_off == !up)
		return;
	p->cut_off = !up;
	if (up) {
		rv__barrier_again(&p->barrier);
		return;
	}
	/* what the host's node held may have gone meanwhile, unheard */
	p->barrier.remote_deadline = INFINITY;
	/* no mark set: the remote members of every node (0) are unmarked */
	rv__barrier_remote(barrier_env(p, now_ms, ob), 0, false, INFINITY, 0);
	keep_before(p, &prev, now_ms);
}

void rv_party_waits_again(struct rv_party *p)
{
	rv__barrier_again(&p->barrier);
}

double rv_party_next_deadline(const struct rv_party *p)
{
	double next = INFINITY;

	next = fmin(next, rv__barrier_deadline(&p->barrier));
	next = fmin(next, rv__presence_deadline(&p->pres));
	next = fmin(next, rv__drift_deadline(&p->drift));
	return next;
}

void rv_party_tick(struct rv_party *p, double now_ms, struct rv_outbox *ob)
{
	struct rv_playback prev = p->state;

	rv__barrier_tick(barrier_env(p, now_ms, ob));
	keep_before(p, &prev, now_ms);
	rv__presence_tick(&p->pres, roster(p), &p->cfg, now_ms, ob);
	rv__outbox_emit(ob, RV_TO_ONE, p->host,
			rv__drift_tick(&p->drift, p->members.first, p->host, now_ms));
}

int rv_party_handle(struct rv_party *p, struct rv_member *m,
		    const struct rv_msg *msg, double now_ms, struct rv_outbox *ob)
{
	switch (msg->type) {
	case RV_MSG_SYNC:
		return handle_sync(p, m, msg, now_ms, ob);
	case RV_MSG_CHAT:
	case RV_MSG_REACTION:
		return handle_text(p, m, msg, now_ms, ob);
	case RV_MSG_TRANSFER_HOST:
		return handle_transfer(p, m, msg, now_ms, ob);
	case RV_MSG_START:
		if (m != p->host)
			return rv__outbox_error(ob, m, msg, RV_ERR_FORBIDDEN, now_ms,
						"only the host can start");
		/* fall through */
	case RV_MSG_BUFFERING:
	case RV_MSG_READY: {
		struct rv_playback prev = p->state;
		int rc = rv__barrier_handle(barrier_env(p, now_ms, ob), m, msg);

		keep_before(p, &prev, now_ms);
		return rc;
	}
	case RV_MSG_MEMBERS: {
		const struct rv_member *after = NULL;

		if (msg->u.members.after && !(after = rv_party_find(p, msg->u.members.after)))
			return rv__outbox_error(ob, m, msg, RV_ERR_NOT_FOUND, now_ms,
						"after names no member of this party");
		return rv__presence_members(roster(p), after, m, msg, now_ms, ob);
	}
	case RV_MSG_STATUS:
		return handle_status(p, m, msg, now_ms, ob);
	case RV_MSG_MEDIA:
		return handle_media(p, m, msg, now_ms, ob);
	default:
		return rv__outbox_error(ob, m, msg, RV_ERR_UNKNOWN_TYPE, now_ms,
					"%s is not a watch-party message",
					rv_msg_type_name(msg->type));
	}
}
