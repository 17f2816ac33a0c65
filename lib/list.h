/* lib/list.h - internal: the one intrusive doubly linked list of the
 * library (connections by keep-alive time, connections with frames to
 * write, a session's subscribers, a party's members).
 *
 * As in BSD's <sys/queue.h> (which tmux uses throughout), the links live in
 * the element and the operations are macros, so one element can sit on
 * several lists and nothing is allocated. An element of a list has two
 * pointer fields named P##prev and P##next, for a prefix P chosen per list
 * (empty for a struct's main list: fields prev and next); a list is
 * RV__LIST(type) { first, last }, zeroed when empty. Every operation is
 * O(1) but foreach. An element must not be appended to a list it is on.
 */
#ifndef REVENGE_LIST_H
#define REVENGE_LIST_H

#include <stddef.h>

#define RV__LIST(type) struct { type *first, *last; }

#define RV__LIST_EMPTY(list) ((list)->first == NULL)

/* Add elm at the end of list. */
#define RV__LIST_APPEND(list, elm, P) do {                              \
	(elm)->P##next = NULL;                                          \
	(elm)->P##prev = (list)->last;                                  \
	if ((list)->last)                                               \
		(list)->last->P##next = (elm);                          \
	else                                                            \
		(list)->first = (elm);                                  \
	(list)->last = (elm);                                           \
} while (0)

/* Add elm at the front of list. */
#define RV__LIST_PREPEND(list, elm, P) do {                             \
	(elm)->P##prev = NULL;                                          \
	(elm)->P##next = (list)->first;                                 \
	if ((list)->first)                                              \
		(list)->first->P##prev = (elm);                         \
	else                                                            \
		(list)->last = (elm);                                   \
	(list)->first = (elm);                                          \
} while (0)

/* Take elm, which is on list, off it; its links are cleared. */
#define RV__LIST_REMOVE(list, elm, P) do {                              \
	if ((elm)->P##prev)                                             \
		(elm)->P##prev->P##next = (elm)->P##next;               \
	else                                                            \
		(list)->first = (elm)->P##next;                         \
	if ((elm)->P##next)                                             \
		(elm)->P##next->P##prev = (elm)->P##prev;               \
	else                                                            \
		(list)->last = (elm)->P##prev;                          \
	(elm)->P##prev = (elm)->P##next = NULL;                         \
} while (0)

/* Each element in order; var must not be removed in the body (see _SAFE). */
#define RV__LIST_FOREACH(var, list, P) \
	for ((var) = (list)->first; (var); (var) = (var)->P##next)

/* Each element in order; var may be removed (or freed) in the body. */
#define RV__LIST_FOREACH_SAFE(var, list, P, tmp) \
	for ((var) = (list)->first; (var) && ((tmp) = (var)->P##next, 1); (var) = (tmp))

#endif
