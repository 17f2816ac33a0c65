/* cmd/revenge-bench/common.c - what the scenarios share beyond their
 * options (common.h): Ctrl-C during a run, the live line's clock, the
 * words for why a connection ended, and reading a string out of a message
 * without parsing it.
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

void bench_close_reason(char *buf, size_t size, int code, int status, const char *reason)
{
	if (status)
		snprintf(buf, size, "refused: HTTP %d %s", status, reason);
	else if (code)
		snprintf(buf, size, "closed by server: %d %s", code, reason);
	else
		snprintf(buf, size, "cannot connect: %s", reason);
}

void bench_scan_str(const char *text, size_t len, const char *key, char *out, size_t outlen)
{
	char k[32];
	int kl = snprintf(k, sizeof(k), "\"%s\":\"", key);
	const char *p = memmem(text, len, k, (size_t)kl), *end = text + len;
	size_t j = 0;

	if (p)
		for (p += kl; p < end && *p != '"' && j < outlen - 1; p++)
			if (*p != '\\' && (unsigned char)*p >= 0x20)
				out[j++] = *p;
	out[j] = 0;
}
