/* revenge/log.h - leveled, optionally structured (JSON Lines) log output.
 *
 * A logger is a small value owned by whoever runs the program; the library
 * only ever logs through the one it was handed. Lines go to stderr.
 */
#ifndef REVENGE_LOG_H
#define REVENGE_LOG_H

#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum rv_log_level { RV_LOG_ERROR = 0, RV_LOG_WARN, RV_LOG_INFO, RV_LOG_DEBUG };

struct rv_log {
	enum rv_log_level level;   /* lines above this level are dropped */
	bool json;                 /* JSON Lines instead of text */
	FILE *out;                 /* NULL means stderr */
	const char *prog;          /* prefix for text lines */
};

/* Parse "error|warn|info|debug"; returns 0 or RV_EINVAL. */
int rv_log_level_parse(const char *s, enum rv_log_level *out);

/* Log one line: event is a short machine-friendly word ("listening",
 * "client_closed"); fmt adds human detail. NULL log is silent. Never fails. */
void rv_log(const struct rv_log *log, enum rv_log_level level, const char *event,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#ifdef __cplusplus
}
#endif

#endif
