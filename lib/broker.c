/* lib/broker.c - the local broker (see broker.h): one process, nothing
 * leaves it. */
#include "broker.h"

#include <stdlib.h>

#include "revenge/error.h"

#include "shard.h"

static int local_publish(struct rv__broker *b, const char *party, const void *data, size_t len)
{
	return 0;
}

static int local_publish_kept(struct rv__broker *b, const char *party, enum rv__kept what,
			      const void *data, size_t len, unsigned keep)
{
	return 0;
}

static int local_recall(struct rv__broker *b, const char *party, rv__broker_recall_cb cb,
			void *arg)
{
	return RV_EIO;
}

static int local_restore(struct rv__broker *b, const char *party, const char *state,
			 size_t state_len, const char *media, size_t media_len, const char *const *chat, const size_t *chat_len,
			 size_t n, rv__broker_recall_cb cb, void *arg)
{
	return RV_EIO;
}

static int local_members(struct rv__broker *b, const char *party, enum rv__members_op op,
			 const char *member, const char *entry, uint64_t join, uint64_t seq)
{
	return RV_EIO;
}

static int local_resume_keep(struct rv__broker *b, const char *party, const char *hash,
			     const char *rec, size_t len)
{
	return RV_EIO;
}

static int local_resume_take(struct rv__broker *b, const char *party, const char *hash,
			     rv__broker_resume_cb cb, void *arg)
{
	return RV_EIO;
}

static int local_leases(struct rv__broker *b, const uint64_t *nodes, size_t n)
{
	return RV_EIO;
}

static int local_subscribe(struct rv__broker *b, const char *party)
{
	return 0;
}

static void local_unsubscribe(struct rv__broker *b, const char *party)
{
}

static int local_progress_publish(struct rv__broker *b, const struct rv_progress_rec *rec)
{
	return 0;
}

static int local_progress_subscribe(struct rv__broker *b, const char *owner, const char *session)
{
	return 0;
}

static void local_progress_unsubscribe(struct rv__broker *b, const char *owner,
				       const char *session)
{
}

static int local_quality_publish(struct rv__broker *b, const char *owner, const char *session,
				 const char *profile)
{
	return 0;
}

static int local_quality_subscribe(struct rv__broker *b, const char *owner, const char *session)
{
	return 0;
}

static void local_quality_unsubscribe(struct rv__broker *b, const char *owner,
				      const char *session)
{
}

static void local_stop(struct rv__broker *b)
{
}

static void local_free(struct rv__broker *b)
{
	free(b);
}

static const struct rv__broker_ops local_ops = {
	.name = "local",
	.publish = local_publish,
	.publish_kept = local_publish_kept,
	.recall = local_recall,
	.restore = local_restore,
	.members = local_members,
	.resume_keep = local_resume_keep,
	.resume_take = local_resume_take,
	.leases = local_leases,
	.subscribe = local_subscribe,
	.unsubscribe = local_unsubscribe,
	.progress_publish = local_progress_publish,
	.progress_subscribe = local_progress_subscribe,
	.progress_unsubscribe = local_progress_unsubscribe,
	.quality_publish = local_quality_publish,
	.quality_subscribe = local_quality_subscribe,
	.quality_unsubscribe = local_quality_unsubscribe,
	.stop = local_stop,
	.free = local_free,
};

int rv__broker_local_new(struct rv__broker **out)
{
	struct rv__broker *b = calloc(1, sizeof(*b));

	if (!b)
		return RV_ENOMEM;
	b->ops = &local_ops;
	b->n_shards = 1;
	*out = b;
	return 0;
}

unsigned rv__broker_shard_of(const struct rv__broker *b, const char *id)
{
	return b && b->n_shards > 1 ? rv__shard_of(id, b->n_shards) : 0;
}
