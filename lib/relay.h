/* lib/relay.h - internal: the envelope a party message travels in between
 * nodes (cluster mode, --redis), encoded and decoded here (pure).
 *
 * One text line, then the frame's bytes exactly as the origin node encoded
 * them for its own members (so a receiving node frames them once and
 * encodes nothing):
 *   "RV1 <origin node, 16 hex> sync <position> <playing 0|1> <speed> <server_time>\n<frame>"
 *   "RV1 <origin node, 16 hex> chat\n<frame>"
 *   "RV1 <origin node, 16 hex> reaction\n<frame>"
 *   "RV1 <origin node, 16 hex> media\n<frame>" (the receiving node reads
 *   the party's media from the frame's payload)
 *   "RV1 <origin node, 16 hex> wait <deadline|-> <dropped|->\n<ids>" (the
 *   waiting room: the origin's members waited for, member ids separated
 *   by one space, maybe none; the held resume's deadline in server ms
 *   when the origin holds one; a drop the origin decided, named as
 *   `dropped`'s reason. Not a client frame: never delivered.)
 *   "RV1 <origin node, 16 hex> drift\n<frame>" (the origin's `drift`
 *   report of its own members, made for a host on another node, whose
 *   node takes the entries into its own report; never delivered as is)
 * A sync carries the playback state too, which the receiving node makes
 * its party's own, so that its joiners are welcomed with it.
 */
#ifndef REVENGE_RELAY_H
#define REVENGE_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "revenge/clock.h"
#include "revenge/party.h"
#include "revenge/proto.h"
#include "revenge/quality.h"
#include "revenge/store.h"

/* The longest frame an envelope carries: a chat frame is a few KiB. */
#define RV__RELAY_FRAME_MAX (256u * 1024)
#define RV__RELAY_HEAD_MAX 160
/* The longest media frame a node sends, keeps in Redis or takes: a url
 * of 2,048 bytes and a title of 256, each byte escaped in at most 2 (a
 * '"'; controls are refused in both), with the member id, type and stamps
 * come to under 5 KiB (test_relay checks the worst case fits). */
#define RV__RELAY_MEDIA_FRAME_MAX 8192u

enum rv__relay_kind {
	RV__RELAY_SYNC, RV__RELAY_CHAT, RV__RELAY_REACTION, RV__RELAY_MEDIA, RV__RELAY_WAIT,
	RV__RELAY_DRIFT,
};

/* The most ids a wait envelope lists (its frame is at most
 * RV__RELAY_WAIT_MAX * (RV_MEMBER_ID_MAX + 1) bytes). */
#define RV__RELAY_WAIT_MAX 512

struct rv__relay_msg {
	uint64_t node;                  /* the origin node's id */
	enum rv__relay_kind kind;
	struct rv_playback state;       /* sync only */
	/* wait only: the origin's held deadline (INFINITY: none), the drop it
	 * decided (barrier.h's enum rv__drop_reason, 0: none) and how many
	 * ids the frame lists (rv__relay_wait_next reads them) */
	double deadline;
	unsigned dropped;
	size_t n_ids;
	const char *frame;              /* the client frame's bytes (a wait's ids): borrowed */
	size_t frame_len;
};

/* Encode m into a new buffer (*out, the caller frees it with free()) of
 * *len bytes: 0, or RV_ENOMEM; RV_EINVAL for a frame that is empty or
 * over RV__RELAY_FRAME_MAX (a wait's may be empty; its deadline must be
 * INFINITY or finite and > 0, its drop a reason or 0). */
int rv__relay_encode(const struct rv__relay_msg *m, char **out, size_t *len);

/* Decode buf[0..len) into *m (m->frame points into buf): 0, or RV_EINVAL
 * for anything malformed: an unknown version or kind, bad numbers, a
 * state no client may be given (position < 0 or not finite, speed out of
 * [0.25, 4]), a frame that is empty, too long, not UTF-8 or not a JSON
 * object. Whoever can publish to Redis can still inject well-formed
 * messages: Redis is trusted (docs/deployment.md). */
int rv__relay_decode(const char *buf, size_t len, struct rv__relay_msg *m);

/* The next id of a decoded wait's list (*s starts at m->frame, end is
 * m->frame + m->frame_len), copied NUL-terminated into id: true, or false
 * when none is left. */
bool rv__relay_wait_next(const char **s, const char *end, char id[RV_MEMBER_ID_MAX + 1]);

/* A committed progress report, as it travels between the nodes that hold
 * connections of its session (broker.h's progress channels): one line,
 *   "RP1 <origin node, 16 hex> <server_time> <playing 0|1> <position> <duration or -> <media_id>"
 * The owner and session are the channel's, not the line's. */
#define RV__RELAY_PROGRESS_MAX 192

/* Encode r's report into buf (RV__RELAY_PROGRESS_MAX bytes, not
 * NUL-terminated): its length, or RV_EINVAL for a report no client could
 * have made (a media id that is not an id, numbers not finite). */
int rv__relay_progress_encode(uint64_t node, const struct rv_progress_rec *r, char *buf);

/* Decode buf[0..len) into *node and r's media_id, position, duration,
 * playing and server_time (owner and session_id untouched): 0, or
 * RV_EINVAL for anything malformed (another version, extra words, a
 * position or duration < 0 or not finite, a media id that is not one). */
int rv__relay_progress_decode(const char *buf, size_t len, uint64_t *node,
			      struct rv_progress_rec *r);

/* A quality session's profile change, as it travels between the nodes
 * that hold connections of its session (broker.h's quality channels):
 *   "RQ1 <origin node, 16 hex> <profile>"
 * the profile a ladder name (1 to RV_PROFILE_NAME_MAX bytes of
 * [A-Za-z0-9_.-]); the owner and session are the channel's. */
#define RV__RELAY_QUALITY_MAX (4 + 17 + RV_PROFILE_NAME_MAX + 1)

/* Encode the change to profile into buf (RV__RELAY_QUALITY_MAX bytes, not
 * NUL-terminated): its length, or RV_EINVAL for a name no ladder has. */
int rv__relay_quality_encode(uint64_t node, const char *profile, char *buf);

/* Decode buf[0..len) into *node and profile (NUL-terminated): 0, or
 * RV_EINVAL for anything else (another version, a node that is not 16
 * lowercase hex digits, a name empty, too long or with another byte,
 * extra words or spaces, a NUL). */
int rv__relay_quality_decode(const char *buf, size_t len, uint64_t *node,
			     char profile[RV_PROFILE_NAME_MAX + 1]);

/* Cluster membership in Redis (broker.h's members): per party a hash of
 * member id -> "<node, 16 hex> <join seq> <may host 0|1> <name>", the seq
 * the party's join counter (the order of joins across nodes). */
struct rv__relay_member {
	uint64_t node;
	uint64_t seq;
	bool may_host;
	char name[RV_NAME_MAX_BYTES + 1];
};

/* Decode a hash value of len bytes into *out: 0, or RV_EINVAL (anything
 * else, a name no client could have chosen included). */
int rv__relay_member_decode(const char *v, size_t len, struct rv__relay_member *out);

/* A member id as the hash holds it: 1 to RV_MEMBER_ID_MAX bytes of
 * letters, digits and '-' (what nodes make), so that a hostile key is
 * never taken for a member. */
bool rv__relay_member_id_ok(const char *id, size_t len);

#endif
