/* revenge/quality.h - the profile ladder and the bandwidth suggester (pure).
 *
 * The suggester follows what shipping players do. Like hls.js it keeps two
 * exponentially weighted moving averages of the reported bandwidth, with
 * half-lives of about 3 s and 9 s, each sample weighted by the time since
 * the previous report, and trusts the smaller one. It keeps the current
 * profile while 0.95 x the bandwidth can carry it (the bandwidth being the
 * smaller of the estimate and the report itself, so a collapse is followed
 * on its first report, several steps at once if need be), and steps up one
 * profile only when 0.7 x the estimate, and 0.7 x the report, carry the
 * next one for several reports in a row. dash.js's single 0.9 safety
 * factor sits between the two. So a collapse is followed at once, a
 * recovery only when it lasts, and a bandwidth wobbling around a boundary
 * does not flap. Nothing here reads a clock: report arrival times are
 * arguments.
 */
#ifndef REVENGE_QUALITY_H
#define REVENGE_QUALITY_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RV_LADDER_MAX 16
#define RV_PROFILE_NAME_MAX 32

#define RV_QUALITY_FAST_HALF_LIFE_S 3.0
#define RV_QUALITY_SLOW_HALF_LIFE_S 9.0
#define RV_QUALITY_DOWN_FACTOR 0.95   /* stay while 0.95 x bandwidth >= bitrate */
#define RV_QUALITY_UP_FACTOR 0.7      /* up when 0.7 x estimate >= next bitrate */
#define RV_QUALITY_UP_REPORTS 3       /* ... in this many reports in a row */

struct rv_profile {
	char name[RV_PROFILE_NAME_MAX + 1];
	unsigned kbps;
};

/* Profiles, highest bitrate first, names unique. */
struct rv_ladder {
	struct rv_profile p[RV_LADDER_MAX];
	unsigned n;
};

/* The default ladder: 2160p 16000, 1080p 8000, 720p 4000, 480p 1500,
 * 360p 800. */
void rv_ladder_default(struct rv_ladder *l);

/* Parse "2160p:16000,1080p:8000,..." (any order; sorted highest first).
 * Names are 1-32 characters of [A-Za-z0-9_.-], distinct (case-sensitive);
 * bitrates 1-10000000 kbps in decimal digits only, distinct; 1-16 profiles.
 * Spaces and tabs around an item and either side of its ':' are ignored
 * (" 720p : 4000 , 480p:1500"); anywhere else they are an error, as are
 * empty items (",,", a trailing ','). Returns 0, or RV_EINVAL with a
 * one-line reason in err naming the first bad item by number and quoted
 * text (ladder item 2 'hd:4000': bitrate 4000 already used by '720p'); err
 * may be NULL, and *l is left untouched on failure. */
int rv_ladder_parse(const char *spec, struct rv_ladder *l, char *err, size_t errlen);

/* Index of the profile named name, or -1. */
int rv_ladder_find(const struct rv_ladder *l, const char *name);

/* The profile a new session starts at: "1080p" when the ladder has it,
 * else the highest at or below 8000 kbps, else the lowest; -1 for an empty
 * ladder. */
int rv_ladder_initial(const struct rv_ladder *l);

/* One session's suggester state; zero-initialise or rv_quality_init. */
struct rv_quality {
	double fast, slow;            /* EWMA numerators (kbps) */
	double fast_w, slow_w;        /* total sample weight, for bias correction */
	double last_ms;               /* arrival time of the previous report */
	bool has_sample;
	unsigned up_streak;           /* consecutive reports carrying the next one up */
	int suggested;                /* last profile suggested, -1 none */
};

void rv_quality_init(struct rv_quality *q);

/* The smoothed estimate (kbps): the smaller of the two averages, 0 before
 * any report. */
double rv_quality_estimate(const struct rv_quality *q);

/* Feed one report of kbps (finite, >= 0) that arrived at now_ms while the
 * session plays profile current (an index into l). Returns the index of a
 * profile to suggest, or -1 for no suggestion (stay, or the same suggestion
 * was already made). A report weighs the seconds since the previous one,
 * clamped to 0.1-10 (the first weighs 1; an earlier or non-finite now_ms
 * weighs 0.1). A NaN, infinite or negative kbps is ignored; more than 1e9
 * counts as 1e9. With current out of range or l NULL the report still
 * counts, and -1 is returned. */
int rv_quality_report(struct rv_quality *q, const struct rv_ladder *l, int current,
		      double kbps, double now_ms);

/* The session changed profile (a quality_request): forget the last
 * suggestion and the up streak. */
void rv_quality_changed(struct rv_quality *q);

#ifdef __cplusplus
}
#endif

#endif
