/* cmd/revenge-bench/servstat.c - the server's CPU time and memory, read
 * from /metrics or /proc (servstat.h). */
#include "servstat.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* One /metrics read. Heap-allocated: when the wait gives up, the request
 * may still finish later, and then frees it. */
struct fetch {
	char key[64];                 /* "\nname " */
	size_t klen;
	bool done, abandoned;
	double value;
};

static void fetch_done(int status, const char *body, size_t len, const char *reason, void *user)
{
	struct fetch *f = user;
	const char *k = status == 200 ? memmem(body, len, f->key, f->klen) : NULL;

	if (f->abandoned) {
		free(f);
		return;
	}
	f->value = k ? strtod(k + f->klen, NULL) : NAN;
	f->done = true;
}

double servstat_metric(struct ev_loop *loop, struct rv_client *cl, const char *url,
		     const char *name)
{
	char murl[2200];
	struct fetch *f = calloc(1, sizeof(*f));
	double deadline = (double)rv_time_mono_ns() / 1e9 + 3, v;

	if (!f)
		return NAN;
	snprintf(f->key, sizeof(f->key), "\n%s ", name);
	f->klen = strlen(f->key);
	snprintf(murl, sizeof(murl), "%s/metrics", url);
	if (rv_client_http_get(cl, murl, 1 << 20, fetch_done, f)) {
		free(f);
		return NAN;
	}
	while (!f->done && (double)rv_time_mono_ns() / 1e9 < deadline)
		ev_run(loop, EVRUN_ONCE);
	if (!f->done) {
		f->abandoned = true;
		return NAN;
	}
	v = f->value;
	free(f);
	return v;
}

double servstat_cpu(struct ev_loop *loop, struct rv_client *cl, const char *url, int pid)
{
	char path[64], buf[1024];
	unsigned long ut, st;
	FILE *fp;
	size_t n;
	char *p;

	if (pid <= 0)
		return servstat_metric(loop, cl, url, "process_cpu_seconds_total");
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fp = fopen(path, "r");
	if (!fp)
		return NAN;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = 0;
	/* the command name, in parentheses, may hold spaces */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return NAN;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

double servstat_rss(struct ev_loop *loop, struct rv_client *cl, const char *url, int pid)
{
	char path[64], line[256];
	double kb = NAN;
	FILE *f;

	if (pid <= 0)
		return servstat_metric(loop, cl, url, "process_resident_memory_bytes");
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtod(line + 6, NULL);
	fclose(f);
	return kb * 1024;
}

static double us_per(double cpu_s, uint64_t delivered)
{
	return delivered && isfinite(cpu_s) ? cpu_s * 1e6 / (double)delivered : NAN;
}

void servstat_cpu_json(FILE *out, double cpu_s, uint64_t delivered)
{
	/* nothing delivered: no cost per delivery, and JSON has no NaN */
	if (isfinite(cpu_s) && delivered)
		fprintf(out, "\"server_cpu_s\":%.3f,\"server_us_per_delivery\":%.3f,", cpu_s,
			us_per(cpu_s, delivered));
	else if (isfinite(cpu_s))
		fprintf(out, "\"server_cpu_s\":%.3f,\"server_us_per_delivery\":null,", cpu_s);
	else
		fprintf(out, "\"server_cpu_s\":null,\"server_us_per_delivery\":null,");
}

void servstat_cpu_text(FILE *out, double cpu_s, uint64_t delivered)
{
	if (isfinite(cpu_s))
		fprintf(out, "server CPU    %.2f s, %.2f us per delivered message\n", cpu_s,
			us_per(cpu_s, delivered));
	else
		fprintf(out, "server CPU    not measured (/metrics did not answer; use --server-pid)\n");
}

double servstat_self_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return NAN;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
