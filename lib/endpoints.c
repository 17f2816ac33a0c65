/* lib/endpoints.c - the table of WebSocket endpoints the server serves.
 *
 * As tmux's cmd.c lists its commands: one declaration and one table line
 * per endpoint, each defined in its own lib/ep_NAME.c (see endpoint.h).
 */
#include "endpoint.h"

extern const struct rv__endpoint rv__ep_party;
extern const struct rv__endpoint rv__ep_progress;
extern const struct rv__endpoint rv__ep_stream;

const struct rv__endpoint *const rv__endpoints[] = {
	&rv__ep_party,
	&rv__ep_progress,
	&rv__ep_stream,
};

const unsigned rv__n_endpoints = sizeof(rv__endpoints) / sizeof(rv__endpoints[0]);
