/* cmd/revenge-bench/limits.c - the open-file and ephemeral-port caps on a
 * run (limits.h). */
#include "limits.h"

#include <stdio.h>
#include <sys/resource.h>

/* File descriptors the process needs besides its connections: stdio, the
 * event loop, lws's own pipes, /metrics reads. */
#define FD_RESERVE 64

/* Ports in net.ipv4.ip_local_port_range; 0 when unknown. */
static unsigned long port_range(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	unsigned long lo, hi;
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%lu %lu", &lo, &hi);
	fclose(f);
	return n == 2 && hi >= lo ? hi - lo + 1 : 0;
}

void limits_probe(struct limits *l, const char *prog, unsigned long want, unsigned nsrc)
{
	struct rlimit rl;
	unsigned long by_files = 0, by_ports = 0;

	l->want = want;
	l->nsrc = nsrc;
	l->nofile = 0;
	l->ports = port_range() * (nsrc ? nsrc : 1);
	l->max_conns = 0;
	l->limited_by = NULL;
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur != RLIM_INFINITY)
			l->nofile = (unsigned long)rl.rlim_cur;
	}
	if (l->nofile)
		by_files = l->nofile > FD_RESERVE ? l->nofile - FD_RESERVE : 0;
	by_ports = l->ports;
	if (l->nofile && want > by_files && (!by_ports || by_files <= by_ports)) {
		l->limited_by = "nofile";
		l->max_conns = by_files;
		fprintf(stderr, "%s: open files are limited to %lu (ulimit -n; the hard limit is "
			"raised in /etc/security/limits.conf or with prlimit): at most about %lu "
			"of the %lu connections this run opens\n", prog, l->nofile, by_files, want);
	} else if (by_ports && want > by_ports) {
		l->limited_by = "ports";
		l->max_conns = by_ports;
		fprintf(stderr, "%s: %lu ephemeral ports (net.ipv4.ip_local_port_range) for each "
			"of %u source address%s: at most about %lu of the %lu connections this run "
			"opens; spread them over more with --src, e.g. --src 127.0.0.1-127.0.0.8\n",
			prog, by_ports / (nsrc ? nsrc : 1), nsrc ? nsrc : 1, nsrc > 1 ? "es" : "",
			by_ports, want);
	}
}

void limits_json(const struct limits *l, FILE *out)
{
	fprintf(out, ",\"src_addrs\":%u", l->nsrc);
	if (l->nofile)
		fprintf(out, ",\"nofile_limit\":%lu", l->nofile);
	else
		fprintf(out, ",\"nofile_limit\":null");
	if (l->ports)
		fprintf(out, ",\"port_limit\":%lu", l->ports);
	else
		fprintf(out, ",\"port_limit\":null");
	if (l->limited_by)
		fprintf(out, ",\"limited_by\":\"%s\",\"max_conns\":%lu", l->limited_by,
			l->max_conns);
	else
		fprintf(out, ",\"limited_by\":null,\"max_conns\":null");
}

void limits_text(const struct limits *l, FILE *out)
{
	if (!l->limited_by)
		return;
	if (l->limited_by[0] == 'n')
		fprintf(out, "limited by    open files (%lu): at most about %lu of %lu connections\n",
			l->nofile, l->max_conns, l->want);
	else
		fprintf(out, "limited by    ephemeral ports (%lu for %u source address%s): at most "
			"about %lu of %lu connections; use --src\n", l->ports, l->nsrc ? l->nsrc : 1,
			l->nsrc > 1 ? "es" : "", l->max_conns, l->want);
}
