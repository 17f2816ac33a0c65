/* revenge/error.h - library-wide error codes and their text.
 *
 * Every library call that can fail returns 0 or one of these negative codes.
 * Protocol-level errors sent to peers are a separate enum (rv_err_code in
 * proto.h); these are for the caller of the library.
 */
#ifndef REVENGE_ERROR_H
#define REVENGE_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
	RV_OK = 0,
	RV_ENOMEM = -1,   /* out of memory */
	RV_EINVAL = -2,   /* invalid argument */
	RV_ERANGE = -3,   /* value out of range */
	RV_ENOENT = -4,   /* no such item */
	RV_EIO = -5,      /* system or library I/O failure */
	RV_EFULL = -6,    /* a bounded container is full */
	RV_EPROTO = -7,   /* the peer broke the protocol */
	RV_ESTATE = -8,   /* call not valid in the current state */
	RV_ETLS = -9,     /* TLS set-up failed */
	RV_EADDR = -10,   /* cannot bind or resolve an address */
};

/* Human text for an RV_E* code; never NULL, static storage. */
const char *rv_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
