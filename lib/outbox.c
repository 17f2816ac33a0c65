/* lib/outbox.c - a party event's outbox: what must be sent, to whom (see
 * outbox.h and party.h). */
#include "outbox.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void rv_outbox_init(struct rv_outbox *ob)
{
	memset(ob, 0, sizeof(*ob));
}

void rv_outbox_clear(struct rv_outbox *ob)
{
	for (unsigned i = 0; i < ob->n && i < RV_OUTBOX_MAX; i++)
		rv_frame_unref(ob->items[i].frame);
	rv_frame_unref(ob->wait);
	memset(ob, 0, sizeof(*ob));
}

void rv__outbox_emit(struct rv_outbox *ob, enum rv_target target,
		     struct rv_member *m, struct rv_frame *f)
{
	if (!f)
		return;
	if (ob->n >= RV_OUTBOX_MAX) {
		rv_frame_unref(f);
		return;
	}
	ob->items[ob->n].target = target;
	ob->items[ob->n].member = m;
	ob->items[ob->n].frame = f;
	ob->n++;
}

int rv__outbox_error(struct rv_outbox *ob, struct rv_member *m, const struct rv_msg *msg,
		     enum rv_err_code code, double now_ms, const char *fmt, ...)
{
	struct rv_proto_error err;
	char text[sizeof(err.message) + 4];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
		text[0] = '\0';
	va_end(ap);
	rv_proto_error_set(&err, code, rv_msg_type_name(msg->type), msg->id, "%s", text);
	rv__outbox_emit(ob, RV_TO_ONE, m, rv_proto_error_frame(&err, now_ms));
	ob->error = code;
	return 1;
}
