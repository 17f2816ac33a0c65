/* cmd/revenge-server/config.h - reading revenge-server's configuration file
 * (INI, through libinih) and masking secrets for --check-config.
 *
 * This module knows the file's syntax, not its keys: main.c owns the option
 * table and decides what a key means, so a flag and its key cannot drift.
 */
#ifndef REVENGE_SERVER_CONFIG_H
#define REVENGE_SERVER_CONFIG_H

#include <stddef.h>

/* The file read when --config is not given, if it exists. */
#define SRV_CONFIG_DEFAULT "/etc/revenge/revenge-server.conf"

/* The store when --db is not given: $STATE_DIRECTORY/revenge.db under
 * systemd's StateDirectory= (the first directory when it names several),
 * else SRV_DEFAULT_DB, relative to the working directory. */
#define SRV_DEFAULT_DB "var/revenge.db"
void srv_default_db(char *out, size_t outlen);

/* inih's line buffer: a line (without its end) may be at most this long. */
#define SRV_CONFIG_LINE_MAX 197

/* One "key = value" of the file, in file order. */
struct srv_config_entry {
	int line;                 /* 1-based */
	char *key;
	char *value;
};

struct srv_config {
	struct srv_config_entry *e;
	size_t n, cap;
};

/* Called for each key as it is read; returns 0 to go on, or -1 with a
 * one-line reason in why (e.g. "unknown key 'x'"), which stops nothing but
 * makes srv_config_read fail at that line. */
typedef int (*srv_config_check)(void *user, int line, const char *key, const char *value,
				char *why, size_t whylen);

/* Read the INI file at path into cfg (which must be zeroed, or freed with
 * srv_config_free before reuse). Sections ([name]) are allowed and only group
 * keys for a reader; comments start a line with ';' or '#', or follow
 * whitespace with ';'. Returns 0; or -1 with "PATH:LINE: reason" in err for
 * the file's first problem (a line that is neither "key = value" nor
 * "[section]", a line over SRV_CONFIG_LINE_MAX, what check refused), or
 * "cannot read 'PATH': reason" when the file cannot be opened or read. The
 * entries read are cfg's own until srv_config_free, on failure too. */
int srv_config_read(const char *path, struct srv_config *cfg, srv_config_check check,
		    void *user, char *err, size_t errlen);

/* The whole text of the file at path, at most SRV_CONFIG_TEXT_MAX bytes,
 * into *text (malloc'd; the caller frees it) and *len: what a reload
 * parses twice (srv_config_read_text), so both parses see one version of
 * the file. 0, or -1 with "cannot read 'PATH': reason" in err. */
#define SRV_CONFIG_TEXT_MAX (1 << 20)
int srv_config_slurp(const char *path, char **text, size_t *len, char *err, size_t errlen);

/* srv_config_read from text (len bytes) already read from path, which
 * only names the file in messages. */
int srv_config_read_text(const char *path, const char *text, size_t len, struct srv_config *cfg,
			 srv_config_check check, void *user, char *err, size_t errlen);

/* Free what cfg holds; NULL-safe; cfg is left empty. */
void srv_config_free(struct srv_config *cfg);

/* Copy a URL (a --db or --redis value) into out with its password masked:
 * "scheme://user:****@host/..." and a "password=****" query parameter. A
 * value that is not a URL (a file path) is copied as it is. */
void srv_mask_url(const char *url, char *out, size_t outlen);

#endif
