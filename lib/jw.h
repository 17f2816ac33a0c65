/* lib/jw.h - internal: a small JSON writer that builds an rv_frame in place.
 *
 * Encoders write the JSON text straight into the frame that will be sent, so
 * there is no intermediate tree and no copy. Calls after a failure are no-ops
 * and rv__jw_finish then returns NULL: callers check once, at the end.
 *
 * Two levels: the raw writers (lit, raw, str, num, ...) append exactly what
 * they are given; the structured ones (open, close, field, elem and the
 * f-prefixed "key": value writers) also put the commas between a
 * container's entries, so an encoder lists its fields and nothing else.
 */
#ifndef REVENGE_JW_H
#define REVENGE_JW_H

#include <stdbool.h>
#include <stddef.h>

#include "revenge/clock.h"
#include "revenge/frame.h"

struct rv__jw {
	struct rv_frame *f;
	bool failed;
	bool more;              /* the open container has an entry: next needs ',' */
};

/* Start a frame with room for about size_hint bytes (grows as needed). */
void rv__jw_init(struct rv__jw *w, size_t size_hint);
/* Append len raw bytes (already valid JSON). */
void rv__jw_raw(struct rv__jw *w, const char *s, size_t len);
/* Append a NUL-terminated literal piece of JSON. */
void rv__jw_lit(struct rv__jw *w, const char *s);
/* Append s[0..len) as a quoted, escaped JSON string. */
void rv__jw_str(struct rv__jw *w, const char *s, size_t len);
/* Append a NUL-terminated string as a quoted JSON string. */
void rv__jw_cstr(struct rv__jw *w, const char *s);
/* Append a finite number in its shortest round-trip form; non-finite -> 0. */
void rv__jw_num(struct rv__jw *w, double v);
/* Append a server time (ms) with microsecond precision. */
void rv__jw_time(struct rv__jw *w, double ms);
void rv__jw_bool(struct rv__jw *w, bool v);
/* Append "key": (key is a trusted literal needing no escapes). */
void rv__jw_key(struct rv__jw *w, const char *key);
/* Append ,"id":"<id>" when id is non-NULL. */
void rv__jw_id(struct rv__jw *w, const char *id);
/* Append lit (ending in '{' or '['), which opens a container. */
void rv__jw_open(struct rv__jw *w, const char *lit);
/* Append lit (ending in '}' or ']'), which closes one: an entry of the
 * container around it. */
void rv__jw_close(struct rv__jw *w, const char *lit);
/* Start the next entry: the "key": of an object's field, or an array's
 * element; a ',' first unless it is the container's first. */
void rv__jw_field(struct rv__jw *w, const char *key);
void rv__jw_elem(struct rv__jw *w);
/* A whole field: "key": and its value. */
void rv__jw_fstr(struct rv__jw *w, const char *key, const char *s, size_t len);
void rv__jw_fcstr(struct rv__jw *w, const char *key, const char *s);
void rv__jw_fnum(struct rv__jw *w, const char *key, double v);
void rv__jw_ftime(struct rv__jw *w, const char *key, double ms);
void rv__jw_fbool(struct rv__jw *w, const char *key, bool v);
/* The playback fields position, playing, speed, server_time of st. */
void rv__jw_playback(struct rv__jw *w, const struct rv_playback *st);
/* Finish: returns the frame (caller owns, refs = 1) or NULL after any
 * failure (everything freed). */
struct rv_frame *rv__jw_finish(struct rv__jw *w, enum rv_frame_kind kind,
			       int msg_type);
/* Abandon a writer without producing a frame. */
void rv__jw_abort(struct rv__jw *w);

#endif
