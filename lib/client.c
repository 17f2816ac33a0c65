/* lib/client.c - the libwebsockets client adapter (see client.h).
 *
 * Owns the lws client context (a guest on the caller's libev loop), URL
 * parsing, per-connection send queues and receive assembly, and turning
 * lws's close and error callbacks into one on_close per connection.
 */
#include "revenge/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <libwebsockets.h>
#include <openssl/x509.h>

#include "revenge/error.h"
#include "revenge/frame.h"
#include "revenge/proto.h"

#include "msgbuf.h"

#define URL_MAX 2048
/* libwebsockets 4.1.6 writes the client handshake into its per-thread
 * buffer (pt_serv_buf_size, 4096 by default) and offers what is left, less
 * 12, to LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER. HS_FIXED bounds what
 * it writes besides the path, host, origin and subprotocols: the request
 * line's words, Pragma, Cache-Control, Upgrade, Connection, a 24-character
 * Sec-WebSocket-Key, the permessage-deflate offer, the version, the
 * header names, the blank line and those 12 bytes (about 320), with room
 * to spare. */
#define HS_BUF 4096
#define HS_FIXED 480
#define AUTH_PREFIX "Authorization: Bearer "
#define BEARER_PREFIX "bearer."

struct rv_client {
	struct lws_context *ctx;
	struct rv_client_config cfg;
	lws_retry_bo_t keepalive;     /* all zero: no pings */
	void *foreign[1];
	ev_timer tick;
	char last_error[200];         /* why the last connect failed at once */
};

enum { KIND_WS = 1, KIND_HTTP };

struct rv_conn {
	int kind;                     /* KIND_WS; shares the callback with http_get */
	struct rv_client *cl;
	struct lws *wsi;
	struct rv_conn_callbacks cb;
	void *user;
	bool open;
	bool closing;
	bool connecting;              /* inside lws_client_connect_via_info */
	bool finished;                /* failed while connecting */
	int close_code;               /* ours when closing, else the peer's */
	char close_reason[124];
	char subprotocol[32];
	char *auth;                   /* "Authorization: Bearer TOKEN\r\n", until
				       * the handshake is answered; else NULL */
	size_t auth_len;
	bool auth_too_long;           /* it did not fit lws's buffer after all */
	bool bearer_offered;          /* the token is in the offered subprotocols */
	bool bearer_selected;         /* and the server selected it */
	char tls_error[120];          /* why the server's certificate failed */
	/* send queue: singly linked list of frames */
	struct out { struct rv_frame *f; struct out *next; } *head, **tail;
	struct rv__msgbuf rx;         /* receive assembly */
};

/* Free a string that may hold the token, wiping it first. */
static void free_secret(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* The token is a secret: wipe it before its memory is reused. */
static void drop_auth(struct rv_conn *c)
{
	if (!c->auth)
		return;
	explicit_bzero(c->auth, c->auth_len);
	free(c->auth);
	c->auth = NULL;
	c->auth_len = 0;
}

static void conn_free(struct rv_conn *c)
{
	struct out *o, *next;

	for (o = c->head; o; o = next) {
		next = o->next;
		rv_frame_unref(o->f);
		free(o);
	}
	rv__msgbuf_free(&c->rx);
	drop_auth(c);
	free(c);
}

/* Tell the user once, detach from the wsi and free. */
static void conn_finish(struct rv_conn *c, int code, int http_status, const char *reason)
{
	if (c->wsi)
		lws_set_opaque_user_data(c->wsi, NULL);
	c->open = false;
	if (c->auth_too_long)
		reason = "the token does not fit in the handshake";
	else if (c->bearer_selected)
		reason = "the server selected the token as the subprotocol";
	if (c->connecting) {
		/* rv_client_connect reports this failure by returning NULL. */
		c->finished = true;
		return;
	}
	if (c->cb.on_close)
		c->cb.on_close(c, code, http_status, reason ? reason : "", c->user);
	conn_free(c);
}

static int on_receive(struct rv_conn *c, struct lws *wsi, const char *in, size_t len)
{
	bool first = lws_is_first_fragment(wsi);
	bool final = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
	const char *msg;
	size_t msg_len;
	int err;

	if (lws_frame_is_binary(wsi)) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
				 (unsigned char *)"binary", 6);
		return -1;
	}
	err = rv__msgbuf_add(&c->rx, in, len, first, final, c->cl->cfg.max_message,
			     &msg, &msg_len);
	if (err) {
		lws_close_reason(wsi, err == RV_ERANGE ? LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE :
				 LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
				 (unsigned char *)"too large", 9);
		return -1;
	}
	if (msg) {
		if (c->cb.on_message)
			c->cb.on_message(c, msg, msg_len, c->user);
		rv__msgbuf_done(&c->rx);
	}
	return 0;
}

static int on_writeable(struct rv_conn *c, struct lws *wsi)
{
	struct out *o = c->head;

	if (c->closing) {
		lws_close_reason(wsi, (enum lws_close_status)c->close_code,
				 (unsigned char *)c->close_reason, strlen(c->close_reason));
		return -1;
	}
	if (!o)
		return 0;
	c->head = o->next;
	if (!c->head)
		c->tail = &c->head;
	/* One write per callback: the client masks the payload in place and
	 * the deflate extension may still be draining. */
	int n = lws_write(wsi, rv_frame_data(o->f), o->f->len, LWS_WRITE_TEXT);

	rv_frame_unref(o->f);
	free(o);
	if (n < 0)
		return -1;
	if (c->head)
		lws_callback_on_writable(wsi);
	return 0;
}

/* One HTTP GET in flight. */
struct http_get {
	int kind;                     /* KIND_HTTP */
	char *body;
	size_t len, max;
	int status;
	bool done;
	bool connecting;              /* inside lws_client_connect_via_info */
	bool failed;                  /* failed while connecting */
	void (*on_done)(int status, const char *body, size_t len, const char *reason,
			void *user);
	void *user;
};

/* What lws says of a failed connection, in words a user reads. */
static const char *lws_words(const char *lws_said)
{
	/* lws 4.1.6 closes the socket before its error callback and keeps
	 * the socket's error to itself: this is all that is known */
	if (lws_said && !strcmp(lws_said, "Unable to connect"))
		return "connection refused or host unreachable";
	return lws_said ? lws_said : "connection failed";
}

static void http_finish(struct lws *wsi, struct http_get *h, int status, const char *reason)
{
	if (h->done)
		return;
	lws_set_opaque_user_data(wsi, NULL);
	if (h->connecting) {
		/* rv_client_http_get reports this by returning an error */
		h->failed = true;
		return;
	}
	h->done = true;
	h->on_done(status, h->body ? h->body : "", h->len, reason ? reason : "", h->user);
	free(h->body);
	free(h);
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, struct http_get *h,
			 void *in, size_t len)
{
	char buf[LWS_PRE + 4096], *p = buf + LWS_PRE;
	int n = sizeof(buf) - LWS_PRE;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		h->status = (int)lws_http_client_http_response(wsi);
		return 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP:
		return lws_http_client_read(wsi, &p, &n) < 0 ? -1 : 0;
	case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
		if (h->len < h->max) {
			size_t take = len < h->max - h->len ? len : h->max - h->len;
			char *nb = realloc(h->body, h->len + take);

			if (!nb)
				return -1;
			memcpy(nb + h->len, in, take);
			h->body = nb;
			h->len += take;
		}
		return 0;
	case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
		http_finish(wsi, h, h->status, NULL);
		return -1;   /* one request per connection */
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		http_finish(wsi, h, 0, lws_words(in));
		return 0;
	case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
	case LWS_CALLBACK_WSI_DESTROY:
		http_finish(wsi, h, h->status, h->status ? NULL : "connection closed");
		return 0;
	default:
		return 0;
	}
}

/* True when the server's Sec-WebSocket-Protocol is a "bearer." entry
 * (or cannot be read: it is then treated as one). */
static bool bearer_selected(struct lws *wsi)
{
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL);
	char *sel;
	bool is;

	if (n <= 0)
		return false;
	sel = malloc((size_t)n + 1);
	if (!sel)
		return true;
	is = lws_hdr_copy(wsi, sel, n + 1, WSI_TOKEN_PROTOCOL) < 0 ||
	     !strncmp(sel, BEARER_PREFIX, sizeof(BEARER_PREFIX) - 1);
	free_secret(sel);
	return is;
}

/* Why a connection failed, in words a user can act on: the server's own
 * reason for a refused handshake (its x-revenge-reason header), an
 * untrusted certificate, or the socket's error (refused, unreachable),
 * else what lws said. */
static void failure_reason(struct rv_conn *c, struct lws *wsi, int status, int sock_errno,
			   const char *lws_said, char *buf, size_t len)
{
	char why[120];
	int n;

	if (status >= 300 &&
	    (n = lws_hdr_custom_copy(wsi, why, sizeof(why), "x-revenge-reason:", 17)) > 0) {
		snprintf(buf, len, "%s", why);
		return;
	}
	if (status >= 300) {
		snprintf(buf, len, "HTTP %d", status);
		return;
	}
	if (c->tls_error[0]) {
		snprintf(buf, len, "the server's certificate is not trusted: %s", c->tls_error);
		return;
	}
	switch (sock_errno) {
	case ECONNREFUSED:
	case ECONNRESET:
	case ETIMEDOUT:
	case EHOSTUNREACH:
	case ENETUNREACH:
		snprintf(buf, len, "%s", strerror(sock_errno));
		return;
	}
	snprintf(buf, len, "%s", lws_words(lws_said));
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		    void *in, size_t len)
{
	int sock_errno = errno;   /* what the failed connect() left, if anything */
	struct rv_conn *c = lws_get_opaque_user_data(wsi);
	char buf[200];

	if (c && c->kind == KIND_HTTP)
		return http_callback(wsi, reason, (struct http_get *)c, in, len);
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		/* in: where lws writes next; len: the room left. A header that
		 * does not fit fails the connection rather than being cut. */
		if (c && c->auth) {
			char **p = in;

			if (c->auth_len > len) {
				c->auth_too_long = true;
				return -1;
			}
			memcpy(*p, c->auth, c->auth_len);
			*p += c->auth_len;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		/* A server that selects the bearer entry would make the token
		 * the subprotocol every caller may print. */
		if (c && c->bearer_offered && bearer_selected(wsi)) {
			c->bearer_selected = true;
			return -1;
		}
		/* The response headers are gone by ESTABLISHED. */
		if (c && lws_hdr_copy(wsi, c->subprotocol, sizeof(c->subprotocol),
				      WSI_TOKEN_PROTOCOL) < 0)
			c->subprotocol[0] = 0;
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!c)
			return -1;
		c->open = true;
		drop_auth(c);
		if (c->cb.on_open)
			c->cb.on_open(c, c->user);
		if (c->head)
			lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return c ? on_receive(c, wsi, in, len) : -1;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return c ? on_writeable(c, wsi) : -1;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c && len >= 2) {
			const unsigned char *p = in;
			size_t rl = len - 2 < sizeof(c->close_reason) - 1 ?
				    len - 2 : sizeof(c->close_reason) - 1;

			c->close_code = (p[0] << 8) | p[1];
			memcpy(c->close_reason, p + 2, rl);
			c->close_reason[rl] = 0;
		} else if (c) {
			c->close_code = 1005;
		}
		return 0;
	case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION:
		/* user: the X509_STORE_CTX, len: OpenSSL's verdict so far. The
		 * reason is kept for the failure that follows; lws decides. */
		if (c && !len && user && !c->tls_error[0])
			snprintf(c->tls_error, sizeof(c->tls_error), "%s",
				 X509_verify_cert_error_string(
					 X509_STORE_CTX_get_error((X509_STORE_CTX *)user)));
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (c) {
			int status = (int)lws_http_client_http_response(wsi);

			failure_reason(c, wsi, status, sock_errno, in, buf, sizeof(buf));
			/* inside rv_client_connect: it returns NULL, the reason here */
			if (c->connecting)
				snprintf(c->cl->last_error, sizeof(c->cl->last_error), "%s", buf);
			conn_finish(c, 0, status >= 300 ? status : 0, buf);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (c) {
			int code = c->close_code ? c->close_code : 1006;

			conn_finish(c, c->open || c->closing ? code : 0, 0,
				    c->close_reason[0] ? c->close_reason :
				    code == 1006 ? "connection lost" : "");
		}
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		/* Some failures (a refused TCP connect) end here without a
		 * connection error or close callback. */
		if (c)
			conn_finish(c, 0, 0, "connection failed");
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "revenge-client", callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static const struct lws_extension extensions[] = {
	{ "permessage-deflate", lws_extension_callback_pm_deflate,
	  "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
	{ NULL, NULL, NULL },
};

/* lws 4.1's libev glue only runs its timers (connect timeouts, pings)
 * after socket activity; waking it twice a second keeps them running. */
static void lws_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rv_client *cl = t->data;

	lws_cancel_service(cl->ctx);
}

struct rv_client *rv_client_new(const struct rv_client_config *cfg, int *err)
{
	struct lws_context_creation_info info;
	struct rv_client *cl;

	if (!cfg || !cfg->ev_loop) {
		*err = RV_EINVAL;
		return NULL;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		*err = RV_ENOMEM;
		return NULL;
	}
	cl->cfg = *cfg;
	if (!cl->cfg.max_message)
		cl->cfg.max_message = 16u << 20;
	cl->foreign[0] = cfg->ev_loop;
	cl->keepalive.secs_since_valid_ping = (uint16_t)(cfg->ping_interval < 30000 ?
							 cfg->ping_interval : 30000);
	cl->keepalive.secs_since_valid_hangup = (uint16_t)(2 * cl->keepalive.secs_since_valid_ping);

	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	if (cfg->deflate)
		info.extensions = extensions;
	info.foreign_loops = cl->foreign;
	info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
		       LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.client_ssl_ca_filepath = cfg->ca_file;
	info.user = cl;
	info.fd_limit_per_thread = 0;
	info.retry_and_idle_policy = &cl->keepalive;
	/* lws logs through one process-wide hook to stderr, which a
	 * caller's curses screen would show over itself: its errors reach
	 * the caller as each connection's close reason instead */
	lws_set_log_level(getenv("RV_LWS_DEBUG") ? 0xff : 0, NULL);
	cl->ctx = lws_create_context(&info);
	if (!cl->ctx) {
		free(cl);
		*err = RV_EIO;
		return NULL;
	}
	ev_timer_init(&cl->tick, lws_tick, 0.5, 0.5);
	cl->tick.data = cl;
	ev_timer_start(cfg->ev_loop, &cl->tick);
	return cl;
}

void rv_client_free(struct rv_client *cl)
{
	if (!cl)
		return;
	ev_timer_stop(cl->cfg.ev_loop, &cl->tick);
	lws_context_destroy(cl->ctx);
	free(cl);
}

bool rv_client_token_valid(const char *token)
{
	size_t n;

	if (!token)
		return false;
	n = strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");
	return n && !token[n] && n <= RV_CLIENT_TOKEN_MAX;
}

/* The token's part of the handshake: c->auth for the header, or in
 * *protos "PROTOCOL, bearer.TOKEN" (just "bearer.TOKEN" with no protocol)
 * for lws to offer, *protocol then pointing to it. 0 or RV_ENOMEM. */
static int token_prepare(struct rv_conn *c, const struct rv_conn_options *opts,
			 const char **protocol, char **protos)
{
	size_t tl = strlen(opts->token), n;

	if (opts->token_in_subprotocol) {
		n = (*protocol ? strlen(*protocol) + 2 : 0) + sizeof(BEARER_PREFIX) + tl;
		*protos = malloc(n);
		if (!*protos)
			return RV_ENOMEM;
		snprintf(*protos, n, "%s%s" BEARER_PREFIX "%s", *protocol ? *protocol : "",
			 *protocol ? ", " : "", opts->token);
		*protocol = *protos;
		c->bearer_offered = true;
		return 0;
	}
	c->auth_len = sizeof(AUTH_PREFIX) - 1 + tl + 2;
	c->auth = malloc(c->auth_len + 1);
	if (!c->auth)
		return RV_ENOMEM;
	snprintf(c->auth, c->auth_len + 1, AUTH_PREFIX "%s\r\n", opts->token);
	return 0;
}

static bool resolves(const char *host)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	bool ok = !getaddrinfo(host, NULL, &hints, &res);

	if (res)
		freeaddrinfo(res);
	return ok;
}

const char *rv_client_last_error(const struct rv_client *cl)
{
	return cl->last_error[0] ? cl->last_error : "connection failed";
}

struct rv_conn *rv_client_connect(struct rv_client *cl, const char *url,
				  const struct rv_conn_options *opts,
				  const struct rv_conn_callbacks *cb, void *user, int *err)
{
	struct lws_client_connect_info i;
	char buf[URL_MAX], path[URL_MAX + 1], host[300], *protos = NULL;
	const char *scheme, *address, *p, *protocol;
	struct in_addr src;
	struct rv_conn *c = NULL;
	int port;

	*err = RV_EINVAL;
	if (strlen(url) >= sizeof(buf) || (opts && opts->source_addr && *opts->source_addr &&
					   inet_pton(AF_INET, opts->source_addr, &src) != 1))
		return NULL;
	if (opts && opts->token && !rv_client_token_valid(opts->token))
		return NULL;
	strcpy(buf, url);
	if (lws_parse_uri(buf, &scheme, &address, &port, &p) ||
	    (strcmp(scheme, "ws") && strcmp(scheme, "wss")) || !*address)
		return NULL;
	snprintf(path, sizeof(path), "/%s", p);
	snprintf(host, sizeof(host), "%s:%d", address, port);
	protocol = opts && opts->no_subprotocol ? NULL :
		   opts && opts->subprotocol ? opts->subprotocol : RV_SUBPROTOCOL;

	c = calloc(1, sizeof(*c));
	if (!c) {
		*err = RV_ENOMEM;
		return NULL;
	}
	c->kind = KIND_WS;
	c->cl = cl;
	c->cb = *cb;
	c->user = user;
	c->tail = &c->head;

	if (opts && opts->token) {
		*err = token_prepare(c, opts, &protocol, &protos);
		if (*err)
			goto fail;
		/* Said here, not by a connection failing later. */
		if (HS_FIXED + strlen(path) + strlen(host) + c->auth_len +
		    (opts->origin ? strlen(opts->origin) + 20 : 0) +
		    (protocol ? strlen(protocol) + 2 : 0) > HS_BUF) {
			*err = RV_EINVAL;
			goto fail;
		}
	}

	memset(&i, 0, sizeof(i));
	i.context = cl->ctx;
	i.address = address;
	i.port = port;
	i.path = path;
	i.host = host;
	i.origin = opts && opts->origin ? opts->origin : NULL;
	i.protocol = protocol;   /* lws copies it before returning */
	/* lws 4.1.6 binds the socket to iface before connect(); it copies
	 * the string. An IPv4 literal also keeps the connection on IPv4
	 * (an interface name would not: lws then binds an IPv6 address to
	 * the IPv4 socket), hence dotted quads only. */
	if (opts && opts->source_addr && *opts->source_addr)
		i.iface = opts->source_addr;
	i.retry_and_idle_policy = &cl->keepalive;
	if (!strcmp(scheme, "wss")) {
		i.ssl_connection = LCCSCF_USE_SSL;
		if (cl->cfg.insecure)
			i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED |
					    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
					    LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
	}
	i.opaque_user_data = c;
	i.pwsi = &c->wsi;
	c->connecting = true;
	cl->last_error[0] = 0;
	if (!lws_client_connect_via_info(&i) || c->finished) {
		if (c->wsi && !c->finished)
			lws_set_opaque_user_data(c->wsi, NULL);
		*err = RV_EIO;
		if (!cl->last_error[0] && !resolves(address)) {
			/* lws says nothing of why; its lookup is blocking
			 * too, so asking again costs no more */
			snprintf(cl->last_error, sizeof(cl->last_error),
				 "cannot resolve the host '%s'", address);
			*err = RV_EADDR;
		}
		goto fail;
	}
	c->connecting = false;
	free_secret(protos);
	return c;
fail:
	free_secret(protos);
	conn_free(c);
	return NULL;
}

int rv_client_http_get(struct rv_client *cl, const char *url, size_t max_body,
		       void (*on_done)(int status, const char *body, size_t len,
				       const char *reason, void *user),
		       void *user)
{
	struct lws_client_connect_info i;
	char buf[URL_MAX], path[URL_MAX + 1], host[300];
	const char *scheme, *address, *p;
	struct http_get *h;
	struct lws *wsi = NULL;
	int port;
	bool tls;

	if (strlen(url) >= sizeof(buf))
		return RV_EINVAL;
	strcpy(buf, url);
	if (lws_parse_uri(buf, &scheme, &address, &port, &p) || !*address)
		return RV_EINVAL;
	if (!strcmp(scheme, "https") || !strcmp(scheme, "wss"))
		tls = true;
	else if (!strcmp(scheme, "http") || !strcmp(scheme, "ws"))
		tls = false;
	else
		return RV_EINVAL;
	snprintf(path, sizeof(path), "/%s", p);
	snprintf(host, sizeof(host), "%s:%d", address, port);
	h = calloc(1, sizeof(*h));
	if (!h)
		return RV_ENOMEM;
	h->kind = KIND_HTTP;
	h->max = max_body;
	h->on_done = on_done;
	h->user = user;

	memset(&i, 0, sizeof(i));
	i.context = cl->ctx;
	i.address = address;
	i.port = port;
	i.path = path;
	i.host = host;
	i.method = "GET";
	i.protocol = protocols[0].name;
	if (tls) {
		i.ssl_connection = LCCSCF_USE_SSL;
		if (cl->cfg.insecure)
			i.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED |
					    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
					    LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
	}
	i.opaque_user_data = h;
	i.pwsi = &wsi;
	h->connecting = true;
	if (!lws_client_connect_via_info(&i) || h->failed) {
		if (wsi && !h->failed)
			lws_set_opaque_user_data(wsi, NULL);
		free(h->body);
		free(h);
		return RV_EIO;
	}
	h->connecting = false;
	return 0;
}

int rv_conn_send(struct rv_conn *c, const char *text, size_t len)
{
	struct out *o;

	if (!c->open || c->closing)
		return RV_ESTATE;
	o = malloc(sizeof(*o));
	if (!o)
		return RV_ENOMEM;
	o->f = rv_frame_from(text, len, RV_FRAME_EVENT);
	if (!o->f) {
		free(o);
		return RV_ENOMEM;
	}
	o->next = NULL;
	*c->tail = o;
	c->tail = &o->next;
	lws_callback_on_writable(c->wsi);
	return 0;
}

void rv_conn_close(struct rv_conn *c, int code, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_code = code;
	snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason ? reason : "");
	if (!c->wsi)
		return;
	if (c->open)
		lws_callback_on_writable(c->wsi);
	else
		/* Still connecting: there is no WebSocket to close, so drop the
		 * attempt; on_close follows. */
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

bool rv_conn_is_open(const struct rv_conn *c)
{
	return c->open && !c->closing;
}

const char *rv_conn_subprotocol(const struct rv_conn *c)
{
	return c->subprotocol;
}
