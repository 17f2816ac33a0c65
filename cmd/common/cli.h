/* cmd/common/cli.h - command-line helpers shared by the commands: one-line
 * usage errors (exit 2) and strict parsing of numbers and durations.
 */
#ifndef REVENGE_CLI_H
#define REVENGE_CLI_H

/* Print "PROG: message (see --help)" on stderr and exit 2. */
void cli_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

/* A whole number in [lo, hi], digits only; else a usage error naming flag. */
unsigned long cli_uint(const char *prog, const char *flag, const char *s,
		       unsigned long lo, unsigned long hi);

/* A finite number in [lo, hi]; else a usage error naming flag. */
double cli_double(const char *prog, const char *flag, const char *s, double lo, double hi);

/* "500ms", "10s", "1m", "1.5s" or bare seconds, at most one hour, in ms;
 * else a usage error naming flag. Zero is allowed (callers that need more
 * say so). */
double cli_duration_ms(const char *prog, const char *flag, const char *s);

#endif
