/* lib/web.h - internal: the web client's files over plain HTTP (pure
 * routing; server.c writes the reply). Owned here: which paths are the
 * page, which are its files, where those come from (compiled into the
 * binary from web/, or a --web-root directory), their Content-Type, ETag
 * and the headers every page answer carries (Content-Security-Policy).
 */
#ifndef REVENGE_WEB_H
#define REVENGE_WEB_H

#include <stdbool.h>
#include <stddef.h>

/* The largest file --web-root serves (it is read whole, on the loop):
 * a page and its files, a short clip; real videos belong on a media
 * server. */
#define RV__WEB_FILE_MAX (32u * 1024 * 1024)

/* What to answer. body is borrowed (the compiled-in files) or owned
 * (owned non-NULL: free() it after the reply is written). */
struct rv__web_reply {
	unsigned status;                /* 200, 304, 404, 413, 500 */
	const char *ctype;              /* static storage */
	const unsigned char *body;
	size_t len;
	unsigned char *owned;
	char etag[24];                  /* "\"<16 hex>\"", "" when none */
	/* 206: "bytes A-B/LEN", 416: "bytes (star)/LEN", else "" */
	char content_range[64];
};

/* Route uri (the request path, no query) for a server that serves the web
 * client from root (NULL: the compiled-in copy). if_none_match is the
 * request's If-None-Match (NULL when absent). Returns false when uri is
 * not the web client's (the caller answers 404 as for any path); true
 * with *r filled otherwise: "/" and "/party/{id}" are the page
 * (index.html), "/web/{path}" its files; a path that leaves the root
 * (.., a segment starting with '.', a symlink out of it, anything but
 * [A-Za-z0-9._-] segments) is 404, never read. range is the request's
 * Range header (NULL when absent): one "bytes=A-B", "bytes=A-" or
 * "bytes=-N" of a 200 answers 206 with that slice (a video seeks with
 * them), one past the end 416; anything else is ignored (200, whole). */
bool rv__web_route(const char *root, const char *uri, const char *if_none_match,
		   const char *range, struct rv__web_reply *r);

/* The Content-Security-Policy of the page, into buf of len bytes: ws:
 * and wss: of host (the request's Host, when it is a plain host[:port],
 * else 'self' only) for the party socket, media from 'self' and any
 * http(s) origin (the host picks the video's URL). */
void rv__web_csp(const char *host, char *buf, size_t len);

#endif
