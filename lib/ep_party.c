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

#include "idmap.h"
#include "server_int.h"

struct rv__parties {
	struct rv__idmap by_id;
	uint64_t next_member;
};

int rv__parties_new(struct rv__server *s)
{
	struct rv__parties *p = calloc(1, sizeof(*p));

	if (!p || rv__idmap_init(&p->by_id)) {
		free(p);
		return RV_ENOMEM;
	}
	s->parties = p;
	return 0;
}

static void free_party(void *party)
{
	rv_party_free(party);
}

void rv__parties_free(struct rv__server *s)
{
	if (!s->parties)
		return;
	rv__idmap_free(&s->parties->by_id, free_party);
	free(s->parties);
	s->parties = NULL;
}

static struct rv_party *get_or_create(struct rv__server *s, const char *id)
{
	struct rv_party_config pc = { .history_max = s->cfg->history };
	struct rv_party *p = rv__idmap_get(&s->parties->by_id, id);

	if (p)
		return p;
	p = rv_party_new(id, &pc);
	if (!p)
		return NULL;
	if (rv__idmap_put(&s->parties->by_id, id, p)) {
		rv_party_free(p);
		return NULL;
	}
	s->metrics.parties++;
	return p;
}

static void remove_if_empty(struct rv__server *s, struct rv_party *p)
{
	if (rv_party_size(p))
		return;
	rv__idmap_del(&s->parties->by_id, rv_party_id(p));
	rv_party_free(p);
	s->metrics.parties--;
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
	if (len < 5 || strncmp(arg, "name=", 5))
		return 0;
	if (r->has_name) {
		snprintf(why, why_len, "name given twice");
		return 400;
	}
	if (!rv_proto_valid_name(arg + 5, len - 5)) {
		snprintf(why, why_len, "name must be 1-32 printable UTF-8 characters");
		return 400;
	}
	memcpy(r->name, arg + 5, len - 5);
	r->name[len - 5] = 0;
	r->has_name = true;
	return 0;
}

static int party_open(struct rv__server *s, struct rv__conn *c, const struct rv__request *r)
{
	struct rv_outbox ob;
	char mid[RV_MEMBER_ID_MAX + 1];
	struct rv_party *p = get_or_create(s, r->id);

	if (!p)
		return -1;
	snprintf(mid, sizeof(mid), "m%llx", (unsigned long long)++s->parties->next_member);
	rv_outbox_init(&ob);
	if (rv_party_join(p, mid, r->has_name ? r->name : NULL, c, rv__server_now(s),
			  &c->u.party.member, &ob)) {
		rv_outbox_clear(&ob);
		remove_if_empty(s, p);
		return -1;
	}
	c->u.party.party = p;
	rv_log(s->log, RV_LOG_DEBUG, "joined", "party=%s member=%s name=%s",
	       r->id, c->u.party.member->id, c->u.party.member->name);
	deliver(p, &ob);
	return 0;
}

static void party_message(struct rv__server *s, struct rv__conn *c, const struct rv_msg *m,
			  double now)
{
	struct rv_outbox ob;

	rv_outbox_init(&ob);
	rv_party_handle(c->u.party.party, c->u.party.member, m, now, &ob);
	if (ob.error)
		s->metrics.errors[ob.error]++;
	deliver(c->u.party.party, &ob);
}

static void party_close(struct rv__server *s, struct rv__conn *c)
{
	struct rv_party *p = c->u.party.party;
	struct rv_outbox ob;

	if (!p || !c->u.party.member)
		return;
	rv_outbox_init(&ob);
	rv_party_leave(p, c->u.party.member, rv__server_now(s), &ob);
	c->u.party.member = NULL;
	c->u.party.party = NULL;
	deliver(p, &ob);
	remove_if_empty(s, p);
}

const struct rv__endpoint rv__ep_party = {
	.prefix = "/ws/party/",
	.ep = RV_EP_PARTY,
	.query = party_query,
	.open = party_open,
	.message = party_message,
	.close = party_close,
};
