/* lib/store_watch.c - the hub's side of store failures (store_watch.h):
 * counts them by operation, keeps the state /healthz and revenge_store_up
 * show, and writes the log lines store_health.c decides on. The endpoints
 * decide what a failure means for their clients.
 */
#include "store_watch.h"

#include "revenge/log.h"
#include "revenge/store.h"

#include "conn.h"

static const char *const op_names[RV_METRIC_N_STORE_OPS] = { RV_METRIC_STORE_OPS };

void rv__store_watch_start(struct rv__hub *hub)
{
	rv__store_health_init(&hub->store_health, RV__STORE_LOG_EVERY_S * 1000.0);
	hub->metrics.store_state = RV_STORE_STATE_OK;
}

void rv__store_watch_failed(struct rv__hub *hub, enum rv_metric_store_op op, const char *what,
			    const char *why)
{
	struct rv__store_note n;
	const char *name = "?";

	if ((unsigned)op < RV_METRIC_N_STORE_OPS) {
		hub->metrics.store_errors[op]++;
		name = op_names[op];
	}
	/* A read that fails says the file is in trouble too (corrupt, gone),
	 * so it marks the store failing; only a write clears that. */
	hub->metrics.store_state = RV_STORE_STATE_FAILING;
	n = rv__store_health_fail(&hub->store_health, rv__hub_now(hub));
	if (n.event == RV__STORE_FAILING)
		rv_log(hub->log, RV_LOG_ERROR, "store_failing", "%s %s: %s; progress reports are"
		       " refused until a write works", name, what, why);
	else if (n.event == RV__STORE_STILL_FAILING)
		rv_log(hub->log, RV_LOG_ERROR, "store_still_failing", "%llu failure(s) since the"
		       " last line, for %.0f s; last: %s %s: %s", (unsigned long long)n.count,
		       n.for_ms / 1000.0, name, what, why);
}

void rv__store_watch_ok(struct rv__hub *hub)
{
	struct rv__store_note n = rv__store_health_ok(&hub->store_health, rv__hub_now(hub));

	hub->metrics.store_state = RV_STORE_STATE_OK;
	if (n.event == RV__STORE_RECOVERED)
		rv_log(hub->log, RV_LOG_INFO, "store_recovered", "writes work again after %llu"
		       " failure(s) in %.0f s", (unsigned long long)n.count, n.for_ms / 1000.0);
}
