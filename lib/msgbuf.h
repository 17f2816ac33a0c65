/* lib/msgbuf.h - internal: assembling one WebSocket message from the
 * fragments (or lws receive chunks) it arrives in, with a size ceiling.
 * Shared by the server and client adapters; pure, so unit-tested directly.
 */
#ifndef REVENGE_MSGBUF_H
#define REVENGE_MSGBUF_H

#include <stdbool.h>
#include <stddef.h>

struct rv__msgbuf {
	char *p;
	size_t len, cap;
};

/* Add len bytes at in; first/final say where they sit in the message.
 * Returns 0, RV_ERANGE when the message would exceed max bytes (the buffer
 * is then reset), or RV_ENOMEM. When final, *msg and *msg_len give the whole
 * message: in itself when it came in one piece (no copy), else the buffer,
 * valid until the next call; call rv__msgbuf_done after handling it.
 * Otherwise *msg is NULL. */
int rv__msgbuf_add(struct rv__msgbuf *b, const char *in, size_t len, bool first,
		   bool final, size_t max, const char **msg, size_t *msg_len);

/* Forget the message just handled; gives back a buffer that grew past
 * 4 KiB so an idle connection holds none. */
void rv__msgbuf_done(struct rv__msgbuf *b);

/* Free the buffer; b may be reused after. */
void rv__msgbuf_free(struct rv__msgbuf *b);

#endif
