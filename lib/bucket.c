/* lib/bucket.c - the token bucket (see bucket.h).
 *
 * Owns nothing but the arithmetic: no clock, no allocation, so every rate
 * limit in the server behaves alike and is tested without a server.
 */
#include "bucket.h"

#include <math.h>

/* x, or 0 for a negative or NaN x (a NaN fails every comparison). */
static double nonneg(double x)
{
	return x > 0 ? x : 0;
}

void rv__bucket_init(struct rv__bucket *b, double rate, double burst, double now_ms)
{
	b->rate = nonneg(rate);
	b->burst = nonneg(burst);
	b->tokens = b->burst;
	b->at = now_ms;
}

bool rv__bucket_take(struct rv__bucket *b, double now_ms)
{
	return rv__bucket_take_n(b, 1, now_ms);
}

bool rv__bucket_take_n(struct rv__bucket *b, double n, double now_ms)
{
	double elapsed = now_ms - b->at;

	/* Only a strictly positive elapsed refills (a NaN fails the test),
	 * and the refill is compared with the room left rather than added
	 * first, so a huge elapsed or rate, even an infinite product, only
	 * fills the bucket; a NaN product (infinity times a zero rate) adds
	 * nothing. No NaN can reach tokens. */
	if (elapsed > 0) {
		double add = nonneg(elapsed / 1000.0 * b->rate);
		double room = b->burst - b->tokens;

		b->tokens = add >= room ? b->burst : b->tokens + add;
		b->at = now_ms;
	} else if (b->at != b->at && now_ms == now_ms) {
		b->at = now_ms;         /* started at a NaN time: anchor here */
	}
	/* a NaN or negative n takes nothing and is refused */
	if (!(n >= 0) || b->tokens < n)
		return false;
	b->tokens -= n;
	return true;
}

double rv__bucket_wait_ms(const struct rv__bucket *b)
{
	if (b->tokens >= 1)
		return 0;
	if (!(b->rate > 0) || !(b->burst >= 1))
		return INFINITY;
	return (1 - b->tokens) / b->rate * 1000.0;
}

unsigned rv__bucket_retry_s(double wait_ms)
{
	double s = wait_ms / 1000.0;

	if (!(s < 60))
		return 60;
	return s <= 1 ? 1 : (unsigned)ceil(s);
}
