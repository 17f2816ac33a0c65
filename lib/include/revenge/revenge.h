/* revenge/revenge.h - the umbrella header of librevenge.
 *
 * librevenge keeps a group of people watching the same video in step over
 * WebSocket. Pure core: proto (codec), party (state machine), clock. Adapters:
 * server (libwebsockets on libev), client, metrics, log; token checks the
 * connection tokens (JWT, over libjwt).
 */
#ifndef REVENGE_REVENGE_H
#define REVENGE_REVENGE_H

#include "backoff.h"
#include "client.h"
#include "clock.h"
#include "correct.h"
#include "error.h"
#include "forwarded.h"
#include "frame.h"
#include "log.h"
#include "metrics.h"
#include "party.h"
#include "proto.h"
#include "quality.h"
#include "server.h"
#include "store.h"
#include "store_backup.h"
#include "store_copy.h"
#include "systime.h"
#include "token.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
