/* lib/reload.c - a SIGHUP's configuration reload (reload.h): which of the
 * server's settings change while it serves, which need a restart, and the
 * log line for each. The table below is the whole policy.
 */
#include "reload.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

enum kind { K_UINT, K_SIZE, K_MS };

/* A setting that can change live, by the flag it comes from. "when" says
 * what the new value reaches. */
struct live_field {
	const char *key;
	size_t off;
	enum kind kind;
	const char *when;
};

#define F(key, field, kind, when) { key, offsetof(struct rv_server_config, field), kind, when }

static const struct live_field live_fields[] = {
	F("max-parties", max_parties, K_UINT, "now"),
	F("max-members", max_members, K_UINT, "now"),
	F("max-sessions", max_sessions, K_UINT, "now"),
	F("max-sessions-per-owner", max_sessions_per_owner, K_UINT, "now"),
	F("max-conns-per-ip", max_conns_per_ip, K_UINT, "now"),
	F("queue-max", queue_max, K_SIZE, "now"),
	F("message-timeout", message_timeout, K_UINT, "now"),
	F("partial-budget", partial_budget, K_SIZE, "now"),
	F("auth-leeway", auth_leeway_s, K_MS, "now"),
	F("history", history, K_UINT, "parties made from now on"),
	F("party-chat-rate", party_chat_rate, K_UINT, "parties made from now on"),
	F("party-join-rate", party_join_rate, K_UINT, "parties made from now on"),
	F("lead-min", lead_min_ms, K_MS, "parties made from now on"),
	F("lead-max", lead_max_ms, K_MS, "parties made from now on"),
	F("ready-timeout", ready_timeout_ms, K_MS, "parties made from now on"),
	F("rebuffer-timeout", rebuffer_timeout_ms, K_MS, "parties made from now on"),
	F("presence-batch-above", presence_batch_above, K_UINT, "parties made from now on"),
	F("presence-interval", presence_interval_ms, K_MS, "parties made from now on"),
	F("drift-interval", drift_interval_ms, K_UINT, "parties made from now on"),
};

/* Settings read once at start, by the flag they come from. */
struct fixed_field {
	const char *key;
	size_t off;
	enum kind kind;
};

#define X(key, field, kind) { key, offsetof(struct rv_server_config, field), kind }

static const struct fixed_field fixed_fields[] = {
	X("port", port, K_UINT),      /* int, compared as its bits */
	X("max-message", max_message, K_SIZE),
	X("ping-interval", ping_interval, K_UINT),
	X("rate-limit", rate_limit, K_UINT),
	X("frame-rate", frame_rate, K_UINT),
	X("handshake-rate-per-ip", handshake_rate_per_ip, K_UINT),
	X("handshake-timeout", handshake_timeout, K_UINT),
	X("session-ttl", session_ttl_s, K_UINT),
	X("max-stored-per-owner", max_stored_per_owner, K_UINT),
};

static void value(const void *cfg, size_t off, enum kind kind, char *out, size_t len)
{
	const char *p = (const char *)cfg + off;

	if (kind == K_UINT)
		snprintf(out, len, "%u", *(const unsigned *)(const void *)p);
	else if (kind == K_SIZE)
		snprintf(out, len, "%zu", *(const size_t *)(const void *)p);
	else
		snprintf(out, len, "%.0f", *(const double *)(const void *)p);
}

static size_t width(enum kind kind)
{
	return kind == K_UINT ? sizeof(unsigned) : kind == K_SIZE ? sizeof(size_t) : sizeof(double);
}

static bool str_differs(const char *a, const char *b)
{
	return !a != !b || (a && strcmp(a, b));
}

static bool list_differs(const char *const *a, unsigned na, const char *const *b, unsigned nb)
{
	if (na != nb)
		return true;
	for (unsigned i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return true;
	return false;
}

static bool ladder_differs(const struct rv_ladder *a, const struct rv_ladder *b)
{
	if (a->n != b->n)
		return true;
	for (unsigned i = 0; i < a->n; i++)
		if (a->p[i].kbps != b->p[i].kbps || strcmp(a->p[i].name, b->p[i].name))
			return true;
	return false;
}

static void restart_needed(const struct rv_log *log, const char *key)
{
	rv_log(log, RV_LOG_WARN, "config_restart_needed",
	       "%s: changed in the configuration; it takes effect at the next restart", key);
}

unsigned rv__reload_apply(struct rv_server_config *live, const struct rv_server_config *next,
			  const struct rv_log *log)
{
	unsigned changed = 0;
	char was[64], now[64];

	for (size_t i = 0; i < sizeof(live_fields) / sizeof(live_fields[0]); i++) {
		const struct live_field *f = &live_fields[i];
		char *dst = (char *)live + f->off;
		const char *src = (const char *)next + f->off;

		if (!memcmp(dst, src, width(f->kind)))
			continue;
		value(live, f->off, f->kind, was, sizeof(was));
		value(next, f->off, f->kind, now, sizeof(now));
		memcpy(dst, src, width(f->kind));
		rv_log(log, RV_LOG_INFO, "config_changed", "%s: %s -> %s (%s)", f->key, was, now,
		       f->when);
		changed++;
	}
	for (size_t i = 0; i < sizeof(fixed_fields) / sizeof(fixed_fields[0]); i++) {
		const struct fixed_field *f = &fixed_fields[i];

		if (memcmp((const char *)live + f->off, (const char *)next + f->off, width(f->kind)))
			restart_needed(log, f->key);
	}
	if (list_differs(live->origins, live->n_origins, next->origins, next->n_origins)) {
		memcpy(live->origins, next->origins, sizeof(live->origins));
		live->n_origins = next->n_origins;
		rv_log(log, RV_LOG_INFO, "config_changed", "origin: %u pattern(s) (now)",
		       next->n_origins);
		changed++;
	}
	if (list_differs(live->allowed_hosts, live->n_allowed_hosts, next->allowed_hosts,
			 next->n_allowed_hosts)) {
		memcpy(live->allowed_hosts, next->allowed_hosts, sizeof(live->allowed_hosts));
		live->n_allowed_hosts = next->n_allowed_hosts;
		rv_log(log, RV_LOG_INFO, "config_changed", "allowed-host: %u pattern(s) (now)",
		       next->n_allowed_hosts);
		changed++;
	}
	/* TLS: new paths are what the reload that follows loads; turning it
	 * on or off changes the listener */
	if (!live->tls_cert != !next->tls_cert) {
		restart_needed(log, "tls-cert");
	} else if (live->tls_cert && (str_differs(live->tls_cert, next->tls_cert) ||
				      str_differs(live->tls_key, next->tls_key))) {
		live->tls_cert = next->tls_cert;
		live->tls_key = next->tls_key;
		rv_log(log, RV_LOG_INFO, "config_changed", "tls-cert, tls-key: %s, %s (loaded now)",
		       next->tls_cert, next->tls_key);
		changed++;
	}
	if (str_differs(live->host, next->host))
		restart_needed(log, "listen");
	if (str_differs(live->db_path, next->db_path))
		restart_needed(log, "db");
	if (live->fsync != next->fsync)
		restart_needed(log, "fsync");
	if (live->insecure_open != next->insecure_open)
		restart_needed(log, "insecure-open");
	if (str_differs(live->redis_url, next->redis_url))
		restart_needed(log, "redis");
	if (str_differs(live->redis_ca, next->redis_ca))
		restart_needed(log, "redis-ca");
	if (str_differs(live->redis_cert, next->redis_cert) ||
	    str_differs(live->redis_key, next->redis_key))
		restart_needed(log, "redis-cert, redis-key");
	if (ladder_differs(&live->ladder, &next->ladder))
		restart_needed(log, "ladder");
	return changed;
}
