/* lib/store_health.h - internal: is the store working, and when to say so
 * in the log.
 *
 * A pure state machine, no I/O and no clock of its own: the caller passes
 * the time of each outcome and logs what it is told to. A store that fails
 * (a full disk, a read-only or vanished file) fails on every write, often
 * many times a second; the log gets one line when it starts failing, at
 * most one line every `every_ms` while it goes on (with how many failures
 * that line stands for), and one line when a write works again.
 */
#ifndef REVENGE_STORE_HEALTH_H
#define REVENGE_STORE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

/* What to log after an outcome. */
enum rv__store_event {
	RV__STORE_QUIET = 0,          /* nothing */
	RV__STORE_FAILING,            /* it worked, now it failed: store_failing */
	RV__STORE_STILL_FAILING,      /* store_still_failing, with a count */
	RV__STORE_RECOVERED,          /* a write worked after failures: store_recovered */
};

struct rv__store_health {
	double every_ms;              /* still_failing at most this often */
	bool failing;
	double since_ms;              /* first failure of this run of failures */
	double logged_ms;             /* last line logged for it */
	uint64_t failures;            /* in this run of failures */
	uint64_t unlogged;            /* of them, since the last line */
};

/* What the caller logs, filled with the event. */
struct rv__store_note {
	enum rv__store_event event;
	uint64_t count;               /* STILL_FAILING: failures since the last line;
				       * RECOVERED: failures of the whole run */
	double for_ms;                /* STILL_FAILING, RECOVERED: time since the first */
};

/* A healthy store; every_ms 0 logs every failure. */
void rv__store_health_init(struct rv__store_health *h, double every_ms);

/* An operation failed at now_ms (server time, not decreasing). */
struct rv__store_note rv__store_health_fail(struct rv__store_health *h, double now_ms);

/* A write worked at now_ms: the store is healthy again. Only writes
 * count: a read that works says nothing about space or permissions. */
struct rv__store_note rv__store_health_ok(struct rv__store_health *h, double now_ms);

#endif
