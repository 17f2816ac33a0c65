/* lib/store_health.c - is the store working, and when to say so in the log
 * (store_health.h): the rate limit on store_failing, store_still_failing
 * and store_recovered. Pure: the caller supplies the time and does the
 * logging, so every branch is tested without a clock or a disk.
 */
#include "store_health.h"

void rv__store_health_init(struct rv__store_health *h, double every_ms)
{
	*h = (struct rv__store_health){ .every_ms = every_ms > 0 ? every_ms : 0 };
}

struct rv__store_note rv__store_health_fail(struct rv__store_health *h, double now_ms)
{
	struct rv__store_note n = { RV__STORE_QUIET, 0, 0 };

	if (!h->failing) {
		h->failing = true;
		h->since_ms = h->logged_ms = now_ms;
		h->failures = 1;
		h->unlogged = 0;
		n.event = RV__STORE_FAILING;
		n.count = 1;
		return n;
	}
	h->failures++;
	h->unlogged++;
	/* A clock that went backwards (it should not) must not silence the
	 * log for good: treat it as time enough. */
	if (now_ms - h->logged_ms >= h->every_ms || now_ms < h->logged_ms) {
		n.event = RV__STORE_STILL_FAILING;
		n.count = h->unlogged;
		n.for_ms = now_ms - h->since_ms;
		h->logged_ms = now_ms;
		h->unlogged = 0;
	}
	return n;
}

struct rv__store_note rv__store_health_ok(struct rv__store_health *h, double now_ms)
{
	struct rv__store_note n = { RV__STORE_QUIET, 0, 0 };

	if (!h->failing)
		return n;
	n.event = RV__STORE_RECOVERED;
	n.count = h->failures;
	n.for_ms = now_ms - h->since_ms;
	h->failing = false;
	h->failures = h->unlogged = 0;
	return n;
}
