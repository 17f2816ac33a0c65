/* revenge/client.h - the WebSocket client adapter shared by revenge-party,
 * revenge-probe, revenge-bench and the test helpers.
 *
 * A client context is one libwebsockets client context running as a guest on
 * the caller's libev loop, able to hold many connections (the bench opens
 * tens of thousands). Each connection speaks revenge.v1 over ws:// or wss://,
 * offers permessage-deflate when asked, and reports every whole text message
 * through a callback. The caller runs the loop.
 */
#ifndef REVENGE_CLIENT_H
#define REVENGE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rv_client;   /* the context */
struct rv_conn;     /* one connection */

struct rv_client_config {
	void *ev_loop;            /* struct ev_loop * the caller runs; required */
	const char *ca_file;      /* PEM CA bundle for wss://, NULL = system */
	bool insecure;            /* wss:// without certificate checks */
	bool deflate;             /* offer permessage-deflate. Beware: the
				   * libwebsockets 4.1.6 client re-delivers a plain
				   * message that follows a compressed one forever,
				   * and revenge-server sends messages under 256
				   * bytes plain: leave this off against it. */
	size_t max_message;       /* largest message accepted (default 16 MiB) */
	unsigned ping_interval;   /* ping a silent server after this many
				   * seconds and drop it after twice that;
				   * 0: never (lws keeps these timers in one
				   * sorted list walked on every insert, a
				   * cost for a load generator holding
				   * thousands of connections) */
};

struct rv_conn_callbacks {
	/* The handshake succeeded. */
	void (*on_open)(struct rv_conn *c, void *user);
	/* One whole text message, len bytes, not NUL-terminated. */
	void (*on_message)(struct rv_conn *c, const char *text, size_t len, void *user);
	/* The connection ended, or never opened: close_code is the peer's
	 * close code (1006 when the socket died without one, 0 when no
	 * WebSocket was ever open); http_status is the refused handshake's
	 * status (0 when not refused over HTTP); reason is human text. After
	 * this call the rv_conn is freed: drop every pointer to it. */
	void (*on_close)(struct rv_conn *c, int close_code, int http_status,
			 const char *reason, void *user);
};

struct rv_conn_options {
	const char *origin;       /* Origin header, NULL for none */
	bool no_subprotocol;      /* do not offer revenge.v1 (like wscat) */
	const char *subprotocol;  /* offer this instead of revenge.v1 */
	const char *source_addr;  /* local IPv4 address (dotted quad) to bind the
				   * socket to before connecting, NULL or "" to let
				   * the kernel pick; copied. Each local address has
				   * its own ephemeral ports, so spreading
				   * connections over several (127.0.0.1,
				   * 127.0.0.2, ...) lifts the ~28,000 per server
				   * limit of one. Anything but a dotted quad is
				   * RV_EINVAL; an address that is not this
				   * machine's makes rv_client_connect fail with
				   * RV_EIO (and libwebsockets log the bind error). */
	const char *token;        /* a bearer token (a JWT) for the server to
				   * verify, NULL for none; copied. Sent as
				   * "Authorization: Bearer TOKEN" in the
				   * handshake. It must pass
				   * rv_client_token_valid, else
				   * rv_client_connect fails with RV_EINVAL (no
				   * header injection). It must also fit, with
				   * the path, host, origin and subprotocols, in
				   * libwebsockets' 4096-byte handshake buffer:
				   * one that does not fails rv_client_connect
				   * with RV_EINVAL; the header is never cut
				   * short. The library never prints it; its
				   * own debug log (RV_LWS_DEBUG) may. */
	bool token_in_subprotocol; /* offer the token as an extra
				   * Sec-WebSocket-Protocol entry
				   * "bearer.TOKEN" after revenge.v1 (or
				   * subprotocol; alone with no_subprotocol)
				   * instead of the header: what a browser
				   * must do with servers that take tokens
				   * there. The server is expected to select
				   * revenge.v1, never the bearer entry.
				   * revenge-server does not read it (lws
				   * 4.1.6 drops a protocol list over 128
				   * bytes): use the header or ?token= there. */
};

/* Longest token rv_client_token_valid accepts, in bytes. */
#define RV_CLIENT_TOKEN_MAX 2048

/* True when token can be sent: 1 to RV_CLIENT_TOKEN_MAX bytes of the
 * base64url alphabet (A-Z a-z 0-9 - _) and '.', a JWT's characters, so it
 * can end neither a header line nor a subprotocol list entry. NULL and ""
 * are not. */
bool rv_client_token_valid(const char *token);

/* New context on cfg->ev_loop. Returns NULL and sets *err (RV_E*) on
 * failure. Free with rv_client_free after every connection has closed; the
 * caller then runs the loop until lws's handles have closed. */
struct rv_client *rv_client_new(const struct rv_client_config *cfg, int *err);
void rv_client_free(struct rv_client *cl);

/* Connect to url ("ws://host:port/path?query" or "wss://..."). Returns the
 * connection (owned by the context until on_close) or NULL with *err set;
 * on NULL no callback is ever called. opts may be NULL. */
struct rv_conn *rv_client_connect(struct rv_client *cl, const char *url,
				  const struct rv_conn_options *opts,
				  const struct rv_conn_callbacks *cb, void *user, int *err);

/* Why the last rv_client_connect that returned NULL failed, as one line
 * ("cannot resolve the host 'x'", "Connection refused"); "connection
 * failed" when nothing more is known. Valid until the next connect. Close
 * reasons (on_close) say the same of connections that fail later: the
 * server's reason for a refused handshake, an untrusted certificate ("the
 * server's certificate is not trusted: self-signed certificate"), the
 * socket's error. The library never writes libwebsockets' log to stderr
 * (RV_LWS_DEBUG=1 does, for debugging). */
const char *rv_client_last_error(const struct rv_client *cl);

/* Queue len bytes of text (copied) for sending. Returns 0, RV_ESTATE when
 * the connection is not open, RV_ENOMEM. */
int rv_conn_send(struct rv_conn *c, const char *text, size_t len);

/* Start a close with code and reason (on_close follows). */
void rv_conn_close(struct rv_conn *c, int code, const char *reason);

/* Plain HTTP(S) GET on the same context, for /healthz and /metrics.
 * on_done gets the status (0 when the request failed, with reason) and the
 * whole body (not NUL-terminated, at most max_body bytes kept). Returns 0,
 * or RV_EINVAL / RV_ENOMEM / RV_EIO with no callback ever made. The URL
 * scheme may be http, https, ws or wss (ws maps to http). */
int rv_client_http_get(struct rv_client *cl, const char *url, size_t max_body,
		       void (*on_done)(int status, const char *body, size_t len,
				       const char *reason, void *user),
		       void *user);

/* True once the handshake has completed and until closing starts. */
bool rv_conn_is_open(const struct rv_conn *c);

/* The subprotocol the server selected, "" for none; borrowed from c, valid
 * until c closes. */
const char *rv_conn_subprotocol(const struct rv_conn *c);

#ifdef __cplusplus
}
#endif

#endif
