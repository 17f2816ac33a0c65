/* cmd/revenge-bench/servstat.h - the server's own figures for a run: the
 * CPU time it has used and its resident memory, from its /metrics or, for
 * servers without /metrics, from /proc/PID with --server-pid.
 */
#ifndef REVENGE_BENCH_SERVSTAT_H
#define REVENGE_BENCH_SERVSTAT_H

#include <stdint.h>
#include <stdio.h>

#include <ev.h>

#include <revenge/revenge.h>

/* CPU seconds the server has used so far: /proc/pid/stat when pid > 0,
 * else process_cpu_seconds_total from url's /metrics, fetched on cl while
 * running loop for at most 3 s. NAN when unknown. */
double servstat_cpu(struct ev_loop *loop, struct rv_client *cl, const char *url, int pid);

/* The unlabelled sample name in url's /metrics, fetched on cl while
 * running loop for at most 3 s; NAN when unknown. */
double servstat_metric(struct ev_loop *loop, struct rv_client *cl, const char *url,
		       const char *name);

/* Resident memory in bytes, the same way (/proc/pid/status VmRSS, or
 * process_resident_memory_bytes). NAN when unknown. */
double servstat_rss(struct ev_loop *loop, struct rv_client *cl, const char *url, int pid);

/* cpu_s (NAN when unknown) over delivered messages, as JSON members each
 * followed by a comma: "server_cpu_s":..,"server_us_per_delivery":.., */
void servstat_cpu_json(FILE *out, double cpu_s, uint64_t delivered);

/* The same as a table line: "server CPU    ...". */
void servstat_cpu_text(FILE *out, double cpu_s, uint64_t delivered);

/* CPU seconds this process (the generator) has used; NAN when unknown. */
double servstat_self_cpu(void);

#endif
