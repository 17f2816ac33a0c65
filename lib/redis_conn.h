/* lib/redis_conn.h - internal: one connection to Redis on the server's
 * libev loop, plain or TLS, for the Redis broker (broker_redis.c).
 *
 * Commands are formatted with hiredis's redisvFormatCommand and replies
 * parsed with hiredis's reader; the socket, the TLS session (OpenSSL) and
 * the queue of reply callbacks are ours, because hiredis 0.14 (Debian 12)
 * has no TLS and no hook to put one under its async context. Everything
 * is non-blocking and runs on the loop thread: no thread, no blocking call.
 */
#ifndef REVENGE_REDIS_CONN_H
#define REVENGE_REDIS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct ev_loop;
struct redisReply;
struct ssl_ctx_st;
struct rv__redis_conn;

/* Where to connect: a unix socket path, or an address (resolved before
 * the loop runs); tls non-NULL for TLS, whose peer must present a
 * certificate for tls_name (a DNS name or an IP address literal). All
 * borrowed for the call. */
struct rv__redis_target {
	const char *path;                       /* non-NULL: a unix socket */
	const struct sockaddr *addr;
	socklen_t addr_len;
	struct ssl_ctx_st *tls;
	const char *tls_name;
};

/* A command's reply, borrowed for the call; r NULL when the connection
 * closed (or failed) before it came. */
typedef void (*rv__redis_reply_cb)(struct rv__redis_conn *c, struct redisReply *r, void *priv);

struct rv__redis_conn_events {
	/* A pub/sub message (an array whose first element is "message" or
	 * "pmessage"), borrowed for the call; NULL: no such replies expected
	 * (one would be handed to the oldest command's callback). */
	void (*on_push)(struct rv__redis_conn *c, struct redisReply *r, void *user);
	/* The connection failed or was lost (never after rv__redis_conn_close);
	 * why is one line ("connect: Connection refused", "TLS: the certificate
	 * of Redis is refused: hostname mismatch", "closed by Redis"...). Every
	 * pending callback has been called with NULL already; c is freed once
	 * this returns. */
	void (*on_close)(struct rv__redis_conn *c, const char *why, void *user);
};

/* Start connecting to t: 0 with *out set, or RV_EIO (why filled: a
 * socket that could not even start connecting) / RV_ENOMEM / RV_ETLS.
 * Commands may be queued at once: they are written once connected, in
 * order. Connecting (and the TLS handshake) gives up after 5 s. */
int rv__redis_conn_open(struct ev_loop *loop, const struct rv__redis_target *t,
			const struct rv__redis_conn_events *ev, void *user,
			struct rv__redis_conn **out, char *why, size_t why_len);

/* Queue a command (hiredis's format: %s, %b with a size_t length, %u ...;
 * not printf's, so unchecked by the compiler), whose reply goes to cb
 * (NULL: ignored). 0, or RV_EIO (c NULL or closing, or more than
 * 64 MiB already unwritten: Redis is too slow) / RV_ENOMEM, and then cb
 * is never called. */
int rv__redis_conn_command(struct rv__redis_conn *c, rv__redis_reply_cb cb, void *priv,
			   const char *fmt, ...);

/* The same with the command's words given one by one (binary-safe:
 * argvlen[i] bytes of argv[i]; argvlen NULL: each strlen'd), as hiredis's
 * redisFormatCommandArgv takes them. */
int rv__redis_conn_command_argv(struct rv__redis_conn *c, rv__redis_reply_cb cb, void *priv,
				int argc, const char **argv, const size_t *argvlen);

/* Read what Redis has sent to c into its buffer, handing out nothing:
 * callable from anywhere (another connection's callback, a member's
 * message), as no callback runs; the replies are handed out on the next
 * loop turn. For a subscriber while the loop is busy elsewhere (a burst
 * of a member's messages being published): Redis must not find its
 * socket full (redis_conn.c says why). NULL-safe. */
void rv__redis_conn_pull(struct rv__redis_conn *c);

/* Write what is queued on c now, as far as its socket takes it, rather
 * than when the loop next finds it writable: for a small urgent command
 * (the lease's renewal) queued while the loop is busy elsewhere. On a
 * write error c fails as on the loop (on_close) and is freed: the caller
 * must not use c afterwards. NULL-safe. */
void rv__redis_conn_flush(struct rv__redis_conn *c);

/* Close c: pending callbacks are called with NULL, on_close is not; c is
 * freed (at once, or, from within one of its own callbacks, when that
 * returns). NULL-safe. */
void rv__redis_conn_close(struct rv__redis_conn *c);

/* What a rediss:// client trusts and shows, all PEM file paths: ca (the
 * CA certificates Redis's must chain to; NULL: the system's store), cert
 * and key (a client certificate for a Redis that asks for one, with
 * tls-auth-clients; both or neither). */
struct rv__redis_tls_files {
	const char *ca, *cert, *key;
};

/* The TLS client context every rediss:// connection shares, from f (NULL:
 * no file): TLS 1.2 at least, peers verified. NULL with why filled on
 * failure (a file that is not PEM, a key that does not match). Free with
 * rv__redis_tls_free (NULL-safe). */
struct ssl_ctx_st *rv__redis_tls_new(const struct rv__redis_tls_files *f, char *why,
				     size_t why_len);
void rv__redis_tls_free(struct ssl_ctx_st *ctx);

#endif
