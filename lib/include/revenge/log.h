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

/* One field of a structured line: key with a string (str) or, when is_num,
 * an integer (num). A field whose str is NULL is left out. */
struct rv_log_field {
	const char *key;
	const char *str;
	long long num;
	bool is_num;
};

#define RV_LOG_STR(k, v) { .key = (k), .str = (v) }
#define RV_LOG_INT(k, v) { .key = (k), .num = (long long)(v), .is_num = true }
/* The fields argument pair of rv_log_kv: an array and its length. */
#define RV_LOG_FIELDS(...) (const struct rv_log_field[]){ __VA_ARGS__ }, \
	sizeof((const struct rv_log_field[]){ __VA_ARGS__ }) / sizeof(struct rv_log_field)

/* rv_log with fields: in JSON each is a key of the line (a number for an
 * integer), before "msg"; in text they follow the message as key=value,
 * the value in double quotes (with \" \\ and \xNN escapes) when it is
 * empty or holds a space, quote, '=' or a control byte, so that a value
 * from a client can neither end the line nor pass for another field. A
 * string that is not valid UTF-8 has its bytes above 0x7f written as '?'.
 * fmt may be NULL: no message. Never fails. */
void rv_log_kv(const struct rv_log *log, enum rv_log_level level, const char *event,
	       const struct rv_log_field *fields, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

#ifdef __cplusplus
}
#endif

#endif
