/* lib/drift.h - internal: members' drift from the party clock (pure).
 *
 * Members report where their player is (`status`); drift.c turns each
 * report into the member's drift, in ms, from the party's position at the
 * instant the report is about, keeps it on the member (struct rv_member's
 * drift fields), and every drift_interval_ms, when something changed,
 * builds the host's `drift` report: the RV__DRIFT_REPORT_MAX members
 * furthest out of sync, buffering ones first. party.c owns the party and
 * calls in here, one line per event; nothing here reads a clock.
 */
#ifndef REVENGE_DRIFT_H
#define REVENGE_DRIFT_H

#include <stdbool.h>

#include "revenge/party.h"

/* Members listed in one drift report at most: a 1000-member party costs
 * its host one bounded message per interval, not a 1000-entry one. */
#define RV__DRIFT_REPORT_MAX 64
/* A report is new (worth sending) when a member's drift or clock error
 * moved by this much (ms), or its buffering flag or presence changed. */
#define RV__DRIFT_CHANGE_MS 1.0
/* Statuses about the first this-many ms after a state took effect are not
 * taken: players that apply a state on receipt (no lead) or seek to it
 * land a little late, and that is not the drift the host cares about. */
#define RV__DRIFT_SETTLE_MS 500.0

struct rv__drift {
	double interval_ms;          /* 0: no reports (drift is still measured) */
	double due;                  /* next report, INFINITY when none is due */
	double last_report;          /* -INFINITY before the first */
	bool changed;                /* since the last report */
	unsigned reported;           /* present members with a status taken */
	/* who got the last report: a new host is owed one (noticed at the
	 * next status, so within a second of a hand-over) */
	char host_id[RV_MEMBER_ID_MAX + 1];
	/* The party's state as last seen by a status, and the one before it:
	 * a state stamped in the future (a scheduled command) is pending
	 * until its server_time, and a status about an instant before that
	 * is measured against the state before it. */
	struct rv_playback seen, prev;
	bool has_seen, has_prev;
};

void rv__drift_init(struct rv__drift *d, double interval_ms);

/* Take member m's status s, received at now_ms, against the party state
 * st; host is the party's (NULL: none). Returns true with *drift_ms (may
 * be NULL) when the status was counted (a drift measured: the histogram's
 * observation); false when it was taken as buffering (buffering, or its
 * playing flag disagrees with the state in force) or skipped (about an
 * instant within RV__DRIFT_SETTLE_MS of a state change, or under a pending
 * state whose predecessor is unknown). */
bool rv__drift_status(struct rv__drift *d, struct rv_member *m,
		      const struct rv_member *host, const struct rv_playback *st,
		      const struct rv_msg *s, double now_ms, double *drift_ms);

/* Cluster mode: m's entry as its own node measured it (another node's
 * report): buffering, or drift_ms; clock_error_ms NAN when none. */
void rv__drift_remote(struct rv__drift *d, struct rv_member *m, bool buffering, double drift_ms,
		      double clock_error_ms, double now_ms);
/* m leaves: its entry goes (a change when it had one). */
void rv__drift_leave(struct rv__drift *d, const struct rv_member *m, double now_ms);

/* When the next report falls due (INFINITY: none). */
double rv__drift_deadline(const struct rv__drift *d);

/* At or after the deadline: the report for the host (a new frame, the
 * caller's), built from the members from first on in one pass, or NULL
 * when nothing is due, there is no host, or out of memory. Clears the
 * change either way. */
struct rv_frame *rv__drift_tick(struct rv__drift *d, const struct rv_member *first,
				const struct rv_member *host, double now_ms);

#endif
