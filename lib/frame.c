/* lib/frame.c - reference-counted outgoing message buffers (see frame.h). */
#include "revenge/frame.h"

#include <stdlib.h>
#include <string.h>

struct rv_frame *rv_frame_new(size_t cap)
{
	struct rv_frame *f = malloc(sizeof(*f) + RV_FRAME_HEADROOM + cap);

	if (!f)
		return NULL;
	f->refs = 1;
	f->kind = RV_FRAME_EVENT;
	f->msg_type = 0;
	f->wire_head = 0;
	f->alt_state = RV_FRAME_ALT_UNTRIED;
	f->alt = NULL;
	f->len = 0;
	f->cap = cap;
	return f;
}

struct rv_frame *rv_frame_from(const char *text, size_t len, enum rv_frame_kind kind)
{
	struct rv_frame *f = rv_frame_new(len);

	if (!f)
		return NULL;
	memcpy(rv_frame_data(f), text, len);
	f->len = len;
	f->kind = (uint8_t)kind;
	return f;
}

struct rv_frame *rv_frame_ref(struct rv_frame *f)
{
	if (f)
		f->refs++;
	return f;
}

void rv_frame_unref(struct rv_frame *f)
{
	if (f && --f->refs == 0) {
		rv_frame_unref(f->alt);
		free(f);
	}
}
