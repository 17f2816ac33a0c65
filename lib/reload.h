/* lib/reload.h - internal: what a SIGHUP may change in a running server's
 * configuration (reload.c). server.c calls it with the settings the
 * embedder's on_reload hook read anew.
 */
#ifndef REVENGE_RELOAD_H
#define REVENGE_RELOAD_H

#include <revenge/server.h>

/* Copy into live every setting of next that a running server can take
 * (limits and caps read where they are checked, party settings used by
 * parties made from now on, origins and allowed hosts, the auth leeway,
 * the TLS files' paths), logging each change as config_changed; log each
 * other setting that differs as config_restart_needed, leaving live's.
 * Strings are borrowed from next, which must outlive live. Returns the
 * number of settings changed. */
unsigned rv__reload_apply(struct rv_server_config *live, const struct rv_server_config *next,
			  const struct rv_log *log);

#endif
