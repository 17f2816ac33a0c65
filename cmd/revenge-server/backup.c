/* cmd/revenge-server/backup.c - `revenge-server backup FILE`: an online
 * copy of the server's SQLite store (rv_store_backup), found as the
 * server finds it: --db, else the configuration file's db key, else the
 * default path. Flags in, one summary line (or --json) out.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <revenge/revenge.h>

#include "backup_cmd.h"
#include "cli.h"
#include "config.h"

#define PROG "revenge-server backup"

static const char usage_text[] =
"Usage: revenge-server backup [--db PATH] [--config FILE] [--json] FILE\n"
"\n"
"Copy the server's SQLite store into FILE, a new file, while the server\n"
"runs: one consistent snapshot (SQLite's online backup API), every report\n"
"acked before it began. The server goes on acking meanwhile. FILE is a\n"
"plain SQLite file that a server opens as its store (--db FILE); it is\n"
"written as FILE.tmp, checked and renamed, so it is whole or absent.\n"
"\n"
"Options:\n"
"  --db PATH       the store (default: the db key of the configuration file,\n"
"                  else $STATE_DIRECTORY/revenge.db under systemd, else\n"
"                  ./var/revenge.db, as the server); a postgres:// URL is\n"
"                  refused: back PostgreSQL up with pg_dump\n"
"  --config FILE   the configuration file to read db from (default\n"
"                  " SRV_CONFIG_DEFAULT " when it exists)\n"
"  --json          print the summary as one JSON object on stdout\n"
"  -h, --help      show this help and exit\n"
"  -V, --version   print the version and exit\n"
"\n"
"Exit status: 0 copied, 1 failed (the store is missing, not a revenge store,\n"
"newer than this build or corrupt; FILE exists or cannot be written; the\n"
"store is PostgreSQL), 2 on a usage error.\n";

enum { OPT_DB = 256, OPT_CONFIG, OPT_JSON };

static const struct option long_opts[] = {
	{ "db", required_argument, NULL, OPT_DB },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

#define usage_error(...) cli_usage_error(PROG, __VA_ARGS__)

/* The db key of the configuration file at path (NULL: the default file,
 * when it exists) into out; false when the file has none. A file that
 * cannot be read or parsed is a usage error, as at a server's start. */
static bool db_from_config(const char *path, char *out, size_t outlen)
{
	struct srv_config file = { 0 };
	char err[600];
	bool found = false;

	if (!path) {
		if (access(SRV_CONFIG_DEFAULT, F_OK))
			return false;
		path = SRV_CONFIG_DEFAULT;
	}
	if (srv_config_read(path, &file, NULL, NULL, err, sizeof(err)))
		usage_error("--config: %s", err);
	for (size_t i = 0; i < file.n; i++)
		if (!strcmp(file.e[i].key, "db")) {
			snprintf(out, outlen, "%s", file.e[i].value);
			found = true;
		}
	srv_config_free(&file);
	return found;
}

int backup_main(int argc, char **argv)
{
	struct rv_store_backup_result res;
	const char *db = NULL, *config = NULL, *to;
	char path[4200], why[600];
	bool json = false;
	int opt, err;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":hV", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_DB:
			if (!*optarg)
				usage_error("--db: empty path");
			db = optarg;
			break;
		case OPT_CONFIG:
			if (!*optarg)
				usage_error("--config: empty path");
			config = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		default:
			cli_common_opt(PROG, usage_text, opt, argv);
		}
	}
	if (optind == argc)
		usage_error("FILE is required (the new file to copy the store into)");
	to = argv[optind];
	if (!*to)
		usage_error("FILE: empty path");
	if (optind + 1 < argc)
		usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (!db) {
		if (!db_from_config(config, path, sizeof(path)))
			srv_default_db(path, sizeof(path));
		db = path;
	}
	if (!strncmp(db, "postgres://", 11) || !strncmp(db, "postgresql://", 13)) {
		/* the URL is never echoed: it may hold a password */
		fprintf(stderr, PROG ": the store is PostgreSQL: back it up with pg_dump (e.g."
			" pg_dump -t 'revenge_*' DBNAME); this command copies SQLite stores\n");
		return 1;
	}
	err = rv_store_backup(db, to, &res, why, sizeof(why));
	if (err == RV_EINVAL)
		usage_error("%s", why);
	if (err) {
		fprintf(stderr, PROG ": %s\n", why);
		return 1;
	}
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:i, s:I, s:I, s:I}", "from", db, "to", to,
				      "schema_version", res.version,
				      "progress_rows", (json_int_t)res.progress_rows,
				      "quality_rows", (json_int_t)res.quality_rows,
				      "bytes", (json_int_t)res.bytes);
		char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

		json_decref(o);
		if (!s) {
			fprintf(stderr, PROG ": a path is not UTF-8 or out of memory (the copy is"
				" made)\n");
			return 1;
		}
		puts(s);
		free(s);
	} else {
		printf("%s -> %s: schema version %d, %llu progress %s, %llu quality %s, %llu"
		       " bytes\n", db, to, res.version, (unsigned long long)res.progress_rows,
		       res.progress_rows == 1 ? "row" : "rows",
		       (unsigned long long)res.quality_rows, res.quality_rows == 1 ? "row" : "rows",
		       (unsigned long long)res.bytes);
	}
	return fflush(stdout) ? 1 : 0;
}
