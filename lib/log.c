/* lib/log.c - leveled text or JSON Lines logging to stderr (see log.h). */
#include "revenge/log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "revenge/error.h"

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

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void rv_log(const struct rv_log *log, enum rv_log_level level, const char *event,
	    const char *fmt, ...)
{
	char msg[1024], stamp[40];
	struct timespec ts;
	struct tm tm;
	FILE *f;
	va_list ap;

	if (!log || level > log->level)
		return;
	f = log->out ? log->out : stderr;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (log->json) {
		fprintf(f, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"event\":", stamp,
			ts.tv_nsec / 1000000, level_names[level]);
		json_string(f, event);
		fputs(",\"msg\":", f);
		json_string(f, msg);
		fputs("}\n", f);
	} else {
		fprintf(f, "%s.%03ldZ %s %s: %s%s%s\n", stamp, ts.tv_nsec / 1000000,
			log->prog ? log->prog : "revenge", level_names[level], event,
			msg[0] ? " " : "", msg);
	}
	fflush(f);
}
