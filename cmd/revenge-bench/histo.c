/* cmd/revenge-bench/histo.c - log-bucketed latency histogram (histo.h). */
#include "histo.h"

#include <math.h>

static int bucket_of(double us)
{
	int e;
	double m;

	if (!(us >= 1))
		return 0;
	m = frexp(us, &e);           /* us = m * 2^e, 0.5 <= m < 1 */
	int i = (e - 1) * HISTO_SUB + (int)((m - 0.5) * 2 * HISTO_SUB);

	return i < HISTO_BUCKETS ? i : HISTO_BUCKETS - 1;
}

/* The upper edge of bucket i, so quantiles never under-report. */
static double bucket_top(int i)
{
	int e = i / HISTO_SUB + 1, s = i % HISTO_SUB;

	return ldexp(0.5 + (s + 1) / (2.0 * HISTO_SUB), e);
}

void histo_add(struct histo *h, double us)
{
	h->b[bucket_of(us)]++;
	h->count++;
	h->sum += us;
	if (us > h->max)
		h->max = us;
}

double histo_quantile(const struct histo *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->count)
		return 0;
	want = (uint64_t)ceil(q * (double)h->count);
	if (want < 1)
		want = 1;
	for (int i = 0; i < HISTO_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			double top = bucket_top(i);

			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}

void histo_merge(struct histo *a, const struct histo *b)
{
	for (int i = 0; i < HISTO_BUCKETS; i++)
		a->b[i] += b->b[i];
	a->count += b->count;
	a->sum += b->sum;
	if (b->max > a->max)
		a->max = b->max;
}

static const double quantiles[] = { 0.5, 0.9, 0.99, 0.999 };
static const char *const quantile_names[] = { "p50", "p90", "p99", "p99.9" };

void histo_json(const struct histo *h, FILE *out)
{
	if (!h->count) {
		fputs("null", out);
		return;
	}
	fputc('{', out);
	for (int i = 0; i < 4; i++)
		fprintf(out, "\"%s\":%.3f,", quantile_names[i], histo_quantile(h, quantiles[i]) / 1000);
	fprintf(out, "\"max\":%.3f}", h->max / 1000);
}

void histo_text(const struct histo *h, FILE *out)
{
	if (!h->count) {
		fputs("not measured (none arrived)\n", out);
		return;
	}
	for (int i = 0; i < 4; i++)
		fprintf(out, "%s %.2f ms  ", quantile_names[i], histo_quantile(h, quantiles[i]) / 1000);
	fprintf(out, "max %.2f ms\n", h->max / 1000);
}
