/* cmd/revenge-bench/fill.h - the fill scenario: P parties of M members
 * joining as fast as the server admits them, then one sync per party sent
 * a second after the last join, timed at every member.
 */
#ifndef REVENGE_BENCH_FILL_H
#define REVENGE_BENCH_FILL_H

#include "common.h"

#define FILL_SYNC_AFTER_S 1.0     /* the sync goes out this long after the last join */

struct fill_opts {
	struct common_opts c;
	unsigned parties, members;    /* members per party, the host included */
};

/* Run it; prints the result (table or JSON). Returns the exit status
 * (mesh_main's): 0; 1 when connections failed, were closed by the server,
 * an error reply came, or the quiet sync did not reach every member; 130
 * after Ctrl-C. */
int fill_run(const struct fill_opts *o);

#endif
