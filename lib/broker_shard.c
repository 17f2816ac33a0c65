/* lib/broker_shard.c - the shard broker (see broker.h): cluster mode over
 * several independent Redis servers (--redis URL,URL,...).
 *
 * It owns one Redis broker (broker_redis.c) per URL, each with its own
 * connections, reconnects and metrics (shard="N"), all with this node's
 * one id. A party's publishes, kept state, recall, members steps and
 * channel go to the shard its id hashes to (shard.h); a progress (or
 * quality) session's to its session id's. Each Redis broker keeps this node's
 * lease on its own shard, so a members read sweeps dead nodes on the
 * party's shard by that shard's leases alone; a lease check asks every
 * shard. What a shard's broker reports comes back through this one's
 * callbacks (set by the endpoints after it is made), so a shard down
 * touches only its parties.
 */
#include "broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"
#include "revenge/log.h"
#include "revenge/proto.h"

#include "conn.h"
#include "redis_conn.h"
#include "redis_url.h"
#include "shard.h"

struct shard_broker {
	struct rv__broker base;         /* first: the interface's view */
	unsigned n;
	struct rv__broker *shard[RV__REDIS_SHARDS_MAX];
};

static struct rv__broker *home(struct rv__broker *b, const char *id)
{
	struct shard_broker *sb = (struct shard_broker *)b;

	return sb->shard[rv__shard_of(id, sb->n)];
}

/* ---- what the shards report, handed on -------------------------------- */

static void fwd_message(void *user, const char *party, const char *data, size_t len,
			uint64_t seq)
{
	struct rv__broker *b = user;

	if (b->on_message)
		b->on_message(b->user, party, data, len, seq);
}

static void fwd_up(void *user, unsigned shard)
{
	struct rv__broker *b = user;

	if (b->on_up)
		b->on_up(b->user, shard);
}

static void fwd_down(void *user, unsigned shard)
{
	struct rv__broker *b = user;

	if (b->on_down)
		b->on_down(b->user, shard);
}

static void fwd_subscribed(void *user, const char *party)
{
	struct rv__broker *b = user;

	if (b->on_subscribed)
		b->on_subscribed(b->user, party);
}

static void fwd_leases(void *user, unsigned shard, const uint64_t *nodes, const bool *alive,
		       size_t n)
{
	struct rv__broker *b = user;

	if (b->on_leases)
		b->on_leases(b->user, shard, nodes, alive, n);
}

static void fwd_members(void *user, const char *party, const struct rv__broker_members *r)
{
	struct rv__broker *b = user;

	if (b->on_members)
		b->on_members(b->user, party, r);
}

static void fwd_progress(void *user, const struct rv_progress_rec *rec)
{
	struct rv__broker *b = user;

	if (b->on_progress)
		b->on_progress(b->progress_user, rec);
}

static void fwd_progress_subscribed(void *user, const char *owner, const char *session)
{
	struct rv__broker *b = user;

	if (b->on_progress_subscribed)
		b->on_progress_subscribed(b->progress_user, owner, session);
}

static void fwd_quality(void *user, const char *owner, const char *session, const char *profile)
{
	struct rv__broker *b = user;

	if (b->on_quality)
		b->on_quality(b->quality_user, owner, session, profile);
}

/* ---- the interface: each call to its shard ----------------------------- */

static int shard_publish(struct rv__broker *b, const char *party, const void *data, size_t len)
{
	struct rv__broker *s = home(b, party);

	return s->ops->publish(s, party, data, len);
}

static int shard_publish_kept(struct rv__broker *b, const char *party, enum rv__kept what,
			      const void *data, size_t len, unsigned keep)
{
	struct rv__broker *s = home(b, party);

	return s->ops->publish_kept(s, party, what, data, len, keep);
}

static int shard_recall(struct rv__broker *b, const char *party, rv__broker_recall_cb cb,
			void *arg)
{
	struct rv__broker *s = home(b, party);

	return s->ops->recall(s, party, cb, arg);
}

static int shard_restore(struct rv__broker *b, const char *party, const char *state,
			 size_t state_len, const char *media, size_t media_len, const char *const *chat, const size_t *chat_len,
			 size_t n, rv__broker_recall_cb cb, void *arg)
{
	struct rv__broker *s = home(b, party);

	return s->ops->restore(s, party, state, state_len, media, media_len, chat, chat_len, n,
			       cb, arg);
}

static int shard_members(struct rv__broker *b, const char *party, enum rv__members_op op,
			 const char *member, const char *entry, uint64_t join, uint64_t seq)
{
	struct rv__broker *s = home(b, party);

	return s->ops->members(s, party, op, member, entry, join, seq);
}

static int shard_resume_keep(struct rv__broker *b, const char *party, const char *hash,
			     const char *rec, size_t len)
{
	struct rv__broker *s = home(b, party);

	return s->ops->resume_keep(s, party, hash, rec, len);
}

static int shard_resume_take(struct rv__broker *b, const char *party, const char *hash,
			     rv__broker_resume_cb cb, void *arg)
{
	struct rv__broker *s = home(b, party);

	return s->ops->resume_take(s, party, hash, cb, arg);
}

/* Every shard that is up is asked: a node's lease is per shard, and a
 * party's members are swept by its own shard's (each answer is handed on
 * as it comes, with its shard: a node dead on one shard costs a read of
 * that shard's parties with members on it, and no other). */
static int shard_leases(struct rv__broker *b, const uint64_t *nodes, size_t n)
{
	struct shard_broker *sb = (struct shard_broker *)b;
	int rc = RV_EIO;

	for (unsigned i = 0; i < sb->n; i++) {
		int r = sb->shard[i]->ops->leases(sb->shard[i], nodes, n);

		if (!r)
			rc = 0;
		else if (r == RV_ENOMEM)
			return r;
	}
	return rc;
}

static int shard_subscribe(struct rv__broker *b, const char *party)
{
	struct rv__broker *s = home(b, party);

	return s->ops->subscribe(s, party);
}

static void shard_unsubscribe(struct rv__broker *b, const char *party)
{
	struct rv__broker *s = home(b, party);

	s->ops->unsubscribe(s, party);
}

static int shard_progress_publish(struct rv__broker *b, const struct rv_progress_rec *rec)
{
	struct rv__broker *s = home(b, rec->session_id);

	return s->ops->progress_publish(s, rec);
}

static int shard_progress_subscribe(struct rv__broker *b, const char *owner, const char *session)
{
	struct rv__broker *s = home(b, session);

	return s->ops->progress_subscribe(s, owner, session);
}

static void shard_progress_unsubscribe(struct rv__broker *b, const char *owner,
				       const char *session)
{
	struct rv__broker *s = home(b, session);

	s->ops->progress_unsubscribe(s, owner, session);
}

static int shard_quality_publish(struct rv__broker *b, const char *owner, const char *session,
				 const char *profile)
{
	struct rv__broker *s = home(b, session);

	return s->ops->quality_publish(s, owner, session, profile);
}

static int shard_quality_subscribe(struct rv__broker *b, const char *owner, const char *session)
{
	struct rv__broker *s = home(b, session);

	return s->ops->quality_subscribe(s, owner, session);
}

static void shard_quality_unsubscribe(struct rv__broker *b, const char *owner,
				      const char *session)
{
	struct rv__broker *s = home(b, session);

	s->ops->quality_unsubscribe(s, owner, session);
}

static void shard_stop(struct rv__broker *b)
{
	struct shard_broker *sb = (struct shard_broker *)b;

	for (unsigned i = 0; i < sb->n; i++)
		sb->shard[i]->ops->stop(sb->shard[i]);
}

static void shard_free(struct rv__broker *b)
{
	struct shard_broker *sb = (struct shard_broker *)b;

	for (unsigned i = 0; i < sb->n; i++)
		rv__broker_free(sb->shard[i]);
	free(sb);
}

static const struct rv__broker_ops shard_ops = {
	.name = "redis-shards",
	.publish = shard_publish,
	.publish_kept = shard_publish_kept,
	.recall = shard_recall,
	.restore = shard_restore,
	.members = shard_members,
	.resume_keep = shard_resume_keep,
	.resume_take = shard_resume_take,
	.leases = shard_leases,
	.subscribe = shard_subscribe,
	.unsubscribe = shard_unsubscribe,
	.progress_publish = shard_progress_publish,
	.progress_subscribe = shard_progress_subscribe,
	.progress_unsubscribe = shard_progress_unsubscribe,
	.quality_publish = shard_quality_publish,
	.quality_subscribe = shard_quality_subscribe,
	.quality_unsubscribe = shard_quality_unsubscribe,
	.stop = shard_stop,
	.free = shard_free,
};

int rv__broker_shards_new(struct rv__hub *hub, const char *list,
			  const struct rv__redis_tls_files *tls, struct rv__broker **out,
			  char *why, size_t why_len)
{
	struct rv__broker_redis_opts o = { .shard = 0, .node = 0, .clock = true };
	struct shard_broker *sb;
	char url[RV__REDIS_URL_MAX + 1], one[300];
	size_t n;
	int err;

	if (rv__redis_urls_check(list, &n, why, why_len))
		return RV_EINVAL;
	if (n == 1)
		return rv__broker_redis_new(hub, list, tls, &o, out, why, why_len);
	if (!(sb = calloc(1, sizeof(*sb))))
		return RV_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct rv__broker *s;

		o.shard = (unsigned)i;
		o.clock = i == 0;
		if (rv__redis_urls_at(list, i, url, sizeof(url))) {
			err = RV_EINVAL;
			snprintf(why, why_len, "Redis URL %zu of %zu is too long", i + 1, n);
			goto fail;
		}
		if ((err = rv__broker_redis_new(hub, url, tls, &o, &s, one, sizeof(one)))) {
			snprintf(why, why_len, "Redis URL %zu of %zu: %s", i + 1, n, one);
			goto fail;
		}
		/* the first shard's new id is every shard's */
		o.node = s->node;
		s->on_message = fwd_message;
		s->on_up = fwd_up;
		s->on_down = fwd_down;
		s->on_subscribed = fwd_subscribed;
		s->on_leases = fwd_leases;
		s->on_members = fwd_members;
		s->user = sb;
		s->on_progress = fwd_progress;
		s->on_progress_subscribed = fwd_progress_subscribed;
		s->progress_user = sb;
		s->on_quality = fwd_quality;
		s->quality_user = sb;
		sb->shard[sb->n++] = s;
	}
	sb->base.ops = &shard_ops;
	sb->base.cluster = true;
	sb->base.node = o.node;
	sb->base.n_shards = sb->n;
	*out = &sb->base;
	return 0;
fail:
	shard_free(&sb->base);
	return err;
}
