/* revenge/proto.h - the revenge.v1 message codec (pure, over jansson).
 *
 * Decoding turns one client->server text frame into a validated, typed
 * message or a protocol error (code, human message, the offending type and
 * the request id when one could be read). Encoding turns server->client
 * messages into shared frames (frame.h). Nothing here touches a socket or a
 * clock: times are arguments. The wire contract is docs/protocol.md.
 */
#ifndef REVENGE_PROTO_H
#define REVENGE_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "clock.h"
#include "frame.h"
#include "quality.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The WebSocket subprotocol a client offers (Sec-WebSocket-Protocol). */
#define RV_SUBPROTOCOL "revenge.v1"

#define RV_ID_MAX 64            /* party, session, media ids: [A-Za-z0-9_-]{1,64} */
#define RV_REQ_ID_MAX 128       /* a client's request "id": 1-128 bytes of UTF-8 */
#define RV_NAME_MAX_CHARS 32    /* display name: 1-32 UTF-8 characters */
#define RV_NAME_MAX_BYTES (RV_NAME_MAX_CHARS * 4)
#define RV_CHAT_MAX 2000        /* chat text: 1-2000 bytes */
#define RV_TOKEN_MAX 8192       /* a connection token (refresh, handshake) */
#define RV_EMOJI_MAX 16         /* reaction: 1-16 bytes */
#define RV_PROFILE_MAX 32       /* quality profile name */
#define RV_SPEED_MIN 0.25
#define RV_SPEED_MAX 4.0
#define RV_AT_WINDOW_MS 5000.0  /* a sync's "at" is used within this of now */
#define RV_MEMBERS_PAGE_DEFAULT 100 /* a members request without limit */
#define RV_MEMBERS_PAGE_MAX 1000
#define RV_MEDIA_URL_MAX 2048   /* media url: 1-2048 bytes */
#define RV_MEDIA_TITLE_MAX 256  /* media title: 0-256 bytes */

enum rv_msg_type {
	RV_MSG_INVALID = 0,
	/* client -> server */
	RV_MSG_SYNC,
	RV_MSG_CHAT,
	RV_MSG_REACTION,
	RV_MSG_TIME,
	RV_MSG_TRANSFER_HOST,
	RV_MSG_PROGRESS,
	RV_MSG_QUALITY_REQUEST,
	RV_MSG_BANDWIDTH_REPORT,
	RV_MSG_REFRESH,             /* a new connection token, any endpoint */
	/* watch party, sync v2 (client -> server) */
	RV_MSG_BUFFERING,           /* my player is stalled */
	RV_MSG_READY,               /* my player can play */
	RV_MSG_START,               /* host: end the wait now */
	RV_MSG_STATUS,              /* where my player is */
	RV_MSG_MEMBERS,             /* a page of the roster (also the reply) */
	RV_MSG_MEDIA,               /* host: what the party watches (also relayed) */
	/* server -> client only */
	RV_MSG_WELCOME,
	RV_MSG_MEMBER_JOINED,
	RV_MSG_MEMBER_LEFT,
	RV_MSG_HOST_CHANGED,
	RV_MSG_ERROR,
	RV_MSG_ACK,
	RV_MSG_QUALITY_STATE,
	RV_MSG_QUALITY_CHANGED,
	RV_MSG_QUALITY_SUGGESTION,
	RV_MSG_PARTY_STATE,         /* waiting / playing, who is waited for */
	RV_MSG_DROPPED,             /* you were dropped from the wait */
	RV_MSG_DRIFT,               /* to the host: members' drift */
	RV_MSG_PRESENCE,            /* batched joins and leaves */
	RV_MSG__COUNT
};

/* Wire name of a type ("sync", ...); "invalid" for RV_MSG_INVALID. Static
 * storage, never NULL. */
const char *rv_msg_type_name(enum rv_msg_type t);

/* Type for a wire name, RV_MSG_INVALID when unknown. */
enum rv_msg_type rv_msg_type_from_name(const char *name, size_t len);

enum rv_err_code {
	RV_ERR_NONE = 0,
	RV_ERR_BAD_JSON,
	RV_ERR_UNKNOWN_TYPE,
	RV_ERR_BAD_PAYLOAD,
	RV_ERR_FORBIDDEN,
	RV_ERR_RATE_LIMITED,
	RV_ERR_TOO_LARGE,
	RV_ERR_NOT_FOUND,
	RV_ERR_UNAUTHORIZED,
	RV_ERR_UNKNOWN_PROFILE,
	RV_ERR_STORE_UNAVAILABLE,
	RV_ERR__COUNT
};

/* Wire name of an error code ("bad_json", ...). Static storage, never NULL. */
const char *rv_err_code_name(enum rv_err_code c);

/* A decoded client->server message. String pointers are borrowed from the
 * message's own parse tree and live until rv_msg_clear(). Strings are
 * NUL-terminated, valid UTF-8, and their byte length is given where the
 * contract limits it. */
struct rv_msg {
	enum rv_msg_type type;
	const char *id;             /* request id, NULL when absent */
	union {
		struct { double position; bool playing; double speed;
			 bool has_at; double at; } sync;
		struct { const char *text; size_t len; } chat;
		struct { const char *emoji; size_t len; } reaction;
		struct { double client_time; } time;
		struct { const char *to; } transfer_host;
		struct { const char *media_id; double position;
			 bool has_duration; double duration;
			 bool playing; } progress;
		struct { const char *profile; } quality_request;
		struct { double kbps; } bandwidth_report;
		struct { const char *token; size_t len; } refresh;
		/* position at server time at (receive time when !has_at);
		 * clock_error_ms: the member's own clock error bound. */
		struct { double position; bool playing; bool buffering;
			 bool has_at; double at;
			 bool has_clock_error; double clock_error_ms; } status;
		/* after: the last id of the previous page, NULL from the
		 * start; limit 1..RV_MEMBERS_PAGE_MAX, RV_MEMBERS_PAGE_DEFAULT
		 * when absent. */
		struct { const char *after; unsigned limit; } members;
		/* url NULL: the party watches nothing (a JSON null); else
		 * it passed rv_proto_valid_media_url. title "" when absent,
		 * else it passed rv_proto_valid_title. */
		struct { const char *url; size_t url_len;
			 const char *title; size_t title_len; } media;
	} u;
	void *tree;                 /* owned parse tree (json_t *) */
};

/* Why a message could not be applied: becomes an `error` reply. */
struct rv_proto_error {
	enum rv_err_code code;
	char message[160];          /* human text, NUL-terminated */
	char ref[33];               /* the message's type as sent, "" if unreadable */
	char id[RV_REQ_ID_MAX + 1]; /* the request id as sent, when has_id */
	bool has_id;
};

/* Decode one text frame of len bytes (need not be NUL-terminated).
 * Returns 0 and fills *msg (release with rv_msg_clear), or -1 and fills
 * *err (msg is then empty and needs no clear). Rejects: invalid JSON or
 * UTF-8, duplicate keys, a non-object root or payload, nesting deeper than
 * 32, a missing or unknown type, and payloads that break the contract. */
int rv_proto_decode(const char *text, size_t len, struct rv_msg *msg,
		    struct rv_proto_error *err);

/* Release what rv_proto_decode put in msg; NULL-safe, idempotent. */
void rv_msg_clear(struct rv_msg *msg);

/* Fill *err; message is printf-style. ref and id may be NULL. */
void rv_proto_error_set(struct rv_proto_error *err, enum rv_err_code code,
			const char *ref, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* ---- Encoders: each returns a new frame (refs = 1, caller owns) or NULL
 * on out-of-memory. ts is server time in ms. id may be NULL (no "id" key).
 * String arguments must be valid UTF-8; they are JSON-escaped. */

struct rv_frame *rv_proto_error_frame(const struct rv_proto_error *err, double ts);
struct rv_frame *rv_proto_ack_frame(const char *id, double ts);

/* "sync" {position, playing, speed, server_time} with from/ts. A relayed
 * sync (id == NULL) is an RV_FRAME_STATE frame: latest-wins in queues. */
struct rv_frame *rv_proto_sync_frame(const struct rv_playback *st,
				     const char *from, double ts, const char *id);
struct rv_frame *rv_proto_chat_frame(const char *text, size_t len,
				     const char *name, const char *from,
				     double ts, const char *id);
struct rv_frame *rv_proto_reaction_frame(const char *emoji, size_t len,
					 const char *name, const char *from,
					 double ts, const char *id);
struct rv_frame *rv_proto_time_frame(double client_time, double receive_time,
				     double send_time, const char *id);
/* The answer to a decoded "time" request m, read at receive_time and
 * answered at send_time (server time, ms): its client_time and id echoed.
 * The one place a time request is answered, for every endpoint. */
struct rv_frame *rv_proto_time_reply(const struct rv_msg *m, double receive_time,
				     double send_time);
/* "media" {url, title} with from/ts: url NULL writes "url": null (the
 * party watches nothing) and title is then ignored ("title": ""). */
struct rv_frame *rv_proto_media_frame(const char *url, const char *title,
				      const char *from, double ts, const char *id);
/* member_joined / member_left {id, name} with ts. */
struct rv_frame *rv_proto_member_frame(enum rv_msg_type t, const char *member_id,
				       const char *name, double ts);
/* host_changed {host_id} with ts. host_id NULL writes "host_id": null: the
 * party has no host (no member present may host). */
struct rv_frame *rv_proto_host_changed_frame(const char *host_id, double ts);

/* "progress" {session_id, media_id, position, duration, playing} with ts;
 * duration is null when unknown. An RV_FRAME_STATE frame (latest-wins). */
struct rv_frame *rv_proto_progress_frame(const char *session_id, const char *media_id,
					 double position, bool has_duration,
					 double duration, bool playing, double ts);
/* "quality_state" {profile, bitrate, ladder: [{profile, bitrate}...]} for
 * profile index current of l. */
struct rv_frame *rv_proto_quality_state_frame(const struct rv_ladder *l, int current,
					      double ts);
/* "quality_changed" (type RV_MSG_QUALITY_CHANGED, from_server false) or
 * "quality_suggestion" (RV_MSG_QUALITY_SUGGESTION, from_server true)
 * {profile, bitrate, from_server}. */
struct rv_frame *rv_proto_quality_frame(enum rv_msg_type t, const struct rv_profile *p,
					double ts, const char *id);

/* ---- Validation helpers shared by the codec and the handshake. */

/* True when s[0..len) is 1-RV_ID_MAX bytes of [A-Za-z0-9_-]. */
bool rv_proto_valid_id(const char *s, size_t len);

/* True when s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
bool rv_utf8_valid(const char *s, size_t len);

/* Number of UTF-8 characters in a valid string of len bytes. */
size_t rv_utf8_chars(const char *s, size_t len);

/* The length of the longest prefix of s[0..len) that is at most max bytes
 * and does not end inside a UTF-8 sequence: where to cut valid UTF-8 (or a
 * byte-cut of it) so that what is kept stays valid. Pass max = len to drop
 * only a sequence already cut short at the end. */
size_t rv_utf8_cut(const char *s, size_t len, size_t max);

/* The offset of the first [ or { (outside strings) that nests deeper than
 * max_depth levels (the root counts as one), or SIZE_MAX when none does.
 * Run on untrusted text before jansson, which recurses once per level. */
size_t rv_json_depth_exceeded(const char *s, size_t len, size_t max_depth);

/* True when s[0..len) is a valid display name: valid UTF-8, 1-32
 * characters, and
 *  - no control character (C0, DEL, C1 U+0080-U+009F), bidi control
 *    (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) or line or
 *    paragraph separator (U+2028, U+2029) anywhere: they would reorder or
 *    break the text around the name;
 *  - not only characters that draw nothing or look like a space: white
 *    space (U+0020, U+00A0, U+1680, U+2000-U+200A, U+202F, U+205F, U+3000),
 *    zero-width and invisible format characters (U+00AD, U+180E,
 *    U+200B-U+200D, U+2060-U+2064, U+FEFF, U+FE00-U+FE0F, U+E0000-U+E007F)
 *    and fillers (U+115F, U+1160, U+3164, U+FFA0, U+2800). Inside a name
 *    that also has something visible they are fine ("Ana Lu").
 * Pure: reads only s[0..len), which need not be NUL-terminated. */
bool rv_proto_valid_name(const char *s, size_t len);

/* True when s[0..len) may be a party's media url: 1-RV_MEDIA_URL_MAX
 * bytes of valid UTF-8 without white space, controls (C0, DEL, C1) or
 * backslashes (which browsers read as '/'), and either an absolute
 * http:// or https:// URL (scheme in any case) with a host, or a relative
 * reference that is no network-path ("//host") and has no scheme (no ':'
 * before the first '/', '?' or '#'): never javascript:, data:, blob:,
 * file: or any other scheme. Pure. */
bool rv_proto_valid_media_url(const char *s, size_t len);

/* True when s[0..len) may be a media title: 0-RV_MEDIA_TITLE_MAX bytes of
 * valid UTF-8 with none of the characters a display name refuses anywhere
 * (controls, bidi controls, line and paragraph separators). Pure. */
bool rv_proto_valid_title(const char *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif
