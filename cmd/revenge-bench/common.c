/* cmd/revenge-bench/common.c - what the scenarios share beyond their
 * options (common.h): Ctrl-C during a run, the live line's clock, the
 * words for why a connection ended, reading a string out of a message
 * without parsing it, and writing a peer's words into the JSON output.
 */
#include "common.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <revenge/revenge.h>

static void on_sigint(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct bench_interrupt *bi = w->data;

	bi->hit = true;
	bi->t = (double)rv_time_mono_ns() / 1e9;
	ev_signal_stop(loop, w);
	bi->stop(bi->arg);
}

void bench_interrupt_start(struct bench_interrupt *bi, struct ev_loop *loop,
			   void (*stop)(void *arg), void *arg)
{
	bi->hit = false;
	bi->stop = stop;
	bi->arg = arg;
	ev_signal_init(&bi->w, on_sigint, SIGINT);
	bi->w.data = bi;
	ev_signal_start(loop, &bi->w);
}

void bench_interrupt_stop(struct bench_interrupt *bi, struct ev_loop *loop)
{
	ev_signal_stop(loop, &bi->w);
}

void bench_clock_text(char *buf, size_t size, double elapsed, double duration)
{
	if (elapsed > duration)
		elapsed = duration;
	snprintf(buf, size, "%5.1fs elapsed, %5.1fs left", elapsed, duration - elapsed);
}

/* Control characters (a peer's, bound for a terminal) as spaces, in place. */
static void spaces_for_controls(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

void bench_close_reason(char *buf, size_t size, int code, int status, const char *reason)
{
	char http[24];
	size_t hl;

	if (!reason)
		reason = "";
	/* libwebsockets' reason for a refused handshake may itself be
	 * "HTTP 503": said once */
	hl = (size_t)snprintf(http, sizeof(http), "HTTP %d", status);
	if (status && !strncmp(reason, http, hl))
		reason += hl;
	while (status && *reason == ' ')
		reason++;
	if (status)
		snprintf(buf, size, "refused: HTTP %d%s%s", status, *reason ? " " : "", reason);
	else if (code)
		snprintf(buf, size, "closed by server: %d %s", code, reason);
	else
		snprintf(buf, size, "cannot connect: %s", reason);
	spaces_for_controls(buf);
}

/* Four hex digits at p (before end): their value, or -1. */
static long hex4(const char *p, const char *end)
{
	long v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)p[i], d = c >= '0' && c <= '9' ? c - '0' :
			c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

void bench_scan_str(const char *text, size_t len, const char *key, char *out, size_t outlen)
{
	char k[32];
	int kl = snprintf(k, sizeof(k), "\"%s\":\"", key);
	const char *p = memmem(text, len, k, (size_t)kl), *end = text + len;
	size_t j = 0;

	if (p) {
		for (p += kl; p < end && *p != '"' && j < outlen - 1; p++) {
			unsigned char c = (unsigned char)*p;
			long u;

			if (c < 0x20 || c == 0x7f)
				continue;   /* not JSON: dropped */
			if (c != '\\') {
				out[j++] = (char)c;
				continue;
			}
			if (++p >= end)
				break;
			switch (*p) {
			case '"': case '\\': case '/':
				out[j++] = *p;
				break;
			case 'u':
				u = hex4(p + 1, end);
				if (u < 0)
					break;
				p += 4;
				if (u < 0x20 || u == 0x7f)
					out[j++] = ' ';
				else if (u < 0x80)
					out[j++] = (char)u;
				else if (u < 0x800 && j + 2 < outlen) {
					out[j++] = (char)(0xc0 | u >> 6);
					out[j++] = (char)(0x80 | (u & 0x3f));
				} else if ((u < 0xd800 || u > 0xdfff) && u >= 0x800 && j + 3 < outlen) {
					out[j++] = (char)(0xe0 | u >> 12);
					out[j++] = (char)(0x80 | (u >> 6 & 0x3f));
					out[j++] = (char)(0x80 | (u & 0x3f));
				} else {
					out[j++] = '?';   /* a surrogate half, or no room */
				}
				break;
			default:
				out[j++] = ' ';   /* \n, \t, ...: one line for the table */
			}
		}
	}
	out[j] = 0;
}

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0. */
static int utf8_len(const unsigned char *s)
{
	int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;

	if (s[0] >= 0xf5 || (s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;   /* overlong, a surrogate, past U+10FFFF */
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void bench_json_str(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	while (*p) {
		int n;

		if (*p == '"' || *p == '\\') {
			fputc('\\', out);
			fputc(*p++, out);
		} else if (*p < 0x20 || *p == 0x7f) {
			fprintf(out, "\\u%04x", *p++);
		} else if (*p < 0x80) {
			fputc(*p++, out);
		} else if ((n = utf8_len(p))) {
			fwrite(p, 1, (size_t)n, out);
			p += n;
		} else {
			fputs("\\ufffd", out);   /* not UTF-8: JSON cannot carry it */
			p++;
		}
	}
	fputc('"', out);
}
