/* cmd/common/cli.c - shared command-line helpers (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <revenge/revenge.h>

void cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see --help)\n");
	exit(2);
}

void cli_common_opt(const char *prog, const char *usage, int opt, char *const argv[])
{
	switch (opt) {
	case 'h':
		fputs(usage, stdout);
		exit(0);
	case 'V':
		printf("%s %s\n", prog, rv_version());
		exit(0);
	case ':':
		cli_usage_error(prog, "%s: missing value", argv[optind - 1]);
	default:
		cli_usage_error(prog, "unknown option '%s'", argv[optind - 1]);
	}
}

unsigned long cli_uint(const char *prog, const char *flag, const char *s,
		       unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	/* strtoul would take " 5", "+5" and "-5" (as a huge number) */
	if (!*s || *s < '0' || *s > '9')
		goto bad;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		goto bad;
	return v;
bad:
	cli_usage_error(prog, "%s: expected a whole number from %lu to %lu, got '%s'", flag, lo,
			hi, s);
}

double cli_double(const char *prog, const char *flag, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
		cli_usage_error(prog, "%s: expected a number from %g to %g, got '%s'", flag, lo, hi, s);
	return v;
}

double cli_duration_ms(const char *prog, const char *flag, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0 || *s == ' ')
		goto bad;
	if (!strcmp(end, "ms"))
		;
	else if (!strcmp(end, "s") || !*end)
		v *= 1000;
	else if (!strcmp(end, "m"))
		v *= 60000;
	else
		goto bad;
	if (v > 3600000)
		cli_usage_error(prog, "%s: at most 1h, got '%s'", flag, s);
	return v;
bad:
	cli_usage_error(prog, "%s: expected a duration like 500ms, 10s or 1m, got '%s'", flag, s);
}

int cli_duration_days(const char *s, double *secs)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0 || *s == ' ' || *s == '-' || *s == '+')
		return -1;
	if (!strcmp(end, "m"))
		v *= 60;
	else if (!strcmp(end, "h"))
		v *= 3600;
	else if (!strcmp(end, "d"))
		v *= 86400;
	else if (*end && strcmp(end, "s"))
		return -1;
	*secs = v;
	return 0;
}

/* A usage error unless the token from src can be sent; never quotes it. */
static void check_token(const char *prog, const char *src, const char *t, size_t len)
{
	if (!len)
		cli_usage_error(prog, "%s: empty", src);
	if (len > RV_CLIENT_TOKEN_MAX)
		cli_usage_error(prog, "%s: longer than %d bytes", src, RV_CLIENT_TOKEN_MAX);
	if (strlen(t) != len || !rv_client_token_valid(t))
		cli_usage_error(prog, "%s: not a token: only A-Z a-z 0-9 - _ . may appear (a JWT's "
				"characters)", src);
}

const char *cli_token(const char *prog, const char *flag, const char *file,
		      char buf[CLI_TOKEN_BUF])
{
	char src[1100];
	const char *env;
	size_t len;
	FILE *f;

	if (flag && file)
		cli_usage_error(prog, "--token and --token-file: give one, not both");
	if (flag) {
		check_token(prog, "--token", flag, strlen(flag));
		return flag;
	}
	if (!file) {
		env = getenv("REVENGE_TOKEN");
		if (env)
			check_token(prog, "REVENGE_TOKEN", env, strlen(env));
		return env;
	}
	snprintf(src, sizeof(src), "--token-file '%s'", file);
	/* a token and its newline, and one byte more to see a longer one */
	f = fopen(file, "r");
	if (!f)
		cli_usage_error(prog, "--token-file: cannot read '%s': %s", file, strerror(errno));
	len = fread(buf, 1, RV_CLIENT_TOKEN_MAX + 3, f);
	if (ferror(f))
		cli_usage_error(prog, "--token-file: cannot read '%s': %s", file, strerror(errno));
	fclose(f);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = 0;
	check_token(prog, src, buf, len);
	return buf;
}
