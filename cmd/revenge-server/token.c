/* cmd/revenge-server/token.c - `revenge-server token`: mint a connection
 * token (an HS256 JWT) from the server's shared secret, for tests, scripts
 * and small deployments where no other service issues them.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <revenge/revenge.h>

#include "cli.h"
#include "token_cmd.h"

#define PROG "revenge-server token"
#define TTL_MAX_S (366.0 * 86400)

static const char usage_text[] =
"Usage: revenge-server token --auth-secret-file FILE --sub SUBJECT [OPTIONS]\n"
"\n"
"Print a connection token (an HS256 JWT) signed with the server's shared\n"
"secret: what a client sends as Authorization: Bearer, or its token flag.\n"
"\n"
"Options:\n"
"  --auth-secret-file FILE  the secret the server verifies with (its raw\n"
"                           bytes, one trailing newline ignored)\n"
"  --sub SUBJECT            who the token is for (1-128 bytes): progress and\n"
"                           quality sessions belong to it\n"
"  --name NAME              display name in parties (1-32 characters);\n"
"                           overrides the client's ?name=\n"
"  --role ROLE              host or member (default member): a member never\n"
"                           becomes a party's host\n"
"  --party ID               a party it may join: an id, or a prefix ending in\n"
"                           '*' ('team-*', '*' for all); repeatable\n"
"  --session ID             a progress/stream session it may use, same form;\n"
"                           repeatable\n"
"  --admin                  let it use the admin API (GET /admin/parties and\n"
"                           the rest, on the server's metrics address); opens\n"
"                           no party or session by itself\n"
"  --ttl DURATION           how long it is valid: 90s, 30m, 12h, 7d (default\n"
"                           1h; at most 366d)\n"
"  -h, --help               show this help and exit\n"
"\n"
"A token without --party opens no party, without --session no session.\n"
"\n"
"Exit status: 0 with the token on stdout, 1 when the secret cannot be read,\n"
"2 on a usage error.\n";

enum { OPT_SECRET = 256, OPT_SUB, OPT_NAME, OPT_ROLE, OPT_PARTY, OPT_SESSION, OPT_TTL, OPT_ADMIN };

static const struct option long_opts[] = {
	{ "auth-secret-file", required_argument, NULL, OPT_SECRET },
	{ "sub", required_argument, NULL, OPT_SUB },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "party", required_argument, NULL, OPT_PARTY },
	{ "session", required_argument, NULL, OPT_SESSION },
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "admin", no_argument, NULL, OPT_ADMIN },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

#define usage_error(...) cli_usage_error(PROG, __VA_ARGS__)

/* "90s", "30m", "12h", "7d" or bare seconds: seconds, 1 to TTL_MAX_S. */
static double parse_ttl(const char *s)
{
	double v;

	if (cli_duration_days(s, &v))
		usage_error("--ttl: expected a duration like 90s, 30m, 12h or 7d, got '%s'", s);
	if (v < 1 || v > TTL_MAX_S)
		usage_error("--ttl: from 1s to 366d, got '%s'", s);
	return v;
}

/* An id, or a prefix ending in '*'. */
static void add_scope(const char *flag, const char *v, char (*list)[RV_ID_MAX + 2],
		      unsigned *n)
{
	size_t len = strlen(v);
	size_t idlen = len && v[len - 1] == '*' ? len - 1 : len;

	if (*n == RV_TOKEN_SCOPES_MAX)
		usage_error("%s: at most %d", flag, RV_TOKEN_SCOPES_MAX);
	if (len == 0 || (idlen > 0 && !rv_proto_valid_id(v, idlen)) || len > RV_ID_MAX + 1)
		usage_error("%s: expected an id of A-Z a-z 0-9 _ - (1-64), or a prefix "
			    "ending in '*', got '%s'", flag, v);
	memcpy(list[(*n)++], v, len + 1);
}

int token_main(int argc, char **argv)
{
	struct rv_token_claims c;
	struct rv_token_key *key = NULL;
	const char *secret_file = NULL;
	double ttl = 3600;
	char why[300], *token = NULL;
	int opt, err;

	memset(&c, 0, sizeof(c));
	c.role = RV_TOKEN_ROLE_MEMBER;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":hV", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_SECRET:
			secret_file = optarg;
			break;
		case OPT_SUB:
			if (!*optarg || strlen(optarg) > RV_TOKEN_SUB_MAX ||
			    !rv_utf8_valid(optarg, strlen(optarg)))
				usage_error("--sub: expected 1-%d bytes of UTF-8", RV_TOKEN_SUB_MAX);
			snprintf(c.sub, sizeof(c.sub), "%s", optarg);
			break;
		case OPT_NAME:
			if (!rv_proto_valid_name(optarg, strlen(optarg)))
				usage_error("--name: expected 1-32 UTF-8 characters, no control, "
					    "bidi control or line separator, not only blank ones");
			snprintf(c.name, sizeof(c.name), "%s", optarg);
			c.has_name = true;
			break;
		case OPT_ROLE:
			if (!strcmp(optarg, "host"))
				c.role = RV_TOKEN_ROLE_HOST;
			else if (!strcmp(optarg, "member"))
				c.role = RV_TOKEN_ROLE_MEMBER;
			else
				usage_error("--role: expected host or member, got '%s'", optarg);
			break;
		case OPT_PARTY:
			add_scope("--party", optarg, c.parties, &c.n_parties);
			break;
		case OPT_SESSION:
			add_scope("--session", optarg, c.sessions, &c.n_sessions);
			break;
		case OPT_TTL:
			ttl = parse_ttl(optarg);
			break;
		case OPT_ADMIN:
			c.admin = true;
			break;
		default:
			cli_common_opt(PROG, usage_text, opt, argv);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!secret_file)
		usage_error("--auth-secret-file is required");
	if (!c.sub[0])
		usage_error("--sub is required");
	err = rv_token_key_load_secret_file(secret_file, &key, why, sizeof(why));
	if (err) {
		fprintf(stderr, PROG ": --auth-secret-file: %s\n", why);
		return 1;
	}
	err = rv_token_mint(key, &c, rv_time_wall_ms() / 1000.0, ttl, &token, why, sizeof(why));
	rv_token_key_free(key);
	if (err) {
		fprintf(stderr, PROG ": %s\n", why);
		return 1;
	}
	puts(token);
	free(token);
	return 0;
}
