/* cmd/revenge-server/migrate.c - `revenge-server migrate`: copy a SQLite
 * store into PostgreSQL (rv_store_copy), to move one server's progress
 * and quality profiles to the database a cluster shares. Flags in, one
 * summary line per table (or --json) out; the work is the library's.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <revenge/revenge.h>

#include "cli.h"
#include "migrate_cmd.h"

#define PROG "revenge-server migrate"

static const char usage_text[] =
"Usage: revenge-server migrate --from PATH --to URL [--merge] [--json]\n"
"\n"
"Copy a server's SQLite store into a PostgreSQL database, the store that a\n"
"cluster's servers share: every session's progress report and quality\n"
"profile, each owner's apart. Stop the server that writes PATH first:\n"
"reports it acks after the copy starts are not copied.\n"
"\n"
"Options:\n"
"  --from PATH     the SQLite store, opened read-only (never changed); it\n"
"                  must be a revenge store (schema version 1 or 2)\n"
"  --to URL        the database: a libpq postgres:// or postgresql:// URL\n"
"                  (a password is better kept in ~/.pgpass or PGPASSWORD).\n"
"                  Its schema is created or migrated first, as a server's\n"
"                  start does\n"
"  --merge         copy into a database that already holds rows: per\n"
"                  session the newer row wins (the later report by its\n"
"                  server time, the later profile change); without it a\n"
"                  database holding any revenge row is refused\n"
"  --json          print the summary as one JSON object on stdout\n"
"  -h, --help      show this help and exit\n"
"  -V, --version   print the version and exit\n"
"\n"
"All or nothing: one transaction, so on any failure the database holds\n"
"what it held before. One line per table on stdout: rows read, and what\n"
"became of them.\n"
"\n"
"Exit status: 0 copied, 1 failed (the file is missing or not a revenge\n"
"store, PostgreSQL cannot be reached or refused, the database already\n"
"holds rows and --merge was not given), 2 on a usage error (a bad URL\n"
"included).\n";

enum { OPT_FROM = 256, OPT_TO, OPT_MERGE, OPT_JSON };

static const struct option long_opts[] = {
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "merge", no_argument, NULL, OPT_MERGE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

#define usage_error(...) cli_usage_error(PROG, __VA_ARGS__)

static void print_text(const struct rv_store_copy_result *r, bool merge)
{
	for (int i = 0; i < RV_STORE_COPY_TABLES; i++) {
		const struct rv_store_copy_table *t = &r->tables[i];

		printf("%s -> %s: ", t->name, t->target);
		if (merge)
			printf("%llu %s read: %llu new, %llu replaced an older row, %llu kept"
			       " (the database's was as new or newer)\n",
			       (unsigned long long)t->read, t->read == 1 ? "row" : "rows",
			       (unsigned long long)t->inserted, (unsigned long long)t->updated,
			       (unsigned long long)t->kept);
		else
			printf("%llu %s copied\n", (unsigned long long)t->inserted,
			       t->inserted == 1 ? "row" : "rows");
	}
}

static int print_json(const char *from, const struct rv_store_copy_result *r, bool merge)
{
	json_t *o = json_object(), *tables = json_array();
	char *s;

	if (!o || !tables) {
		json_decref(o);
		json_decref(tables);
		return -1;
	}
	json_object_set_new(o, "from", json_string(from));
	json_object_set_new(o, "merge", json_boolean(merge));
	json_object_set_new(o, "sqlite_schema_version", json_integer(r->sqlite_version));
	json_object_set_new(o, "postgres_schema_version", json_integer(r->pg_version));
	for (int i = 0; i < RV_STORE_COPY_TABLES; i++) {
		const struct rv_store_copy_table *t = &r->tables[i];

		json_array_append_new(tables, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}",
							"table", t->name, "target", t->target,
							"read", (json_int_t)t->read,
							"inserted", (json_int_t)t->inserted,
							"updated", (json_int_t)t->updated,
							"kept", (json_int_t)t->kept));
	}
	json_object_set_new(o, "tables", tables);
	/* a path that is not UTF-8 makes json_string NULL: the key is then
	 * missing, never the output */
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		return -1;
	puts(s);
	free(s);
	return 0;
}

int migrate_main(int argc, char **argv)
{
	struct rv_store_copy_options opts = { 0 };
	struct rv_store_copy_result res;
	const char *from = NULL, *to = NULL;
	bool json = false;
	char why[512];
	int opt, err;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":hV", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_FROM:
			if (!*optarg)
				usage_error("--from: empty path");
			from = optarg;
			break;
		case OPT_TO:
			/* the URL is never echoed: it may hold a password */
			if (strncmp(optarg, "postgres://", 11) && strncmp(optarg, "postgresql://", 13))
				usage_error("--to: expected a postgres:// or postgresql:// URL");
			to = optarg;
			break;
		case OPT_MERGE:
			opts.merge = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		default:
			cli_common_opt(PROG, usage_text, opt, argv);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!from)
		usage_error("--from is required (the SQLite store to copy)");
	if (!to)
		usage_error("--to is required (the PostgreSQL database to copy into)");
	err = rv_store_copy(from, to, &opts, &res, why, sizeof(why));
	if (err == RV_EINVAL)
		usage_error("--to: %s", why);
	if (err == RV_ESTATE) {
		fprintf(stderr, PROG ": %s (--merge copies into it, the newer row of each"
			" session winning)\n", why);
		return 1;
	}
	if (err) {
		fprintf(stderr, PROG ": %s\n", why);
		return 1;
	}
	if (json) {
		if (print_json(from, &res, opts.merge)) {
			fprintf(stderr, PROG ": out of memory (the copy is committed)\n");
			return 1;
		}
	} else {
		print_text(&res, opts.merge);
	}
	return fflush(stdout) ? 1 : 0;
}
