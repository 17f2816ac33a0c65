/* tests/fuzz/fuzz_proto.c - libFuzzer harness for the revenge.v1 decoder.
 *
 * Each input is one client text frame. A decoded message has its contract
 * checked (strings valid UTF-8 and as long as stated) and is cleared; a
 * rejected one becomes its `error` reply, as in the server, so the message,
 * ref and id the decoder wrote go through the encoder too. Any broken
 * promise aborts, which libFuzzer reports as a crash.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilib/include -Ilib \
 *     tests/fuzz/fuzz_proto.c lib/proto.c lib/proto_encode.c lib/utf8.c \
 *     lib/jw.c lib/frame.c -ljansson -lm -o build/fuzz_proto
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t len)
{
	if (!s || strlen(s) != len || !rv_utf8_valid(s, len))
		abort();
}

static void check_msg(const struct rv_msg *m)
{
	if (!m->tree)
		abort();
	if (m->id)
		check_str(m->id, strlen(m->id));
	switch (m->type) {
	case RV_MSG_CHAT:
		check_str(m->u.chat.text, m->u.chat.len);
		if (m->u.chat.len < 1 || m->u.chat.len > RV_CHAT_MAX)
			abort();
		break;
	case RV_MSG_REACTION:
		check_str(m->u.reaction.emoji, m->u.reaction.len);
		if (m->u.reaction.len < 1 || m->u.reaction.len > RV_EMOJI_MAX)
			abort();
		break;
	case RV_MSG_TRANSFER_HOST:
		check_str(m->u.transfer_host.to, strlen(m->u.transfer_host.to));
		break;
	case RV_MSG_PROGRESS:
		if (!rv_proto_valid_id(m->u.progress.media_id,
				       strlen(m->u.progress.media_id)))
			abort();
		break;
	case RV_MSG_QUALITY_REQUEST:
		check_str(m->u.quality_request.profile,
			  strlen(m->u.quality_request.profile));
		break;
	case RV_MSG_SYNC:
		if (m->u.sync.speed < RV_SPEED_MIN || m->u.sync.speed > RV_SPEED_MAX)
			abort();
		break;
	case RV_MSG_REFRESH:
		check_str(m->u.refresh.token, m->u.refresh.len);
		if (m->u.refresh.len < 1 || m->u.refresh.len > RV_TOKEN_MAX)
			abort();
		break;
	case RV_MSG_STATUS:
		if (!(m->u.status.position >= 0))
			abort();
		break;
	case RV_MSG_MEMBERS:
		if (m->u.members.limit < 1 || m->u.members.limit > RV_MEMBERS_PAGE_MAX)
			abort();
		if (m->u.members.after)
			check_str(m->u.members.after, strlen(m->u.members.after));
		break;
	case RV_MSG_MEDIA:
		if (m->u.media.url &&
		    (!rv_proto_valid_media_url(m->u.media.url, m->u.media.url_len) ||
		     !rv_proto_valid_title(m->u.media.title, m->u.media.title_len)))
			abort();
		break;
	case RV_MSG_TIME:
	case RV_MSG_BANDWIDTH_REPORT:
	case RV_MSG_BUFFERING:
	case RV_MSG_READY:
	case RV_MSG_START:
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_proto_error err;
	struct rv_frame *f;
	struct rv_msg msg;

	if (rv_proto_decode((const char *)data, size, &msg, &err) == 0) {
		check_msg(&msg);
		rv_msg_clear(&msg);
		rv_msg_clear(&msg);
		return 0;
	}
	if (msg.tree || err.code <= RV_ERR_NONE || err.code >= RV_ERR__COUNT)
		abort();
	check_str(err.message, strnlen(err.message, sizeof(err.message)));
	check_str(err.ref, strnlen(err.ref, sizeof(err.ref)));
	if (err.has_id)
		check_str(err.id, strnlen(err.id, sizeof(err.id)));
	f = rv_proto_error_frame(&err, 1700000000000.5);
	rv_frame_unref(f);
	return 0;
}
