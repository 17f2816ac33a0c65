/* cmd/common/cli.h - command-line helpers shared by the commands: the
 * options every command answers alike (--help, --version, a missing value,
 * an unknown option), one-line usage errors (exit 2), strict parsing of
 * numbers and durations, and the connection token (--token, --token-file,
 * $REVENGE_TOKEN).
 */
#ifndef REVENGE_CLI_H
#define REVENGE_CLI_H

#include <revenge/client.h>

/* Print "PROG: message (see --help)" on stderr and exit 2. */
void cli_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

/* What every command's getopt_long loop (optstring ":hV" or "+:hV",
 * opterr = 0) does with a result it has no case of its own for, so the
 * commands cannot drift apart: 'h' prints usage on stdout and 'V'
 * "PROG VERSION", both exit 0; ':' is the usage error "OPTION: missing
 * value" and anything else "unknown option 'OPTION'", naming
 * argv[optind - 1] as getopt left it. Never returns. */
void cli_common_opt(const char *prog, const char *usage, int opt, char *const argv[])
	__attribute__((noreturn));

/* A whole number in [lo, hi], digits only; else a usage error naming flag. */
unsigned long cli_uint(const char *prog, const char *flag, const char *s,
		       unsigned long lo, unsigned long hi);

/* A finite number in [lo, hi]; else a usage error naming flag. */
double cli_double(const char *prog, const char *flag, const char *s, double lo, double hi);

/* "500ms", "10s", "1m", "1.5s" or bare seconds, at most one hour, in ms;
 * else a usage error naming flag. Zero is allowed (callers that need more
 * say so). */
double cli_duration_ms(const char *prog, const char *flag, const char *s);

/* "90s", "30m", "12h", "7d" or bare seconds (a number, at least 0, no
 * sign) into *secs: 0, or -1 when s is not one (the caller says so and
 * checks the range). */
int cli_duration_days(const char *s, double *secs);

/* The connection token from --token's value (flag, NULL when not given),
 * else --token-file's (file: the token is the file's contents, trailing
 * newlines stripped), else $REVENGE_TOKEN; NULL when none is given. The
 * string returned is flag, the environment's, or the file's contents read
 * into buf (the caller's, CLI_TOKEN_BUF bytes, kept as long as the token
 * is used). Anything unusable is a usage error naming
 * where the token came from and never quoting it: both flags, an empty
 * value ("--token: empty"), a byte outside A-Z a-z 0-9 - _ . (see
 * rv_client_token_valid), more than RV_CLIENT_TOKEN_MAX bytes, a file
 * that cannot be read. */
#define CLI_TOKEN_BUF (RV_CLIENT_TOKEN_MAX + 4)   /* a token, CRLF, one more */
const char *cli_token(const char *prog, const char *flag, const char *file,
		      char buf[CLI_TOKEN_BUF]);

#endif
