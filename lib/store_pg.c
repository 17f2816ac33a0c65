/* lib/store_pg.c - the PostgreSQL backend of the store seam
 * (store_writer.h, --db postgres://...): not built yet, refused. */
#include <stdio.h>

#include "revenge/error.h"

#include "store_writer.h"

int rv__store_pg_backend_new(struct rv__hub *hub, const char *uri,
			     struct rv__store_backend **out, char *why, size_t why_len)
{
	snprintf(why, why_len, "--db: PostgreSQL stores are not supported by this build yet");
	return RV_EINVAL;
}
