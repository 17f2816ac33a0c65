/* lib/version.c - the library's version and commit, set by the Makefile
 * (VERSION, COMMIT). */
#include "revenge/version.h"

#ifndef RV_VERSION
#error "RV_VERSION must be defined (the Makefile passes -DRV_VERSION)"
#endif

const char *rv_version(void)
{
	return RV_VERSION;
}

#ifndef RV_COMMIT
#define RV_COMMIT ""
#endif

const char *rv_version_commit(void)
{
	return RV_COMMIT;
}
