/* lib/metrics.c - Prometheus text exposition of the server's counters plus
 * the standard process_* metrics read from /proc/self. */
#include "revenge/metrics.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include "revenge/error.h"
#include "revenge/version.h"

static const int close_codes[RV_METRIC_N_CLOSE_CODES] = { RV_METRIC_CLOSE_CODES };
static const int refused_status[RV_METRIC_N_REFUSED] = { RV_METRIC_REFUSED_STATUSES };
static const char *const auth_reasons[RV_METRIC_N_AUTH_REASONS] = { RV_METRIC_AUTH_REASONS };
static const char *const limits[RV_METRIC_N_LIMITS] = { RV_METRIC_LIMITS };
static const char *const store_ops[RV_METRIC_N_STORE_OPS] = { RV_METRIC_STORE_OPS };
static const char *const refusals[RV_METRIC_N_REFUSALS] = { RV_METRIC_REFUSALS };
static const char *const accept_errors[RV_METRIC_N_ACCEPT_ERRORS] = { RV_METRIC_ACCEPT_ERRORS };
static const double commit_bounds[RV_METRIC_N_COMMIT_BUCKETS] = { RV_METRIC_COMMIT_BUCKETS };
static const double drift_bounds[RV_METRIC_N_DRIFT_BUCKETS] = { RV_METRIC_DRIFT_BUCKETS };

void rv_metrics_commit(struct rv_metrics *m, double seconds)
{
	int i = 0;

	while (i < RV_METRIC_N_COMMIT_BUCKETS && seconds > commit_bounds[i])
		i++;
	m->commit_le[i]++;
	m->commit_count++;
	m->commit_seconds += seconds;
}

void rv_metrics_drift(struct rv_metrics *m, double abs_ms)
{
	int i = 0;

	while (i < RV_METRIC_N_DRIFT_BUCKETS && abs_ms > drift_bounds[i])
		i++;
	m->drift_le[i]++;
	m->drift_count++;
	m->drift_sum_ms += abs_ms;
}

void rv_metrics_close(struct rv_metrics *m, int code)
{
	for (int i = 0; i < RV_METRIC_N_CLOSE_CODES; i++)
		if (close_codes[i] == code)
			m->closes[i]++;
}

void rv_metrics_refused(struct rv_metrics *m, int status)
{
	for (int i = 0; i < RV_METRIC_N_REFUSED; i++)
		if (refused_status[i] == status)
			m->handshakes_refused[i]++;
}

void rv_metrics_auth_failure(struct rv_metrics *m, const char *reason)
{
	for (int i = 0; i < RV_METRIC_N_AUTH_REASONS; i++)
		if (!strcmp(auth_reasons[i], reason))
			m->auth_failures[i]++;
}

struct sbuf {
	char *p;
	size_t len, cap;
	int failed;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *q = realloc(b->p, b->cap * 2 + (size_t)n);
		if (!q) {
			b->failed = 1;
			return;
		}
		b->p = q;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

static void header(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A counter with one sample and no label. */
static void counter(struct sbuf *b, const char *name, const char *help, uint64_t v)
{
	header(b, name, "counter", help);
	sb_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* A counter with one sample per Redis shard of m: the uint64_t at offset
 * off of each struct rv_metric_redis_shard. */
static void shard_counter(struct sbuf *b, const struct rv_metrics *m, const char *name,
			  const char *help, size_t off)
{
	header(b, name, "counter", help);
	for (unsigned i = 0; i < m->redis_shards && i < RV_METRIC_REDIS_SHARDS_MAX; i++) {
		uint64_t v;

		memcpy(&v, (const char *)&m->redis_shard[i] + off, sizeof(v));
		sb_printf(b, "%s{shard=\"%u\"} %llu\n", name, i, (unsigned long long)v);
	}
}

/* A counter with one sample per name of a label (names[i] -> values[i]). */
static void by_label(struct sbuf *b, const char *name, const char *help, const char *label,
		     const char *const *names, const uint64_t *values, int n)
{
	header(b, name, "counter", help);
	for (int i = 0; i < n; i++)
		sb_printf(b, "%s{%s=\"%s\"} %llu\n", name, label, names[i],
			  (unsigned long long)values[i]);
}

/* A Prometheus histogram from per-bucket counts: le[n] counts what fell
 * above the last bound; the buckets written are cumulative. */
static void histogram(struct sbuf *b, const char *name, const char *help,
		      const double *bounds, const uint64_t *le, size_t n, double sum,
		      uint64_t count)
{
	uint64_t cum = 0;
	size_t i;

	header(b, name, "histogram", help);
	for (i = 0; i < n; i++) {
		cum += le[i];
		sb_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
			  (unsigned long long)cum);
	}
	cum += le[n];
	sb_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	sb_printf(b, "%s_sum %.6f\n", name, sum);
	sb_printf(b, "%s_count %llu\n", name, (unsigned long long)count);
}

static void gauge(struct sbuf *b, const char *name, const char *help, int64_t value)
{
	header(b, name, "gauge", help);
	sb_printf(b, "%s %lld\n", name, (long long)value);
}

/* utime+stime and rss from /proc/self/stat; zeros when unreadable. */
static void process_stats(double *cpu_seconds, double *rss_bytes, double *start_s)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	unsigned long utime = 0, stime = 0;
	long rss = 0;
	size_t n;
	char *p;

	*cpu_seconds = *rss_bytes = *start_s = 0;
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* Fields after the parenthesised command name, which may hold spaces. */
	p = strrchr(buf, ')');
	if (!p)
		return;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
		   "%*d %*d %*d %*d %*d %*d %*u %*u %ld", &utime, &stime, &rss) != 3)
		return;
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	*cpu_seconds = (double)(utime + stime) / (double)(hz > 0 ? hz : 100);
	*rss_bytes = (double)rss * (double)(page > 0 ? page : 4096);
}

/* Descriptors open now (the entries of /proc/self/fd, less the one the
 * count itself holds), and the soft RLIMIT_NOFILE; -1 when unknown. */
static void fd_stats(double *open_fds, double *max_fds)
{
	struct rlimit rl;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	*open_fds = *max_fds = -1;
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		*max_fds = rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur;
	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	*open_fds = (double)(n > 0 ? n - 1 : 0);
}

int rv_metrics_render(const struct rv_metrics *m, char **out, size_t *len)
{
	struct sbuf b = { malloc(8192), 0, 8192, 0 };
	double cpu, rss, start, fds, max_fds;
	int i;

	if (!b.p)
		return RV_ENOMEM;

	/* the version and commit are the Makefile's: no quote or backslash
	 * to escape in a label value */
	header(&b, "revenge_build_info", "gauge",
	       "Always 1; the labels say which build this is (commit empty outside git).");
	sb_printf(&b, "revenge_build_info{version=\"%s\",commit=\"%s\"} 1\n",
		  rv_version(), rv_version_commit());

	header(&b, "revenge_connections", "gauge", "Open WebSocket connections by endpoint.");
	for (i = 0; i < (int)m->n_endpoints && i < RV_METRIC_ENDPOINTS_MAX; i++)
		sb_printf(&b, "revenge_connections{endpoint=\"%s\"} %lld\n",
			  m->endpoint_names[i], (long long)m->connections_open[i]);
	header(&b, "revenge_connections_total", "counter", "WebSocket connections accepted by endpoint.");
	for (i = 0; i < (int)m->n_endpoints && i < RV_METRIC_ENDPOINTS_MAX; i++)
		sb_printf(&b, "revenge_connections_total{endpoint=\"%s\"} %llu\n",
			  m->endpoint_names[i], (unsigned long long)m->connections_total[i]);
	header(&b, "revenge_parties", "gauge", "Parties with at least one member.");
	sb_printf(&b, "revenge_parties %lld\n", (long long)m->parties);
	header(&b, "revenge_sessions", "gauge", "Progress and stream sessions in memory, by endpoint.");
	sb_printf(&b, "revenge_sessions{endpoint=\"progress\"} %lld\n",
		  (long long)m->progress_sessions);
	sb_printf(&b, "revenge_sessions{endpoint=\"stream\"} %lld\n",
		  (long long)m->stream_sessions);
	by_label(&b, "revenge_limit_refusals_total",
		 "New parties, members or sessions refused at a cap (--max-*), by cap.", "limit",
		 limits, m->limit_refusals, RV_METRIC_N_LIMITS);
	gauge(&b, "revenge_tcp_connections",
	      "Accepted TCP connections open, plain HTTP and WebSocket.", m->tcp_connections);
	gauge(&b, "revenge_tcp_connections_max",
	      "Most TCP connections kept open: the open-file limit less a reserve.",
	      m->tcp_connections_max);
	gauge(&b, "revenge_websockets_max",
	      "Most WebSocket connections; the rest of the TCP ceiling stays for /healthz "
	      "and /metrics.", m->websockets_max);
	gauge(&b, "revenge_conn_peers", "Client addresses with an open TCP connection.",
	      m->conn_peers);
	by_label(&b, "revenge_conn_refusals_total",
		 "Connections refused (503 or 429, and closed) before or at the handshake, by reason.",
		 "reason", refusals, m->conn_refusals, RV_METRIC_N_REFUSALS);
	by_label(&b, "revenge_accept_errors_total", "accept() failures, by errno.", "errno",
		 accept_errors, m->accept_errors, RV_METRIC_N_ACCEPT_ERRORS);

	header(&b, "revenge_messages_in_total", "counter", "Messages received, by type.");
	for (i = 1; i < RV_MSG__COUNT; i++)
		if (i < RV_MSG_WELCOME)
			sb_printf(&b, "revenge_messages_in_total{type=\"%s\"} %llu\n",
				  rv_msg_type_name((enum rv_msg_type)i),
				  (unsigned long long)m->messages_in[i]);
	sb_printf(&b, "revenge_messages_in_total{type=\"invalid\"} %llu\n",
		  (unsigned long long)m->messages_in[0]);
	header(&b, "revenge_messages_out_total", "counter", "Messages delivered to connections, by type.");
	for (i = 1; i < RV_MSG__COUNT; i++)
		sb_printf(&b, "revenge_messages_out_total{type=\"%s\"} %llu\n",
			  rv_msg_type_name((enum rv_msg_type)i),
			  (unsigned long long)m->messages_out[i]);
	header(&b, "revenge_errors_total", "counter", "Error replies sent, by code.");
	for (i = 1; i < RV_ERR__COUNT; i++)
		sb_printf(&b, "revenge_errors_total{code=\"%s\"} %llu\n",
			  rv_err_code_name((enum rv_err_code)i),
			  (unsigned long long)m->errors[i]);
	header(&b, "revenge_handshakes_refused_total", "counter", "WebSocket handshakes refused, by HTTP status.");
	for (i = 0; i < RV_METRIC_N_REFUSED; i++)
		sb_printf(&b, "revenge_handshakes_refused_total{status=\"%d\"} %llu\n",
			  refused_status[i], (unsigned long long)m->handshakes_refused[i]);
	by_label(&b, "revenge_auth_failures_total",
		 "Connection tokens refused (at the handshake or in a refresh), by reason.",
		 "reason", auth_reasons, m->auth_failures, RV_METRIC_N_AUTH_REASONS);
	header(&b, "revenge_auth_refreshed_total", "counter", "Connection tokens replaced by a refresh.");
	sb_printf(&b, "revenge_auth_refreshed_total %llu\n", (unsigned long long)m->auth_refreshed);
	header(&b, "revenge_closes_total", "counter", "Connections the server closed, by close code.");
	for (i = 0; i < RV_METRIC_N_CLOSE_CODES; i++)
		sb_printf(&b, "revenge_closes_total{code=\"%d\"} %llu\n", close_codes[i],
			  (unsigned long long)m->closes[i]);
	header(&b, "revenge_slow_clients_dropped_total", "counter",
	       "Clients closed with 1013 because their send queue overflowed.");
	sb_printf(&b, "revenge_slow_clients_dropped_total %llu\n", (unsigned long long)m->slow_dropped);
	header(&b, "revenge_state_superseded_total", "counter",
	       "Queued, unsent sync or progress messages replaced by a newer one "
	       "(latest-wins, for clients that read slower than they are sent to).");
	sb_printf(&b, "revenge_state_superseded_total %llu\n", (unsigned long long)m->state_replaced);
	header(&b, "revenge_rx_closes_total", "counter",
	       "Clients closed by the read side's defences: message_timeout (1008, a frame or "
	       "message unfinished after --message-timeout), partial_budget (1013, the oldest "
	       "unfinished messages past --partial-budget), frame_rate (1008, over --frame-rate).");
	sb_printf(&b, "revenge_rx_closes_total{reason=\"message_timeout\"} %llu\n",
		  (unsigned long long)m->rx_timed_out);
	sb_printf(&b, "revenge_rx_closes_total{reason=\"partial_budget\"} %llu\n",
		  (unsigned long long)m->rx_over_budget);
	sb_printf(&b, "revenge_rx_closes_total{reason=\"frame_rate\"} %llu\n",
		  (unsigned long long)m->rx_frame_flood);
	header(&b, "revenge_rx_partial_bytes", "gauge",
	       "Memory held by unfinished client messages, all connections together.");
	sb_printf(&b, "revenge_rx_partial_bytes %llu\n", (unsigned long long)m->rx_partial_bytes);
	header(&b, "revenge_bytes_in_total", "counter", "WebSocket payload bytes received.");
	sb_printf(&b, "revenge_bytes_in_total %llu\n", (unsigned long long)m->bytes_in);
	header(&b, "revenge_bytes_out_total", "counter", "WebSocket payload bytes sent.");
	sb_printf(&b, "revenge_bytes_out_total %llu\n", (unsigned long long)m->bytes_out);
	header(&b, "revenge_messages_compressed_total", "counter",
	       "Messages compressed for permessage-deflate connections (once per message, "
	       "shared by every such recipient).");
	sb_printf(&b, "revenge_messages_compressed_total %llu\n",
		  (unsigned long long)m->messages_deflated);
	header(&b, "revenge_http_requests_total", "counter", "Plain HTTP requests served.");
	sb_printf(&b, "revenge_http_requests_total %llu\n", (unsigned long long)m->http_requests);

	header(&b, "revenge_progress_stored_total", "counter",
	       "Progress reports committed to the store.");
	sb_printf(&b, "revenge_progress_stored_total %llu\n", (unsigned long long)m->progress_stored);
	header(&b, "revenge_progress_refused_total", "counter",
	       "Progress reports refused with store_unavailable (not stored, not acked).");
	sb_printf(&b, "revenge_progress_refused_total %llu\n",
		  (unsigned long long)m->progress_refused);
	header(&b, "revenge_store_errors_total", "counter",
	       "Store operations that failed, by operation (a batch of progress reports "
	       "counts once).");
	for (i = 0; i < RV_METRIC_N_STORE_OPS; i++)
		sb_printf(&b, "revenge_store_errors_total{op=\"%s\"} %llu\n", store_ops[i],
			  (unsigned long long)m->store_errors[i]);
	/* Without a store there is nothing to be up or down. */
	if (m->store_state != RV_STORE_STATE_NONE) {
		header(&b, "revenge_store_up", "gauge",
		       "1 while the store takes writes, 0 from a failed write until one works.");
		sb_printf(&b, "revenge_store_up %d\n", m->store_state == RV_STORE_STATE_OK);
	}
	/* Without --redis there is no cluster to be up or down. */
	if (m->redis_state != RV_REDIS_STATE_NONE) {
		header(&b, "revenge_redis_up", "gauge",
		       "1 while both Redis connections (publish, subscribe) are ready; 0 while "
		       "parties run on this node alone.");
		sb_printf(&b, "revenge_redis_up %d\n", m->redis_state == RV_REDIS_STATE_UP);
		counter(&b, "revenge_redis_reconnects_total",
			"Redis connections made again after being lost or refused.",
			m->redis_reconnects);
		counter(&b, "revenge_redis_published_total",
			"Party messages published to other nodes (one per message).",
			m->redis_published);
		counter(&b, "revenge_redis_received_total",
			"Party messages of other nodes delivered to this node's members.",
			m->redis_received);
		counter(&b, "revenge_redis_dropped_total",
			"Party messages not published (Redis down or too slow): this node's "
			"members got them, other nodes' did not.", m->redis_dropped);
		/* each shard of the --redis list, labelled by its place in it */
		header(&b, "revenge_redis_shard_up", "gauge",
		       "1 while both connections to this Redis shard are ready; 0 while its "
		       "parties run on this node alone.");
		for (unsigned k = 0; k < m->redis_shards && k < RV_METRIC_REDIS_SHARDS_MAX; k++)
			sb_printf(&b, "revenge_redis_shard_up{shard=\"%u\"} %d\n", k,
				  m->redis_shard[k].state == RV_REDIS_STATE_UP);
		shard_counter(&b, m, "revenge_redis_shard_published_total",
			      "Messages and script calls sent to this shard to be published.",
			      offsetof(struct rv_metric_redis_shard, published));
		shard_counter(&b, m, "revenge_redis_shard_received_total",
			      "Messages (and member notices) arrived from this shard's channels.",
			      offsetof(struct rv_metric_redis_shard, received));
		shard_counter(&b, m, "revenge_redis_shard_dropped_total",
			      "Messages not published on this shard (down or too slow).",
			      offsetof(struct rv_metric_redis_shard, dropped));
		shard_counter(&b, m, "revenge_redis_shard_reconnects_total",
			      "Connections to this shard made again after being lost or refused.",
			      offsetof(struct rv_metric_redis_shard, reconnects));
		counter(&b, "revenge_redis_clock_aligned_total",
			"Times this node's server time was stepped onto Redis's TIME (it was off "
			"by over 5 ms).", m->redis_clock_aligned);
		counter(&b, "revenge_redis_script_reloads_total",
			"Script calls Redis answered NOSCRIPT (restarted, SCRIPT FLUSH), sent again "
			"with the script's text.", m->redis_script_reloads);
		counter(&b, "revenge_redis_lease_lost_total",
			"Renewals that found this node's lease gone (it ran out: the other nodes "
			"dropped this node's members, which it then wrote again).",
			m->redis_lease_lost);
		counter(&b, "revenge_redis_progress_published_total",
			"Committed progress reports published to the nodes holding a connection "
			"of their session.", m->progress_relayed);
		counter(&b, "revenge_redis_progress_received_total",
			"Progress reports committed on other nodes, taken by this node's "
			"sessions.", m->progress_relay_received);
		counter(&b, "revenge_redis_progress_dropped_total",
			"Committed progress reports not published (Redis down or too slow): "
			"other nodes' sessions catch up from the store when Redis is back.",
			m->progress_relay_dropped);
		counter(&b, "revenge_redis_quality_published_total",
			"Quality profile changes published to the nodes holding a connection of "
			"their session (one per change).", m->quality_relayed);
		counter(&b, "revenge_redis_quality_received_total",
			"Quality profile changes made on other nodes, taken by this node's "
			"sessions.", m->quality_relay_received);
		counter(&b, "revenge_redis_quality_dropped_total",
			"Quality profile changes not published (Redis down or too slow): the "
			"session's connections on other nodes keep the profile they had.",
			m->quality_relay_dropped);
		if (m->redis_clock_known) {
			header(&b, "revenge_redis_clock_offset_ms", "gauge",
			       "Redis TIME minus this node's server time, ms, from the TIME of least "
			       "round trip of the last six (every 5 s); nodes' stamps differ by the "
			       "difference of their offsets.");
			sb_printf(&b, "revenge_redis_clock_offset_ms %.3f\n", m->redis_clock_offset_ms);
			header(&b, "revenge_redis_clock_rtt_ms", "gauge",
			       "The round trip of that TIME, ms: the offset is good to half of it.");
			sb_printf(&b, "revenge_redis_clock_rtt_ms %.3f\n", m->redis_clock_rtt_ms);
		}
	}
	histogram(&b, "revenge_store_commit_seconds",
		  "Time to commit one batch of writes to the store.", commit_bounds,
		  m->commit_le, RV_METRIC_N_COMMIT_BUCKETS, m->commit_seconds, m->commit_count);
	header(&b, "revenge_party_budget_refusals_total", "counter",
	       "Chat messages and reactions refused over their party's budget (--party-chat-rate).");
	for (i = 0; i < 2; i++)
		sb_printf(&b, "revenge_party_budget_refusals_total{kind=\"%s\"} %llu\n",
			  i ? "reaction" : "chat",
			  (unsigned long long)m->party_budget_refusals[i]);
	header(&b, "revenge_party_lead_ms", "gauge",
	       "The lead of the latest host sync: ms between its stamping and the server_time "
	       "it takes effect at (0 before any, and with --lead-max 0).");
	sb_printf(&b, "revenge_party_lead_ms %.3f\n", m->party_lead_ms);
	header(&b, "revenge_party_waits_total", "counter",
	       "Waits begun in watch parties: a member the party waits for reported buffering.");
	sb_printf(&b, "revenge_party_waits_total %llu\n", (unsigned long long)m->party_waits);
	header(&b, "revenge_party_barrier_timeouts_total", "counter",
	       "Members dropped from a wait because they still buffered at its deadline "
	       "(--ready-timeout, --rebuffer-timeout).");
	sb_printf(&b, "revenge_party_barrier_timeouts_total %llu\n",
		  (unsigned long long)m->party_barrier_timeouts);
	histogram(&b, "revenge_member_drift_ms",
		  "Members' |drift| from the party clock, in ms, per status counted.",
		  drift_bounds, m->drift_le, RV_METRIC_N_DRIFT_BUCKETS, m->drift_sum_ms,
		  m->drift_count);
	header(&b, "revenge_quality_suggestions_total", "counter",
	       "Quality suggestions sent, by direction.");
	sb_printf(&b, "revenge_quality_suggestions_total{direction=\"up\"} %llu\n",
		  (unsigned long long)m->quality_suggestions[0]);
	sb_printf(&b, "revenge_quality_suggestions_total{direction=\"down\"} %llu\n",
		  (unsigned long long)m->quality_suggestions[1]);

	process_stats(&cpu, &rss, &start);
	header(&b, "process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.");
	sb_printf(&b, "process_cpu_seconds_total %.2f\n", cpu);
	header(&b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	sb_printf(&b, "process_resident_memory_bytes %.0f\n", rss);
	header(&b, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.");
	sb_printf(&b, "process_start_time_seconds %.3f\n", m->start_wall_ms / 1000.0);
	fd_stats(&fds, &max_fds);
	header(&b, "revenge_open_fds", "gauge",
	       "Open file descriptors: sockets (clients, listeners, Redis), the store, logs.");
	sb_printf(&b, "revenge_open_fds %.0f\n", fds);
	header(&b, "process_open_fds", "gauge", "Number of open file descriptors.");
	sb_printf(&b, "process_open_fds %.0f\n", fds);
	if (max_fds >= 0) {
		header(&b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
		sb_printf(&b, "process_max_fds %.0f\n", max_fds);
	}

	if (b.failed) {
		free(b.p);
		return RV_ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
