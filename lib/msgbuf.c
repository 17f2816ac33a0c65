/* lib/msgbuf.c - message assembly from fragments (see msgbuf.h). */
#include "msgbuf.h"

#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"

#define KEEP_MAX 4096

int rv__msgbuf_add(struct rv__msgbuf *b, const char *in, size_t len, bool first,
		   bool final, size_t max, const char **msg, size_t *msg_len)
{
	*msg = NULL;
	*msg_len = 0;
	if (first)
		b->len = 0;
	if (len > max || b->len > max - len) {
		b->len = 0;
		return RV_ERANGE;
	}
	if (final && b->len == 0) {
		/* the common case: the whole message in one piece */
		*msg = in;
		*msg_len = len;
		return 0;
	}
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return RV_ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	/* lws may hand over an empty piece as (NULL, 0): memcpy must not
	 * see a NULL even for 0 bytes (UBSan stops the server on it) */
	if (len)
		memcpy(b->p + b->len, in, len);
	b->len += len;
	if (final) {
		*msg = b->p;
		*msg_len = b->len;
	}
	return 0;
}

void rv__msgbuf_done(struct rv__msgbuf *b)
{
	b->len = 0;
	if (b->cap > KEEP_MAX)
		rv__msgbuf_free(b);
}

void rv__msgbuf_free(struct rv__msgbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
