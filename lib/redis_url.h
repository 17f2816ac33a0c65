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

/* url with any password replaced by "***", into buf (for logs). */
void rv__redis_url_redact(const char *url, char *buf, size_t len);

#endif
