/* lib/error.c - text for the library's RV_E* error codes. */
#include "revenge/error.h"

const char *rv_strerror(int err)
{
	switch (err) {
	case RV_OK: return "success";
	case RV_ENOMEM: return "out of memory";
	case RV_EINVAL: return "invalid argument";
	case RV_ERANGE: return "value out of range";
	case RV_ENOENT: return "no such item";
	case RV_EIO: return "I/O error";
	case RV_EFULL: return "container full";
	case RV_EPROTO: return "protocol error";
	case RV_ESTATE: return "not valid in the current state";
	case RV_ETLS: return "TLS set-up failed";
	case RV_EADDR: return "cannot bind or resolve address";
	}
	return "unknown error";
}
