/* lib/redis_url.h - internal: the --redis URL, parsed and checked (pure).
 *
 * Accepted forms:
 *   redis://[[user]:password@]host[:port][/db]      TCP; port 6379, db 0
 *   rediss://[[user]:password@]host[:port][/db]     TCP with TLS; the same
 *   unix://[[user]:password@]/path/to.sock[?db=N]   a unix socket
 * The host may be a name, an IPv4 address or a bracketed IPv6 address;
 * with rediss:// it is also what Redis's certificate must name. User and
 * password may carry %XX escapes.
 */
#ifndef REVENGE_REDIS_URL_H
#define REVENGE_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>

#define RV__REDIS_URL_MAX 1024
#define RV__REDIS_HOST_MAX 255
#define RV__REDIS_PATH_MAX 107          /* sun_path less its NUL */
#define RV__REDIS_CRED_MAX 255
#define RV__REDIS_DB_MAX 65535
/* --redis takes a comma-separated list of URLs, one per shard (shard.h):
 * at most this many (metrics.h's RV_METRIC_REDIS_SHARDS_MAX). A comma in
 * a password is written %2C. */
#define RV__REDIS_SHARDS_MAX 16

struct rv__redis_url {
	bool unix_socket;               /* path, else host and port */
	bool tls;                       /* rediss:// */
	char host[RV__REDIS_HOST_MAX + 1];      /* no brackets */
	int port;
	char path[RV__REDIS_PATH_MAX + 1];
	char user[RV__REDIS_CRED_MAX + 1];      /* "" : none (AUTH password alone) */
	char password[RV__REDIS_CRED_MAX + 1];  /* "" : no AUTH */
	bool has_password;
	unsigned db;
};

/* Parse url into *out: 0, or -1 with one line in why saying what is wrong
 * (never echoing the password). */
int rv__redis_url_parse(const char *url, struct rv__redis_url *out, char *why, size_t why_len);

/* Check a comma-separated list of URLs: each parses, none is empty, at
 * most RV__REDIS_SHARDS_MAX, and no two name the same server (host and
 * port, or socket path: two databases of one Redis share its pub/sub and
 * its CPU, so they are no shards). 0 with *n set (n may be NULL), or -1
 * with why saying which URL is wrong and how (never a password). */
int rv__redis_urls_check(const char *list, size_t *n, char *why, size_t why_len);

/* The i-th URL (from 0) of a list rv__redis_urls_check took, into url
 * (len bytes with the NUL): 0, or -1 when there is no such URL or it does
 * not fit. */
int rv__redis_urls_at(const char *list, size_t i, char *url, size_t len);

/* url with any password replaced by "***", into buf (for logs). */
void rv__redis_url_redact(const char *url, char *buf, size_t len);

#endif
