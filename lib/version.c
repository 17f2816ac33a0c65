/* lib/version.c - the library's version, set by the Makefile (VERSION). */
#include "revenge/version.h"

#ifndef RV_VERSION
#error "RV_VERSION must be defined (the Makefile passes -DRV_VERSION)"
#endif

const char *rv_version(void)
{
	return RV_VERSION;
}
