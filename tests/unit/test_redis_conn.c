/* tests/unit/test_redis_conn.c - the Redis transport's read side
 * (lib/redis_conn.c) over a socket whose other end the test writes
 * RESP into (loopback TCP): a burst far larger than one turn's parsing
 * arrives whole and in order, interleaved with a command's answer; a
 * close right after a burst is told only once everything before it was
 * handed out; a pull reads without handing out, and the next turns do;
 * a protocol error closes. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <ev.h>
#include <hiredis/hiredis.h>

#include "redis_conn.h"

#define PAYLOAD 2000

struct peer {
	struct ev_loop *loop;
	struct rv__redis_conn *c;
	int lfd, fd;                    /* listening, accepted (non-blocking) */
	char *out;                      /* RESP still to write to the node */
	size_t out_off, out_len;
	unsigned pushes, bad;           /* in order / not */
	unsigned answered;              /* PING's answer seen after push n */
	bool closed;
	char why[256];
};

static void on_push(struct rv__redis_conn *c, redisReply *r, void *user)
{
	struct peer *p = user;
	char want[16];

	snprintf(want, sizeof(want), "%08u", p->pushes);
	if (r->element[2]->len != PAYLOAD || memcmp(r->element[2]->str, want, 8))
		p->bad++;
	p->pushes++;
}

static void on_close(struct rv__redis_conn *c, const char *why, void *user)
{
	struct peer *p = user;

	p->closed = true;
	snprintf(p->why, sizeof(p->why), "%s", why);
	p->c = NULL;
}

static void on_pong(struct rv__redis_conn *c, redisReply *r, void *priv)
{
	struct peer *p = priv;

	assert_non_null(r);
	assert_string_equal(r->str, "PONG");
	p->answered = p->pushes;
}

/* n pushes of PAYLOAD bytes, numbered from first, appended to p->out. */
static void add_pushes(struct peer *p, unsigned first, unsigned n)
{
	static const char head[] = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2000\r\n";
	size_t one = sizeof(head) - 1 + PAYLOAD + 2;

	p->out = realloc(p->out, p->out_len + (size_t)n * one);
	assert_non_null(p->out);
	for (unsigned i = 0; i < n; i++) {
		char *w = p->out + p->out_len;

		memcpy(w, head, sizeof(head) - 1);
		w += sizeof(head) - 1;
		memset(w, 'a' + (first + i) % 26, PAYLOAD);
		snprintf(w, 9, "%08u", first + i);
		w[8] = 'x';
		memcpy(w + PAYLOAD, "\r\n", 2);
		p->out_len += one;
	}
}

static void add_raw(struct peer *p, const char *s)
{
	size_t n = strlen(s);

	p->out = realloc(p->out, p->out_len + n);
	assert_non_null(p->out);
	memcpy(p->out + p->out_len, s, n);
	p->out_len += n;
}

/* A loopback TCP socket, as to Redis: its buffers take megabytes, so a
 * turn can find more than it parses. */
static void peer_open(struct peer *p)
{
	static const struct rv__redis_conn_events ev = { .on_push = on_push,
							 .on_close = on_close };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct rv__redis_target t = { 0 };
	char why[256];

	memset(p, 0, sizeof(*p));
	p->loop = ev_loop_new(EVFLAG_AUTO);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(p->lfd >= 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(p->lfd, 1), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&sa, &len), 0);
	t.addr = (struct sockaddr *)&sa;
	t.addr_len = len;
	assert_int_equal(rv__redis_conn_open(p->loop, &t, &ev, p, &p->c, why, sizeof(why)), 0);
	p->fd = accept(p->lfd, NULL, NULL);
	assert_true(p->fd >= 0);
	assert_int_equal(fcntl(p->fd, F_SETFL, O_NONBLOCK), 0);
}

static void peer_close(struct peer *p)
{
	rv__redis_conn_close(p->c);
	if (p->fd >= 0)
		close(p->fd);
	close(p->lfd);
	free(p->out);
	ev_loop_destroy(p->loop);
}

/* Write what the socket takes and turn the loop, until done() or a bound
 * of turns. */
static void run(struct peer *p, bool (*done)(const struct peer *))
{
	for (int turn = 0; turn < 200000 && !done(p); turn++) {
		if (p->out_off < p->out_len) {
			ssize_t n = write(p->fd, p->out + p->out_off, p->out_len - p->out_off);

			if (n > 0)
				p->out_off += (size_t)n;
			else
				assert_true(errno == EAGAIN);
		}
		ev_run(p->loop, EVRUN_NOWAIT);
	}
}

static unsigned target;

static bool got_all(const struct peer *p)
{
	return p->pushes >= target && p->answered;
}

static bool written(const struct peer *p)
{
	return p->out_off == p->out_len;
}

static bool got_close(const struct peer *p)
{
	return p->closed;
}

static void burst_whole_in_order(void **state)
{
	struct peer p;

	peer_open(&p);
	/* about 8 MiB: many turns' parsing; PING's answer in the middle */
	assert_int_equal(rv__redis_conn_command(p.c, on_pong, &p, "PING"), 0);
	add_pushes(&p, 0, 2000);
	add_raw(&p, "+PONG\r\n");
	add_pushes(&p, 2000, 2000);
	target = 4000;
	run(&p, got_all);
	assert_int_equal(p.pushes, 4000);
	assert_int_equal(p.bad, 0);
	assert_int_equal(p.answered, 2000);
	assert_false(p.closed);
	peer_close(&p);
}

static void close_after_burst_told_last(void **state)
{
	struct peer p;
	char buf[256];
	ssize_t n;

	peer_open(&p);
	/* the PING is written before the node hears the close */
	assert_int_equal(rv__redis_conn_command(p.c, on_pong, &p, "PING"), 0);
	add_pushes(&p, 0, 100);
	add_raw(&p, "+PONG\r\n");
	add_pushes(&p, 100, 100);
	run(&p, written);
	do
		n = read(p.fd, buf, sizeof(buf));      /* the PING, so no reset */
	while (n > 0);
	/* whatever is still unparsed, the close comes after it */
	shutdown(p.fd, SHUT_WR);
	run(&p, got_close);
	assert_true(p.closed);
	assert_string_equal(p.why, "closed by Redis");
	assert_int_equal(p.pushes, 200);
	assert_int_equal(p.bad, 0);
	assert_int_equal(p.answered, 100);
	peer_close(&p);
}

/* rv__redis_conn_pull reads and hands out nothing; the next turns do,
 * though the socket, emptied, will not wake the loop for it; an end it
 * found is told after them. */
static void pull_reads_hands_out_later(void **state)
{
	struct peer p;
	ssize_t n;

	peer_open(&p);
	for (int i = 0; i < 100; i++)
		ev_run(p.loop, EVRUN_NOWAIT);  /* connected */
	add_pushes(&p, 0, 20);
	n = write(p.fd, p.out, p.out_len);
	assert_int_equal(n, (ssize_t)p.out_len);
	p.out_off = p.out_len;
	/* what the node's socket holds (the node's fd: the one named as
	 * the peer's peer), all of it once it has arrived */
	{
		struct sockaddr_in peer, me;
		socklen_t len = sizeof(peer);
		int fd = -1, avail = 0;

		assert_int_equal(getpeername(p.fd, (struct sockaddr *)&peer, &len), 0);
		for (int i = 3; i < 1024 && fd < 0; i++) {
			len = sizeof(me);
			if (i != p.fd && getsockname(i, (struct sockaddr *)&me, &len) == 0 &&
			    me.sin_family == AF_INET && me.sin_port == peer.sin_port)
				fd = i;
		}
		assert_true(fd >= 0);
		for (int i = 0; i < 1000 && avail < (int)p.out_len; i++) {
			assert_int_equal(ioctl(fd, FIONREAD, &avail), 0);
			if (avail < (int)p.out_len)
				usleep(1000);
		}
		assert_int_equal(avail, (int)p.out_len);
		/* and the end after it, which the pull finds too */
		shutdown(p.fd, SHUT_WR);
		for (int i = 0; i < 1000; i++) {
			struct pollfd pf = { .fd = fd, .events = POLLRDHUP };

			if (poll(&pf, 1, 1) == 1 && (pf.revents & POLLRDHUP))
				break;
		}
		rv__redis_conn_pull(p.c);
		rv__redis_conn_pull(NULL);
		assert_int_equal(p.pushes, 0);
		assert_false(p.closed);
		assert_int_equal(ioctl(fd, FIONREAD, &avail), 0);
		assert_int_equal(avail, 0);
	}
	run(&p, got_close);
	assert_true(p.closed);
	assert_string_equal(p.why, "closed by Redis");
	assert_int_equal(p.pushes, 20);
	assert_int_equal(p.bad, 0);
	peer_close(&p);
}

static void protocol_error_closes(void **state)
{
	struct peer p;

	peer_open(&p);
	add_pushes(&p, 0, 3);
	add_raw(&p, "?what\r\n");
	run(&p, got_close);
	assert_true(p.closed);
	assert_int_equal(p.pushes, 3);
	assert_non_null(strstr(p.why, "protocol error from Redis"));
	peer_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_whole_in_order),
		cmocka_unit_test(close_after_burst_told_last),
		cmocka_unit_test(pull_reads_hands_out_later),
		cmocka_unit_test(protocol_error_closes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
