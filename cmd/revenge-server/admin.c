/* cmd/revenge-server/admin.c - `revenge-server admin`: the admin API's
 * client (docs/admin.md). One plain-HTTP request to the --metrics-listen
 * address, with an admin token, and its JSON answer printed.
 *
 * It lives in revenge-server rather than revenge-probe because it speaks
 * to the server's operator side, next to `token --admin` that mints its
 * token: an operator on the server's machine has both in one command. The
 * HTTP is a few lines over a socket: the metrics address is plain HTTP by
 * design (a private address), one request per run, answers bounded.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <revenge/revenge.h>

#include "admin_cmd.h"
#include "cli.h"

#define PROG "revenge-server admin"
#define ANSWER_MAX (16u << 20)  /* 16 MiB: thousands of parties */

static const char usage_text[] =
"Usage: revenge-server admin [OPTIONS] URL list\n"
"       revenge-server admin [OPTIONS] URL show PARTY\n"
"       revenge-server admin [OPTIONS] URL close PARTY\n"
"       revenge-server admin [OPTIONS] URL remove PARTY MEMBER\n"
"\n"
"Ask the admin API of a revenge-server on its metrics address (the one its\n"
"metrics-listen setting gives; URL: http://HOST:PORT, or HOST:PORT) and print\n"
"its JSON answer:\n"
"  list                  the live parties: id, members, host, playback state\n"
"  show PARTY            one party with its members: id, name, role, address\n"
"  close PARTY           close every member (close code 4410)\n"
"  remove PARTY MEMBER   close one member, named by its id or its display\n"
"                        name (close code 4403)\n"
"\n"
"Options:\n"
"  --token TOKEN         an admin token (see revenge-server token --help)\n"
"  --token-file FILE     read the token from FILE\n"
"                        (else $REVENGE_TOKEN)\n"
"  --timeout SECS        give up after SECS seconds (default 10, 1-300)\n"
"  -h, --help            show this help and exit\n"
"\n"
"Exit status: 0 when the server answered 2xx, 1 when it answered an error\n"
"(its message on stderr) or cannot be reached, 2 on a usage error.\n";

enum { OPT_TOKEN = 256, OPT_TOKEN_FILE, OPT_TIMEOUT };

static const struct option long_opts[] = {
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

#define usage_error(...) cli_usage_error(PROG, __VA_ARGS__)

/* http://HOST:PORT[/] or HOST:PORT, [V6]:PORT: host and port. */
static void parse_url(const char *url, char *host, size_t host_len, char *port, size_t port_len)
{
	const char *p = url, *h, *colon, *end;
	size_t hl;

	if (!strncmp(p, "https://", 8))
		usage_error("URL: the metrics address speaks plain HTTP (http://), got '%s'", url);
	if (!strncmp(p, "http://", 7))
		p += 7;
	end = p + strcspn(p, "/");
	if (*end && strcmp(end, "/"))
		usage_error("URL: expected http://HOST:PORT with no path, got '%s'", url);
	if (*p == '[') {
		h = p + 1;
		colon = memchr(p, ']', (size_t)(end - p));
		if (!colon || colon[1] != ':')
			usage_error("URL: expected http://[IPV6]:PORT, got '%s'", url);
		hl = (size_t)(colon - h);
		colon++;
	} else {
		h = p;
		colon = memchr(p, ':', (size_t)(end - p));
		if (!colon)
			usage_error("URL: expected http://HOST:PORT, got '%s'", url);
		hl = (size_t)(colon - h);
	}
	if (!hl || hl >= host_len || (size_t)(end - colon - 1) >= port_len || end == colon + 1)
		usage_error("URL: expected http://HOST:PORT, got '%s'", url);
	memcpy(host, h, hl);
	host[hl] = 0;
	memcpy(port, colon + 1, (size_t)(end - colon - 1));
	port[end - colon - 1] = 0;
	cli_uint(PROG, "URL port", port, 1, 65535);
}

/* s percent-encoded as one path segment (all but A-Z a-z 0-9 - _ . ~). */
static void encode(const char *s, char *out, size_t out_len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *s && n + 4 < out_len; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.~", ch)) {
			out[n++] = (char)ch;
		} else {
			out[n++] = '%';
			out[n++] = hex[ch >> 4];
			out[n++] = hex[ch & 15];
		}
	}
	out[n] = 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait for events on fd until deadline: true when they came. */
static bool wait_fd(int fd, short events, double deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	double left;
	int n;

	do {
		left = deadline - now_s();
		if (left <= 0)
			return false;
		n = poll(&p, 1, (int)(left * 1000) + 1);
	} while (n < 0 && errno == EINTR);
	return n > 0;
}

/* Connect to host:port before deadline: the socket, or -1 with why. */
static int dial(const char *host, const char *port, double deadline, char *why, size_t why_len)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, gai, err = 0;
	socklen_t el = sizeof(err);

	if ((gai = getaddrinfo(host, port, &hints, &res))) {
		snprintf(why, why_len, "%s: %s", host, gai_strerror(gai));
		return -1;
	}
	snprintf(why, why_len, "cannot connect to %s:%s", host, port);
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen) ||
		    (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) &&
		     !getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) && !err))
			break;
		snprintf(why, why_len, "cannot connect to %s:%s: %s", host, port,
			 err ? strerror(err) : errno == EINPROGRESS ? "timed out" : strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Send req and read the whole answer (the server closes after it) into a
 * new buffer (*out, NUL-terminated, caller frees): its length, or -1 with
 * why. */
static long exchange(int fd, const char *req, double deadline, char **out, char *why,
		     size_t why_len)
{
	size_t len = strlen(req), sent = 0, cap = 65536, got = 0;
	char *buf;
	ssize_t n;

	while (sent < len) {
		if (!wait_fd(fd, POLLOUT, deadline)) {
			snprintf(why, why_len, "timed out sending the request");
			return -1;
		}
		n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			snprintf(why, why_len, "send: %s", strerror(errno));
			return -1;
		}
		sent += n > 0 ? (size_t)n : 0;
	}
	if (!(buf = malloc(cap + 1))) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	for (;;) {
		if (!wait_fd(fd, POLLIN, deadline)) {
			snprintf(why, why_len, "timed out waiting for the answer");
			free(buf);
			return -1;
		}
		n = recv(fd, buf + got, cap - got, 0);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			snprintf(why, why_len, "recv: %s", strerror(errno));
			free(buf);
			return -1;
		}
		got += (size_t)n;
		if (got == cap) {
			char *more;

			if (cap >= ANSWER_MAX) {
				snprintf(why, why_len, "the answer is over %u bytes", ANSWER_MAX);
				free(buf);
				return -1;
			}
			cap *= 2;
			if (!(more = realloc(buf, cap + 1))) {
				snprintf(why, why_len, "out of memory");
				free(buf);
				return -1;
			}
			buf = more;
		}
	}
	buf[got] = 0;
	*out = buf;
	return (long)got;
}

int admin_main(int argc, char **argv)
{
	const char *token_flag = NULL, *token_file = NULL, *token, *op, *method = "GET";
	char token_buf[CLI_TOKEN_BUF], host[256], port[8], path[600], a[200], b[200], why[300];
	char *req = NULL, *answer = NULL, *body;
	double timeout = 10, deadline;
	int opt, fd, status = 0, rc = 1;
	long len;
	json_t *j;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":hV", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_TOKEN:
			token_flag = optarg;
			break;
		case OPT_TOKEN_FILE:
			token_file = optarg;
			break;
		case OPT_TIMEOUT:
			timeout = (double)cli_uint(PROG, "--timeout", optarg, 1, 300);
			break;
		default:
			cli_common_opt(PROG, usage_text, opt, argv);
		}
	}
	if (argc - optind < 2)
		usage_error("expected URL and a command (list, show, close, remove)");
	parse_url(argv[optind], host, sizeof(host), port, sizeof(port));
	op = argv[optind + 1];
	argc -= optind + 2;
	argv += optind + 2;
	if (!strcmp(op, "list")) {
		if (argc)
			usage_error("list: unexpected argument '%s'", argv[0]);
		snprintf(path, sizeof(path), "/admin/parties");
	} else if (!strcmp(op, "show") || !strcmp(op, "close")) {
		if (argc != 1)
			usage_error("%s: expected one PARTY", op);
		if (!rv_proto_valid_id(argv[0], strlen(argv[0])))
			usage_error("%s: a party id is 1-64 characters of A-Z a-z 0-9 _ -, got '%s'",
				    op, argv[0]);
		snprintf(path, sizeof(path), "/admin/parties/%s%s", argv[0],
			 op[0] == 'c' ? "/close" : "");
		method = op[0] == 'c' ? "POST" : "GET";
	} else if (!strcmp(op, "remove")) {
		if (argc != 2)
			usage_error("remove: expected PARTY and MEMBER");
		if (!rv_proto_valid_id(argv[0], strlen(argv[0])))
			usage_error("remove: a party id is 1-64 characters of A-Z a-z 0-9 _ -, got '%s'",
				    argv[0]);
		if (!*argv[1] || strlen(argv[1]) > 128)
			usage_error("remove: MEMBER is a member id or a display name");
		encode(argv[0], a, sizeof(a));
		encode(argv[1], b, sizeof(b));
		snprintf(path, sizeof(path), "/admin/parties/%s/members/%s/remove", a, b);
		method = "POST";
	} else {
		usage_error("unknown command '%s' (list, show, close, remove)", op);
	}
	token = cli_token(PROG, token_flag, token_file, token_buf);
	if (!token)
		usage_error("an admin token is required: --token, --token-file or $REVENGE_TOKEN");

	if (asprintf(&req, "%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nAuthorization: Bearer %s\r\n"
		     "Accept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		     method, path, strchr(host, ':') ? "[" : "", host,
		     strchr(host, ':') ? "]" : "", port, token) < 0) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	deadline = now_s() + timeout;
	fd = dial(host, port, deadline, why, sizeof(why));
	len = fd < 0 ? -1 : exchange(fd, req, deadline, &answer, why, sizeof(why));
	if (fd >= 0)
		close(fd);
	free(req);
	if (len < 0) {
		fprintf(stderr, PROG ": %s\n", why);
		return 1;
	}
	body = strstr(answer, "\r\n\r\n");
	if (strncmp(answer, "HTTP/1.", 7) || sscanf(answer + 8, " %d", &status) != 1 || !body) {
		fprintf(stderr, PROG ": %s:%s did not answer HTTP\n", host, port);
		goto out;
	}
	body += 4;
	j = json_loads(body, 0, NULL);
	if (status >= 200 && status < 300 && j) {
		char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		if (text)
			puts(text);
		free(text);
		rc = text ? 0 : 1;
	} else if (j && json_is_string(json_object_get(j, "message"))) {
		fprintf(stderr, PROG ": %d %s: %s\n", status,
			json_string_value(json_object_get(j, "error")) ?
			json_string_value(json_object_get(j, "error")) : "error",
			json_string_value(json_object_get(j, "message")));
	} else {
		/* not the admin API's JSON: a server without --metrics-listen's
		 * API, or something else at that address */
		fprintf(stderr, PROG ": %d: %.200s%s\n", status, body,
			status == 404 ? " (is URL the server's --metrics-listen address?)" : "");
	}
	json_decref(j);
out:
	free(answer);
	return rc;
}
