/* cmd/revenge-bench/histo.h - a log-bucketed latency histogram.
 *
 * Values (microseconds) land in buckets 1/16 of a power of two wide, so
 * every quantile is within about 6% of the true value whatever the range,
 * in constant memory and O(1) per sample.
 */
#ifndef REVENGE_BENCH_HISTO_H
#define REVENGE_BENCH_HISTO_H

#include <stdint.h>
#include <stdio.h>

#define HISTO_SUB 16                 /* buckets per power of two */
#define HISTO_BUCKETS (64 * HISTO_SUB)

struct histo {
	uint64_t b[HISTO_BUCKETS];
	uint64_t count;
	double sum;
	double max;
};

void histo_add(struct histo *h, double us);
/* The q-quantile (0 <= q <= 1) in microseconds; 0 when empty. */
double histo_quantile(const struct histo *h, double q);
/* Add every sample of b to a. */
void histo_merge(struct histo *a, const struct histo *b);

/* The percentiles in milliseconds as a JSON object,
 * {"p50":..,"p90":..,"p99":..,"p99.9":..,"max":..}, no newline; null when
 * it holds no sample (a 0 would read as fast). */
void histo_json(const struct histo *h, FILE *out);
/* The same as table text, "p50 0.12 ms  ...  max 0.90 ms", and a newline;
 * "not measured (none arrived)" when empty. */
void histo_text(const struct histo *h, FILE *out);

#endif
