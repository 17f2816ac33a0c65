/* lib/backoff.c - exponential backoff with jitter (see backoff.h). */
#include "revenge/backoff.h"

#include <math.h>

/* xorshift64*: small, fast, good enough to spread clients apart. */
static double next_unit(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return (double)((x * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

double rv_backoff_delay(struct rv_backoff *b, unsigned attempt)
{
	double d = b->base_ms * ldexp(1.0, attempt > 60 ? 60 : (int)attempt);
	double j = b->jitter < 0 ? 0 : b->jitter > 1 ? 1 : b->jitter;

	if (!(d <= b->max_ms))
		d = b->max_ms;
	return d - d * j * next_unit(&b->rng);
}
