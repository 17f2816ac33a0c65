/* lib/store_watch.h - internal: the hub's side of store failures, shared by
 * the endpoints that use the store (progress, stream).
 *
 * Every store outcome that matters goes through here, so the count by
 * operation, the store's state (/healthz, revenge_store_up) and the
 * rate-limited log lines (store_health.h decides when) stay in one place.
 */
#ifndef REVENGE_STORE_WATCH_H
#define REVENGE_STORE_WATCH_H

#include "revenge/metrics.h"

struct rv__hub;

/* Seconds between store_still_failing lines while the store keeps failing. */
#define RV__STORE_LOG_EVERY_S 10

/* The server opened a store (state ok; without one it stays "none"). */
void rv__store_watch_start(struct rv__hub *hub);

/* op failed; what says on what (a session id, "3 report(s)"), why is the
 * reason (a copy of the failing connection's last error: the writes run on
 * a connection of their own, store_writer.h). Counted, and logged when
 * store_health says. */
void rv__store_watch_failed(struct rv__hub *hub, enum rv_metric_store_op op, const char *what,
			    const char *why);

/* A write worked: the store is up again (logged once after failures). */
void rv__store_watch_ok(struct rv__hub *hub);

#endif
