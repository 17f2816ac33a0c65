/* lib/ep_party.c - the /ws/party/{party_id} endpoint: the table of live
 * parties, joining and leaving, and delivering what party.c decides.
 *
 * A party exists while it has members: it is created by its first join and
 * freed when its last member leaves. Member ids are unique in the process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"
#include "revenge/log.h"
#include "revenge/party.h"

#include "bucket.h"
#include "conn.h"
#include "endpoint.h"
#include "idmap.h"

struct parties {
	struct rv__hub *hub;
	struct rv__idmap by_id;
	uint64_t next_member;
};

/* What the handshake's query says. */
struct party_args {
	char name[RV_NAME_MAX_BYTES + 1];       /* ?name= */
	bool has_name;
};
_Static_assert(sizeof(struct party_args) <= RV__REQUEST_ARGS_MAX, "party_args fits");

/* Per connection. */
struct party_conn {
	struct rv_party *party;
	struct rv_member *member;
};

static int parties_start(struct rv__hub *hub, void **state)
{
	struct parties *ps = calloc(1, sizeof(*ps));

	if (!ps || rv__idmap_init(&ps->by_id)) {
		free(ps);
		return RV_ENOMEM;
	}
	ps->hub = hub;
	*state = ps;
	return 0;
}

static void free_party(void *party)
{
	rv_party_free(party);
}

static void parties_stop(void *state)
{
	struct parties *ps = state;

	if (!ps)
		return;
	rv__idmap_free(&ps->by_id, free_party);
	free(ps);
}

/* The party id, made if need be, into *out: 0, RV_EFULL at --max-parties
 * (counted), RV_ENOMEM. */
static int get_or_create(struct parties *ps, const char *id, struct rv_party **out)
{
	const struct rv_server_config *cfg = ps->hub->cfg;
	struct rv_party_config pc = { .history_max = cfg->history,
				      .max_members = cfg->max_members,
				      .chat_rate = cfg->party_chat_rate,
				      .chat_burst = cfg->party_chat_rate * 2,
				      .join_rate = cfg->party_join_rate,
				      .join_burst = cfg->party_join_rate * RV__BUCKET_ADMIT_BURST_S };
	struct rv_party *p = rv__idmap_get(&ps->by_id, id);

	if ((*out = p))
		return 0;
	if (cfg->max_parties && ps->hub->metrics.parties >= cfg->max_parties) {
		ps->hub->metrics.limit_refusals[RV_LIMIT_PARTIES]++;
		return RV_EFULL;
	}
	p = rv_party_new(id, &pc);
	if (!p)
		return RV_ENOMEM;
	if (rv__idmap_put(&ps->by_id, id, p)) {
		rv_party_free(p);
		return RV_ENOMEM;
	}
	ps->hub->metrics.parties++;
	*out = p;
	return 0;
}

static void remove_if_empty(struct parties *ps, struct rv_party *p)
{
	if (rv_party_size(p))
		return;
	rv__idmap_del(&ps->by_id, rv_party_id(p));
	rv_party_free(p);
	ps->hub->metrics.parties--;
}

/* Hand each action to its recipients' queues; one encoded frame serves
 * every recipient. */
static void deliver(struct rv_party *p, struct rv_outbox *ob)
{
	for (unsigned i = 0; i < ob->n; i++) {
		struct rv_action *a = &ob->items[i];

		switch (a->target) {
		case RV_TO_ONE:
			rv__conn_send(a->member->user, a->frame);
			break;
		case RV_TO_ALL:
		case RV_TO_ALL_BUT:
			for (struct rv_member *m = rv_party_first(p); m; m = m->next)
				if (a->target == RV_TO_ALL || m != a->member)
					rv__conn_send(m->user, a->frame);
			break;
		}
	}
	rv_outbox_clear(ob);
}

static int party_query(const char *arg, size_t len, struct rv__request *r,
		       char *why, size_t why_len)
{
	struct party_args *a = (void *)r->args.bytes;

	if (len < 5 || strncmp(arg, "name=", 5))
		return 0;
	if (a->has_name) {
		snprintf(why, why_len, "name given twice");
		return 400;
	}
	if (!rv_proto_valid_name(arg + 5, len - 5)) {
		snprintf(why, why_len, "name must be 1-32 UTF-8 characters, no control, bidi control "
			 "or line separator, not only blank or invisible ones");
		return 400;
	}
	memcpy(a->name, arg + 5, len - 5);
	a->name[len - 5] = 0;
	a->has_name = true;
	return 0;
}

/* Refuse at the handshake what party_open would: a new party past
 * --max-parties, a member past --max-members; and a join past the party's
 * --party-join-rate (429), which takes a token from the party's bucket
 * when admitted. */
static int party_admit(void *state, const struct rv__request *r, char *why, size_t why_len,
		       unsigned *retry_s)
{
	struct parties *ps = state;
	double wait_ms = 0;
	const struct rv_server_config *cfg = ps->hub->cfg;
	struct rv_party *p = rv__idmap_get(&ps->by_id, r->id);

	if (p && cfg->max_members && rv_party_size(p) >= cfg->max_members) {
		ps->hub->metrics.limit_refusals[RV_LIMIT_MEMBERS]++;
		snprintf(why, why_len, "member limit reached (%u)", cfg->max_members);
		return 503;
	}
	if (!p && cfg->max_parties && ps->hub->metrics.parties >= cfg->max_parties) {
		ps->hub->metrics.limit_refusals[RV_LIMIT_PARTIES]++;
		snprintf(why, why_len, "party limit reached (%u)", cfg->max_parties);
		return 503;
	}
	if (p && !rv_party_take_join(p, rv__hub_now(ps->hub), &wait_ms)) {
		*retry_s = rv__bucket_retry_s(wait_ms);
		snprintf(why, why_len, "party join rate reached (%u/s)", cfg->party_join_rate);
		return 429;
	}
	return 0;
}

static int party_open(void *state, struct rv__conn *c, const struct rv__request *r)
{
	struct parties *ps = state;
	const struct party_args *a = (const void *)r->args.bytes;
	struct party_conn *pc = rv__conn_ep(c);
	struct rv_outbox ob;
	char mid[RV_MEMBER_ID_MAX + 1];
	const char *name = NULL;
	bool may_host;
	struct rv_party *p;
	int err = get_or_create(ps, r->id, &p);

	if (err)
		return err;
	snprintf(mid, sizeof(mid), "m%llx", (unsigned long long)++ps->next_member);
	rv_outbox_init(&ob);
	/* A token's name and role decide; an open server's joiners name
	 * themselves and may all host. */
	if (r->claims && r->claims->has_name)
		name = r->claims->name;
	else if (a->has_name)
		name = a->name;
	may_host = !r->claims || r->claims->role == RV_TOKEN_ROLE_HOST;
	err = rv_party_join_as(p, mid, name, may_host, c, rv__hub_now(ps->hub), &pc->member, &ob);
	if (err) {
		if (err == RV_EFULL)
			ps->hub->metrics.limit_refusals[RV_LIMIT_MEMBERS]++;
		rv_outbox_clear(&ob);
		remove_if_empty(ps, p);
		return err == RV_EFULL ? RV_EFULL : -1;
	}
	pc->party = p;
	rv_log(ps->hub->log, RV_LOG_DEBUG, "joined", "party=%s member=%s name=%s",
	       r->id, pc->member->id, pc->member->name);
	deliver(p, &ob);
	return 0;
}

static void party_message(void *state, struct rv__conn *c, const struct rv_msg *m, double now)
{
	struct parties *ps = state;
	struct party_conn *pc = rv__conn_ep(c);
	struct rv_outbox ob;

	rv_outbox_init(&ob);
	rv_party_handle(pc->party, pc->member, m, now, &ob);
	if (ob.error)
		ps->hub->metrics.errors[ob.error]++;
	/* the only rate limit the party applies is its budget; the sender's
	 * own (server.c) counts strikes toward 1008, this one does not: a
	 * member of a busy party is not abusing anything */
	if (ob.error == RV_ERR_RATE_LIMITED)
		ps->hub->metrics.party_budget_refusals[m->type == RV_MSG_REACTION]++;
	deliver(pc->party, &ob);
}

static void party_close(void *state, struct rv__conn *c)
{
	struct parties *ps = state;
	struct party_conn *pc = rv__conn_ep(c);
	struct rv_party *p = pc->party;
	struct rv_outbox ob;

	if (!p || !pc->member)
		return;
	rv_outbox_init(&ob);
	rv_party_leave(p, pc->member, rv__hub_now(ps->hub), &ob);
	pc->member = NULL;
	pc->party = NULL;
	deliver(p, &ob);
	remove_if_empty(ps, p);
}

const struct rv__endpoint rv__ep_party = {
	.name = "party",
	.path = "/ws/party",
	.conn_size = sizeof(struct party_conn),
	.scope = RV_TOKEN_SCOPE_PARTY,
	.start = parties_start,
	.stop = parties_stop,
	.query = party_query,
	.admit = party_admit,
	.open = party_open,
	.message = party_message,
	.close = party_close,
};
