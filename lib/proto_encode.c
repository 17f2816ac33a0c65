/* lib/proto_encode.c - server->client message encoders (see proto.h).
 *
 * Each encoder writes the final JSON text straight into a shared frame with
 * the transport's head-room, once per message however many recipients.
 */
#include "revenge/proto.h"

#include <string.h>

#include "jw.h"

static void head(struct rv__jw *w, const char *type)
{
	rv__jw_lit(w, "{\"type\":\"");
	rv__jw_lit(w, type);
	rv__jw_open(w, "\",\"payload\":{");
}

static void tail_ts(struct rv__jw *w, const char *from, double ts, const char *id)
{
	rv__jw_close(w, "}");
	if (from)
		rv__jw_fcstr(w, "from", from);
	rv__jw_ftime(w, "ts", ts);
	rv__jw_id(w, id);
	rv__jw_lit(w, "}");
}

struct rv_frame *rv_proto_error_frame(const struct rv_proto_error *err, double ts)
{
	struct rv__jw w;

	rv__jw_init(&w, 160);
	head(&w, "error");
	rv__jw_fcstr(&w, "code", rv_err_code_name(err->code));
	rv__jw_fcstr(&w, "message", err->message);
	rv__jw_fcstr(&w, "ref", err->ref);
	tail_ts(&w, NULL, ts, err->has_id ? err->id : NULL);
	return rv__jw_finish(&w, RV_FRAME_EVENT, RV_MSG_ERROR);
}

struct rv_frame *rv_proto_ack_frame(const char *id, double ts)
{
	struct rv__jw w;

	rv__jw_init(&w, 64);
	rv__jw_lit(&w, "{\"type\":\"ack\",\"ts\":");
	rv__jw_time(&w, ts);
	rv__jw_id(&w, id);
	rv__jw_lit(&w, "}");
	return rv__jw_finish(&w, RV_FRAME_EVENT, RV_MSG_ACK);
}

struct rv_frame *rv_proto_sync_frame(const struct rv_playback *st,
				     const char *from, double ts, const char *id)
{
	struct rv__jw w;

	rv__jw_init(&w, 160);
	head(&w, "sync");
	rv__jw_playback(&w, st);
	tail_ts(&w, from, ts, id);
	return rv__jw_finish(&w, id ? RV_FRAME_EVENT : RV_FRAME_STATE, RV_MSG_SYNC);
}

static struct rv_frame *text_frame(enum rv_msg_type t, const char *key,
				   const char *text, size_t len, const char *name,
				   const char *from, double ts, const char *id)
{
	struct rv__jw w;

	rv__jw_init(&w, len + 128);
	head(&w, rv_msg_type_name(t));
	rv__jw_fstr(&w, key, text, len);
	if (name)
		rv__jw_fcstr(&w, "name", name);
	tail_ts(&w, from, ts, id);
	return rv__jw_finish(&w, RV_FRAME_EVENT, t);
}

struct rv_frame *rv_proto_chat_frame(const char *text, size_t len,
				     const char *name, const char *from,
				     double ts, const char *id)
{
	return text_frame(RV_MSG_CHAT, "text", text, len, name, from, ts, id);
}

struct rv_frame *rv_proto_reaction_frame(const char *emoji, size_t len,
					 const char *name, const char *from,
					 double ts, const char *id)
{
	return text_frame(RV_MSG_REACTION, "emoji", emoji, len, name, from, ts, id);
}

struct rv_frame *rv_proto_media_frame(const char *url, const char *title,
				      const char *from, double ts, const char *id)
{
	struct rv__jw w;

	rv__jw_init(&w, (url ? strlen(url) : 0) + (title ? strlen(title) : 0) + 160);
	head(&w, "media");
	rv__jw_field(&w, "url");
	if (url)
		rv__jw_cstr(&w, url);
	else
		rv__jw_lit(&w, "null");
	rv__jw_fcstr(&w, "title", url && title ? title : "");
	tail_ts(&w, from, ts, id);
	return rv__jw_finish(&w, RV_FRAME_EVENT, RV_MSG_MEDIA);
}

struct rv_frame *rv_proto_time_frame(double client_time, double receive_time,
				     double send_time, const char *id)
{
	struct rv__jw w;

	rv__jw_init(&w, 160);
	head(&w, "time");
	rv__jw_fnum(&w, "client_time", client_time);
	rv__jw_ftime(&w, "server_receive_time", receive_time);
	rv__jw_ftime(&w, "server_time", send_time);
	tail_ts(&w, NULL, send_time, id);
	return rv__jw_finish(&w, RV_FRAME_EVENT, RV_MSG_TIME);
}

struct rv_frame *rv_proto_time_reply(const struct rv_msg *m, double receive_time,
				     double send_time)
{
	return rv_proto_time_frame(m->u.time.client_time, receive_time, send_time, m->id);
}

struct rv_frame *rv_proto_member_frame(enum rv_msg_type t, const char *member_id,
				       const char *name, double ts)
{
	struct rv__jw w;

	rv__jw_init(&w, 128);
	head(&w, rv_msg_type_name(t));
	rv__jw_fcstr(&w, "id", member_id);
	rv__jw_fcstr(&w, "name", name);
	tail_ts(&w, NULL, ts, NULL);
	return rv__jw_finish(&w, RV_FRAME_EVENT, t);
}

struct rv_frame *rv_proto_host_changed_frame(const char *host_id, double ts)
{
	struct rv__jw w;

	rv__jw_init(&w, 96);
	head(&w, "host_changed");
	rv__jw_field(&w, "host_id");
	if (host_id)
		rv__jw_cstr(&w, host_id);
	else
		rv__jw_lit(&w, "null");
	tail_ts(&w, NULL, ts, NULL);
	return rv__jw_finish(&w, RV_FRAME_EVENT, RV_MSG_HOST_CHANGED);
}

struct rv_frame *rv_proto_progress_frame(const char *session_id, const char *media_id,
					 double position, bool has_duration,
					 double duration, bool playing, double ts)
{
	struct rv__jw w;

	rv__jw_init(&w, 256);
	head(&w, "progress");
	rv__jw_fcstr(&w, "session_id", session_id);
	rv__jw_fcstr(&w, "media_id", media_id);
	rv__jw_fnum(&w, "position", position);
	rv__jw_field(&w, "duration");
	if (has_duration)
		rv__jw_num(&w, duration);
	else
		rv__jw_lit(&w, "null");
	rv__jw_fbool(&w, "playing", playing);
	tail_ts(&w, NULL, ts, NULL);
	return rv__jw_finish(&w, RV_FRAME_STATE, RV_MSG_PROGRESS);
}

static void profile_fields(struct rv__jw *w, const struct rv_profile *p)
{
	rv__jw_fcstr(w, "profile", p->name);
	rv__jw_fnum(w, "bitrate", p->kbps);
}

struct rv_frame *rv_proto_quality_state_frame(const struct rv_ladder *l, int current,
					      double ts)
{
	struct rv__jw w;

	rv__jw_init(&w, 128 + 48 * l->n);
	head(&w, "quality_state");
	profile_fields(&w, &l->p[current]);
	rv__jw_field(&w, "ladder");
	rv__jw_open(&w, "[");
	for (unsigned i = 0; i < l->n; i++) {
		rv__jw_elem(&w);
		rv__jw_open(&w, "{");
		profile_fields(&w, &l->p[i]);
		rv__jw_close(&w, "}");
	}
	rv__jw_close(&w, "]");
	tail_ts(&w, NULL, ts, NULL);
	return rv__jw_finish(&w, RV_FRAME_EVENT, RV_MSG_QUALITY_STATE);
}

struct rv_frame *rv_proto_quality_frame(enum rv_msg_type t, const struct rv_profile *p,
					double ts, const char *id)
{
	struct rv__jw w;

	rv__jw_init(&w, 160);
	head(&w, rv_msg_type_name(t));
	profile_fields(&w, p);
	rv__jw_fbool(&w, "from_server", t == RV_MSG_QUALITY_SUGGESTION);
	tail_ts(&w, NULL, ts, id);
	return rv__jw_finish(&w, RV_FRAME_EVENT, t);
}
