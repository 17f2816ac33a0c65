/* lib/listener.c - the listening socket and the accept loop (listener.h):
 * the descriptor ceiling, 503 past it, the spare descriptor shed on
 * EMFILE/ENFILE, the pause that keeps an exhausted server from spinning,
 * the per-address cap, the request head looked at before lws reads it
 * (431, %00), and adoption of each accepted socket into lws.
 */
#include "listener.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bucket.h"
#include "revenge/error.h"

#include "request.h"

/* Sockets taken per readiness event: enough to drain a burst, few enough
 * that a flood cannot hold the loop away from the connections it has. */
#define ACCEPT_BATCH 64
/* How long accepting stops at the ceiling or on an accept error: long
 * enough not to spin, short enough that a freed place is used soon. */
#define PAUSE_S 0.1
#define REPORT_S 1.0

static const char *const refusal_names[RV_METRIC_N_REFUSALS] = { RV_METRIC_REFUSALS };

/* One adopted socket, lws's opaque user data until it is destroyed. */
struct rv__listener_peer {
	bool gone;              /* released while lws was still adopting it */
	char addr[INET6_ADDRSTRLEN];
};

const char *rv__listener_addr(const void *peer)
{
	return peer ? ((const struct rv__listener_peer *)peer)->addr : "";
}

int rv__listener_forwarded(struct rv__listener *l, void *peer, const char *addr)
{
	struct rv__listener_peer *p = peer;

	if (!p || !strcmp(p->addr, addr) || strlen(addr) >= sizeof(p->addr))
		return 0;
	if (l->max_per_ip && rv__tally_get(&l->peers, addr) >= l->max_per_ip)
		return RV_EFULL;
	if (rv__tally_add(&l->peers, addr))
		return 0;               /* out of memory: stays the proxy's */
	rv__tally_sub(&l->peers, p->addr);
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	l->metrics->conn_peers = (int64_t)rv__tally_keys(&l->peers);
	return 0;
}

void rv__listener_budget(uint64_t limit, uint64_t in_use, unsigned reserve,
			 size_t *tcp_max, size_t *ws_max)
{
	uint64_t taken = in_use > UINT64_MAX - reserve ? UINT64_MAX : in_use + reserve;
	uint64_t avail = limit > taken ? limit - taken : 1;
	size_t room;

	if (avail > SIZE_MAX / 2)
		avail = SIZE_MAX / 2;
	*tcp_max = (size_t)avail;
	room = *tcp_max / 16;
	room = room < 2 ? 2 : room > 64 ? 64 : room;
	*ws_max = *tcp_max > room ? *tcp_max - room : 0;
}

int rv__listener_init(struct rv__listener *l, const struct rv_log *log,
		      struct rv_metrics *metrics, unsigned max_per_ip,
		      unsigned handshake_rate, bool tls)
{
	memset(l, 0, sizeof(*l));
	l->fd = l->spare = -1;
	l->log = log;
	l->metrics = metrics;
	l->max_per_ip = max_per_ip;
	l->tls = tls;
	if (rv__tally_init(&l->peers))
		return RV_ENOMEM;
	if (rv__ratemap_init(&l->handshakes, handshake_rate,
			     (double)handshake_rate * RV__BUCKET_ADMIT_BURST_S,
			     RV__LISTENER_RATE_KEYS)) {
		rv__tally_free(&l->peers);
		return RV_ENOMEM;
	}
	return 0;
}

bool rv__listener_handshake(struct rv__listener *l, void *peer, double now_ms,
			    unsigned *retry_s)
{
	struct rv__listener_peer *p = peer;
	double wait_ms = 0;

	/* Counted once the upgrade is asked for, not at accept: /healthz and
	 * /metrics pollers are not churn, and a TLS client can be told 429. */
	if (!p || rv__ratemap_take(&l->handshakes, p->addr, now_ms, &wait_ms))
		return true;
	*retry_s = rv__bucket_retry_s(wait_ms);
	return false;
}

int rv__listener_open(struct rv__listener *l, const char *host, int port,
		      char *why, size_t why_len)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res = NULL, *ai;
	char service[8];
	int fd = -1, one = 1, gai, err = 0;

	snprintf(service, sizeof(service), "%d", port);
	if ((gai = getaddrinfo(host, service, &hints, &res))) {
		snprintf(why, why_len, "%s: %s", host, gai_strerror(gai));
		return RV_EADDR;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* Hand us a connection once its first bytes are in: every
		 * client of this server speaks first (HTTP request, TLS
		 * hello), so accept() finds the request there to look at
		 * (plain_request) and a silent client costs no descriptor
		 * for its first second. */
		setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, SOMAXCONN))
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(why, why_len, "%s", strerror(err ? err : EADDRNOTAVAIL));
		return RV_EADDR;
	}
	{
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);

		if (getsockname(fd, (struct sockaddr *)&sa, &len)) {
			snprintf(why, why_len, "%s", strerror(errno));
			close(fd);
			return RV_EADDR;
		}
		l->port = ntohs(sa.ss_family == AF_INET6 ?
				((struct sockaddr_in6 *)&sa)->sin6_port :
				((struct sockaddr_in *)&sa)->sin_port);
	}
	l->fd = fd;
	return 0;
}

/* Descriptors open in this process now; a guess when /proc is not there. */
static uint64_t fds_in_use(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	uint64_t n = 0;

	if (!d)
		return 64;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n ? n - 1 : 0;   /* less the directory's own */
}

static void report(struct ev_loop *loop, ev_timer *t, int revents);
static void on_accept(struct ev_loop *loop, ev_io *w, int revents);
static void on_resume(struct ev_loop *loop, ev_timer *t, int revents);

static void spare_take(struct rv__listener *l)
{
	if (l->spare < 0)
		l->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int rv__listener_start(struct rv__listener *l, struct ev_loop *loop, struct lws_vhost *vh)
{
	struct rlimit rl;
	uint64_t limit;

	if (l->fd < 0)
		return RV_EIO;
	l->loop = loop;
	l->vhost = vh;
	spare_take(l);
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return RV_EIO;
	/* lws sizes its tables from the same limit; an unlimited one is
	 * taken as a large finite one */
	limit = rl.rlim_cur == RLIM_INFINITY ? 1u << 20 : (uint64_t)rl.rlim_cur;
	rv__listener_budget(limit, fds_in_use(), RV__LISTENER_RESERVE, &l->tcp_max, &l->ws_max);
	l->metrics->tcp_connections_max = (int64_t)l->tcp_max;
	l->metrics->websockets_max = (int64_t)l->ws_max;
	rv_log(l->log, RV_LOG_INFO, "connection_limits",
	       "open files %llu: at most %zu connections, %zu of them WebSocket; "
	       "%u per client address%s; %g WebSocket handshakes/s per client address%s",
	       (unsigned long long)limit, l->tcp_max, l->ws_max,
	       l->max_per_ip, l->max_per_ip ? "" : " (no cap)",
	       l->handshakes.rate, l->handshakes.rate > 0 ? "" : " (no limit)");

	ev_io_init(&l->io, on_accept, l->fd, EV_READ);
	ev_timer_init(&l->resume, on_resume, PAUSE_S, 0);
	ev_timer_init(&l->report, report, REPORT_S, 0);
	l->io.data = l->resume.data = l->report.data = l;
	ev_io_start(loop, &l->io);
	return 0;
}

/* The connections_refused line: what was refused since the last one. */
static void report(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rv__listener *l = t->data;
	char by[200];
	size_t n = 0;
	uint64_t total = 0;

	by[0] = 0;
	for (int i = 0; i < RV_METRIC_N_REFUSALS; i++) {
		if (!l->pending[i])
			continue;
		total += l->pending[i];
		n += (size_t)snprintf(by + n, sizeof(by) - n, "%s%s %llu", n ? ", " : "",
				      refusal_names[i], (unsigned long long)l->pending[i]);
		if (n >= sizeof(by))
			n = sizeof(by) - 1;
		l->pending[i] = 0;
	}
	if (total)
		rv_log(l->log, RV_LOG_WARN, "connections_refused",
		       "%llu in the last second (%s); %zu of %zu connections open "
		       "(WebSocket cap %lld)", (unsigned long long)total, by, l->tcp, l->tcp_max,
		       (long long)l->metrics->websockets_max);
}

void rv__listener_refused(struct rv__listener *l, enum rv_metric_refusal reason)
{
	l->metrics->conn_refusals[reason]++;
	l->pending[reason]++;
	if (l->loop && !ev_is_active(&l->report)) {
		/* a one-shot timer that has fired keeps ~0 as its delay */
		ev_timer_set(&l->report, REPORT_S, 0);
		ev_timer_start(l->loop, &l->report);
	}
}

/* Answer 503 (plain HTTP only: a TLS client could not read it) and close.
 * What the client already sent is read first, so that the close is a FIN
 * after the answer rather than a reset that could discard it. */
static void refuse(struct rv__listener *l, int fd, enum rv_metric_refusal reason)
{
	static const char full[] =
		"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
		"retry-after: 1\r\ncontent-length: 31\r\nconnection: close\r\n\r\n"
		"server at its connection limit\n";
	static const char per_ip[] =
		"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
		"retry-after: 1\r\ncontent-length: 37\r\nconnection: close\r\n\r\n"
		"too many connections from one address\n";
	char sink[4096];
	const char *text = reason == RV_REFUSAL_PER_IP ? per_ip : full;
	size_t len = reason == RV_REFUSAL_PER_IP ? sizeof(per_ip) - 1 : sizeof(full) - 1;

	if (!l->tls) {
		(void)!recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		(void)!send(fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		shutdown(fd, SHUT_WR);
	}
	close(fd);
	rv__listener_refused(l, reason);
}

static void pause_accepting(struct rv__listener *l)
{
	if (!ev_is_active(&l->io))
		return;
	ev_io_stop(l->loop, &l->io);
	ev_timer_set(&l->resume, PAUSE_S, 0);
	ev_timer_start(l->loop, &l->resume);
}

static void on_resume(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rv__listener *l = t->data;

	spare_take(l);
	if (l->fd >= 0)
		ev_io_start(loop, &l->io);
}

/* Out of descriptors: give the spare back, take the waiting client with
 * it, answer and close it, and take the spare again. The client learns
 * at once, and the socket stops being readable for the one that was shed
 * (libuv's uv__emfile_trick, nginx's reserve). */
static void shed(struct rv__listener *l)
{
	int fd;

	if (l->spare < 0)
		return;
	close(l->spare);
	l->spare = -1;
	fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0)
		refuse(l, fd, RV_REFUSAL_EMFILE);
	spare_take(l);
}

static void release(struct rv__listener *l, struct rv__listener_peer *p)
{
	l->tcp--;
	rv__tally_sub(&l->peers, p->addr);
	l->metrics->tcp_connections = (int64_t)l->tcp;
	l->metrics->conn_peers = (int64_t)rv__tally_keys(&l->peers);
}

void rv__listener_released(struct rv__listener *l, void *peer)
{
	struct rv__listener_peer *p = peer;

	if (!p)
		return;
	release(l, p);
	if (p == l->adopting)
		p->gone = true;         /* adopt() frees it */
	else
		free(p);
}

/* Hand fd, from addr, to lws; counted until lws destroys it. */
static void adopt(struct rv__listener *l, int fd, const char *addr)
{
	struct rv__listener_peer *p = calloc(1, sizeof(*p));
	lws_adopt_desc_t info;
	struct lws *wsi;
	int one = 1;

	if (!p || rv__tally_add(&l->peers, addr)) {
		free(p);
		close(fd);
		return;
	}
	snprintf(p->addr, sizeof(p->addr), "%s", addr);
	l->tcp++;
	l->metrics->tcp_connections = (int64_t)l->tcp;
	l->metrics->conn_peers = (int64_t)rv__tally_keys(&l->peers);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	memset(&info, 0, sizeof(info));
	info.vh = l->vhost;
	info.type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | (l->tls ? LWS_ADOPT_ALLOW_SSL : 0);
	info.fd.sockfd = fd;
	info.opaque = p;
	/* A failed adoption closes fd; lws may or may not have destroyed a
	 * wsi (and so released p) on the way. */
	l->adopting = p;
	wsi = lws_adopt_descriptor_vhost_via_info(&info);
	l->adopting = NULL;
	if (!wsi) {
		if (!p->gone)
			release(l, p);
		free(p);
	} else if (p->gone) {
		free(p);
	}
}

static void peer_addr(const struct sockaddr_storage *sa, char *buf, size_t len)
{
	const void *a = sa->ss_family == AF_INET6 ?
			(const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
			(const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	if (!inet_ntop(sa->ss_family, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* True when what fd's client has sent so far is a plain HTTP GET, not an
 * upgrade: looked at (MSG_PEEK), not read. A heuristic for who gets the
 * last places; the WebSocket cap itself is enforced at the handshake. */
static bool plain_request(int fd)
{
	char buf[2048];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_PEEK | MSG_DONTWAIT);

	if (n < 4)
		return false;
	buf[n] = 0;
	return !memcmp(buf, "GET ", 4) && !strcasestr(buf, "\nupgrade:");
}

/* Answer a plain-HTTP request lws would drop without a word (a head over
 * RV__HTTP_HEAD_MAX, a %00 in the target: rv__request_head_check) with
 * its status, and close; true when it did. Only what has arrived is
 * looked at (MSG_PEEK): a client that trickles a longer head is still
 * dropped by lws. What was sent is read first (bounded) so that the close
 * is a FIN after the answer, not a reset that could discard it. */
static bool head_refused(struct rv__listener *l, int fd, const char *addr)
{
	char buf[RV__HTTP_HEAD_MAX + 1], why[128], text[320];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	int status, len;

	if (n <= 0 || !(status = rv__request_head_check(buf, (size_t)n, RV__HTTP_HEAD_MAX,
							 RV__HTTP_FIELDS_MAX, why, sizeof(why))))
		return false;
	len = snprintf(text, sizeof(text),
		       "HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
		       "content-length: %zu\r\nconnection: close\r\n\r\n%s\n", status,
		       status == 431 ? "Request Header Fields Too Large" : "Bad Request",
		       strlen(why) + 1, why);
	for (int i = 0; i < 16 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0; i++)
		;
	(void)!send(fd, text, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	close(fd);
	rv_metrics_refused(l->metrics, status);
	rv_log_kv(l->log, RV_LOG_INFO, "handshake_refused",
		  RV_LOG_FIELDS(RV_LOG_INT("status", status), RV_LOG_STR("reason", why),
				RV_LOG_STR("remote", addr)), "%d %s", status, why);
	return true;
}

static enum rv_metric_accept_error accept_error(int e)
{
	switch (e) {
	case EMFILE: return RV_ACCEPT_EMFILE;
	case ENFILE: return RV_ACCEPT_ENFILE;
	case ENOBUFS: return RV_ACCEPT_ENOBUFS;
	case ENOMEM: return RV_ACCEPT_ENOMEM;
	default: return RV_ACCEPT_OTHER;
	}
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rv__listener *l = w->data;
	bool pause = false;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		char addr[INET6_ADDRSTRLEN];
		int fd = accept4(l->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			int e = errno;

			if (e == EAGAIN || e == EWOULDBLOCK)
				break;
			/* the client gave up before we took it: the next one */
			if (e == EINTR || e == ECONNABORTED || e == EPROTO)
				continue;
			l->metrics->accept_errors[accept_error(e)]++;
			if (e == EMFILE || e == ENFILE) {
				shed(l);
				pause = true;
				continue;
			}
			pause = true;   /* ENOBUFS, ENOMEM: the kernel is short */
			break;
		}
		if (l->tcp >= l->tcp_max) {
			refuse(l, fd, RV_REFUSAL_FD_LIMIT);
			pause = true;
			continue;
		}
		/* The places above the WebSocket cap are for plain HTTP
		 * (/healthz, /metrics): in a connection storm the clients
		 * that would be refused at their upgrade anyway must not
		 * crowd out the probe. TLS hides the request: not sorted. */
		if (l->tcp >= l->ws_max && !l->tls && !plain_request(fd)) {
			refuse(l, fd, RV_REFUSAL_FD_LIMIT);
			pause = true;
			continue;
		}
		peer_addr(&sa, addr, sizeof(addr));
		/* a trusted proxy's connections are its clients': each is
		 * capped under the client's address at its upgrade */
		if (l->max_per_ip && rv__tally_get(&l->peers, addr) >= l->max_per_ip &&
		    !rv_forwarded_trusted(l->trusted, l->n_trusted, addr)) {
			refuse(l, fd, RV_REFUSAL_PER_IP);
			continue;
		}
		if (!l->tls && head_refused(l, fd, addr))
			continue;
		adopt(l, fd, addr);
	}
	if (pause)
		pause_accepting(l);
}

void rv__listener_stop(struct rv__listener *l)
{
	if (!l->loop)
		return;
	ev_io_stop(l->loop, &l->io);
	ev_timer_stop(l->loop, &l->resume);
	if (ev_is_active(&l->report)) {
		ev_timer_stop(l->loop, &l->report);
		report(l->loop, &l->report, 0);
	}
	l->loop = NULL;
}

void rv__listener_close(struct rv__listener *l)
{
	if (!l)
		return;
	rv__listener_stop(l);
	if (l->fd >= 0)
		close(l->fd);
	if (l->spare >= 0)
		close(l->spare);
	l->fd = l->spare = -1;
	rv__tally_free(&l->peers);
	rv__ratemap_free(&l->handshakes);
}
