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

/* Run it; prints the result (table or JSON). Returns the exit status:
 * 0, or 1 when connections failed or were closed by the server. */
int chat_run(const struct chat_opts *o);

#endif
