/* cmd/revenge-bench/chat.h - the chat scenario: parties of members, every
 * member chatting at a rate, every member of the party timing each chat.
 */
#ifndef REVENGE_BENCH_CHAT_H
#define REVENGE_BENCH_CHAT_H

#include "common.h"

struct chat_opts {
	struct common_opts c;
	unsigned parties, members;    /* members per party */
	double rate;                  /* chat messages per second per member */
};

/* Run it; prints the result (table or JSON). Returns the exit status
 * (mesh_main's): 0; 1 when connections failed or were closed by the
 * server, a chat got an error reply or a delivery was lost; 130 after
 * Ctrl-C. */
int chat_run(const struct chat_opts *o);

#endif
