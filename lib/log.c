/* lib/log.c - leveled text or JSON Lines logging to stderr (see log.h). */
#include "revenge/log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "revenge/error.h"
#include "revenge/proto.h"

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int rv_log_level_parse(const char *s, enum rv_log_level *out)
{
	for (int i = 0; i <= RV_LOG_DEBUG; i++)
		if (!strcmp(s, level_names[i])) {
			*out = (enum rv_log_level)i;
			return 0;
		}
	return RV_EINVAL;
}

/* s with each byte above 0x7f as '?' unless s is valid UTF-8: a log line
 * is always valid UTF-8, whatever a client sent. */
static int safe_byte(const char *s, bool utf8_ok, size_t i)
{
	unsigned char c = (unsigned char)s[i];

	return c >= 0x80 && !utf8_ok ? '?' : c;
}

/* s between double quotes, '"' and '\\' escaped, control bytes written
 * with ctl_fmt ("\\u%04x" for JSON, "\\x%02x" for text). */
static void quoted(FILE *f, const char *s, const char *ctl_fmt)
{
	bool ok = rv_utf8_valid(s, strlen(s));

	fputc('"', f);
	for (size_t i = 0; s[i]; i++) {
		int c = safe_byte(s, ok, i);

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, ctl_fmt, c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_string(FILE *f, const char *s)
{
	quoted(f, s, "\\u%04x");
}

/* A text field's value: bare when it is a plain word, else quoted. */
static void text_value(FILE *f, const char *s)
{
	bool ok = rv_utf8_valid(s, strlen(s)), bare = *s != '\0';

	for (const char *p = s; *p && bare; p++)
		bare = (unsigned char)*p > 0x20 && *p != '"' && *p != '=' && *p != '\\' &&
		       *p != 0x7f;
	if (bare) {
		for (size_t i = 0; s[i]; i++)
			fputc(safe_byte(s, ok, i), f);
		return;
	}
	quoted(f, s, "\\x%02x");
}

/* A message made by the server may quote a client (a reason, a path):
 * control bytes in the text form are escaped so it stays one line. */
static void text_msg(FILE *f, const char *s)
{
	bool ok = rv_utf8_valid(s, strlen(s));

	for (size_t i = 0; s[i]; i++) {
		int c = safe_byte(s, ok, i);

		if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static void emit(const struct rv_log *log, enum rv_log_level level, const char *event,
		 const struct rv_log_field *fields, size_t n, const char *msg)
{
	char stamp[40];
	struct timespec ts;
	struct tm tm;
	FILE *f = log->out ? log->out : stderr;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (log->json) {
		fprintf(f, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"event\":", stamp,
			ts.tv_nsec / 1000000, level_names[level]);
		json_string(f, event);
		for (size_t i = 0; i < n; i++) {
			if (!fields[i].is_num && !fields[i].str)
				continue;
			fputc(',', f);
			json_string(f, fields[i].key);
			fputc(':', f);
			if (fields[i].is_num)
				fprintf(f, "%lld", fields[i].num);
			else
				json_string(f, fields[i].str);
		}
		fputs(",\"msg\":", f);
		json_string(f, msg);
		fputs("}\n", f);
	} else {
		fprintf(f, "%s.%03ldZ %s %s: %s", stamp, ts.tv_nsec / 1000000,
			log->prog ? log->prog : "revenge", level_names[level], event);
		if (msg[0]) {
			fputc(' ', f);
			text_msg(f, msg);
		}
		for (size_t i = 0; i < n; i++) {
			if (!fields[i].is_num && !fields[i].str)
				continue;
			fprintf(f, " %s=", fields[i].key);
			if (fields[i].is_num)
				fprintf(f, "%lld", fields[i].num);
			else
				text_value(f, fields[i].str);
		}
		fputc('\n', f);
	}
	fflush(f);
}

void rv_log(const struct rv_log *log, enum rv_log_level level, const char *event,
	    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!log || level > log->level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(log, level, event, NULL, 0, msg);
}

void rv_log_kv(const struct rv_log *log, enum rv_log_level level, const char *event,
	       const struct rv_log_field *fields, size_t n, const char *fmt, ...)
{
	char msg[1024] = "";
	va_list ap;

	if (!log || level > log->level)
		return;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	emit(log, level, event, fields, n, msg);
}
