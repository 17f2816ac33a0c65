/* lib/bucket.h - internal: a token bucket, pure.
 *
 * The one shape of rate limit in the server: a connection's --rate-limit
 * (server.c) and a party's --party-chat-rate (party.c) are each a bucket of
 * up to `burst` tokens that refills at `rate` tokens a second; a message
 * that finds a whole token takes it, one that does not is refused. The
 * caller hands in the time (ms, any monotonic origin, e.g. server time):
 * the bucket reads no clock, so its tests need no waiting.
 */
#ifndef REVENGE_BUCKET_H
#define REVENGE_BUCKET_H

#include <stdbool.h>

/* The handshake rates (--handshake-rate-per-ip, --party-join-rate) allow
 * bursts of this many seconds' worth: a party's members reconnecting
 * together after a restart all get in at once. */
#define RV__BUCKET_ADMIT_BURST_S 10

struct rv__bucket {
	double rate;            /* tokens per second; <= 0: never refills */
	double burst;           /* most tokens held */
	double tokens;          /* held at `at` */
	double at;              /* time of the last refill, ms */
};

/* Start b full (burst tokens) at now_ms. rate and burst are taken as they
 * are; a negative or NaN one counts as 0 (a NaN burst: never any token). */
void rv__bucket_init(struct rv__bucket *b, double rate, double burst, double now_ms);

/* Refill b for the time since its last refill, then take one token if a
 * whole one is there: true when taken. Time that runs backwards (or a NaN
 * now_ms) refills nothing and does not move the refill mark, so a later
 * call still refills from the last good instant; any elapsed time, however
 * large, refills at most to burst. */
bool rv__bucket_take(struct rv__bucket *b, double now_ms);

/* Milliseconds from b's last refill until a whole token is there, for a
 * refusal's Retry-After: 0 when one is there now, INFINITY when b never
 * refills (rate 0) or could never hold one (burst below 1). Call it right
 * after a refused rv__bucket_take, which refilled b to that instant. */
double rv__bucket_wait_ms(const struct rv__bucket *b);

/* A wait in ms as a Retry-After: whole seconds, rounded up, at least 1;
 * an infinite or NaN wait (or one over a minute) is 60, so that a client
 * told to wait does not come back at once. */
unsigned rv__bucket_retry_s(double wait_ms);

/* The same for n tokens at once (rx.c counts a read's frames together):
 * true when n whole tokens were there and are taken; otherwise none is
 * taken. A negative or NaN n is refused. */
bool rv__bucket_take_n(struct rv__bucket *b, double n, double now_ms);

#endif
