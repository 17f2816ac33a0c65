/* tui/revenge-party/player.h - a simulated player that follows the party
 * clock (pure: times are arguments).
 *
 * revenge-party has no video, but it plays one in its head: a position that
 * advances at the player's own rate and is steered toward the party's
 * position by librevenge's correction policy (correct.h): a small drift by
 * a bounded rate change, a large one by a seek. What it shows is that
 * position, and it tells the server where it is (`status`) every
 * TM_STATUS_EVERY_MS, which is what the host's drift report is made of.
 */
#ifndef REVENGE_TUI_PLAYER_H
#define REVENGE_TUI_PLAYER_H

#include <stdbool.h>
#include <stddef.h>

#include <revenge/revenge.h>

#define TM_STATUS_EVERY_MS 1000.0
/* "seeking" shows this long after a seek: a real player takes about as
 * long to land. */
#define TM_SEEK_SHOWN_MS 1000.0

enum tm_sync { TM_SYNC_NONE, TM_SYNC_IN, TM_SYNC_CORRECTING, TM_SYNC_SEEKING };

struct tm_player {
	bool started;                   /* has a position */
	bool playing;
	double pos_s;                   /* at local time at_ms */
	double at_ms;
	double rate;                    /* position s per s of local time */
	double drift_ms;                /* player - party at the last step */
	double last_seek_ms;            /* local; -INFINITY: never */
	double next_status_ms;          /* local; when a status is due */
	struct rv_correct_policy policy;
	struct rv_correct_state cs;
	/* The party states seen, as a player applies them: one stamped in
	 * the future (a scheduled command) is pending until its server_time
	 * and the state before it is followed meanwhile. */
	struct rv_schedule sched;
	struct rv_playback last;        /* the state last handed to a step */
	struct rv_playback applied;     /* the state in force at the last step */
	bool has_sched;
};

/* Stopped, with the default policy; a status due at once. */
void tm_player_init(struct tm_player *pl);
/* Forget the position (a rejoin): the next step starts at the party's. */
void tm_player_reset(struct tm_player *pl);
/* One step at local time local_ms, st being the party's latest state
 * (applied at its server_time when that is still to come) and server_ms
 * the estimated server time: advance, then correct toward the party
 * position. */
void tm_player_step(struct tm_player *pl, const struct rv_playback *st, double server_ms,
		    double local_ms);
/* The player's position at local_ms (extrapolated from the last step). */
double tm_player_position(const struct tm_player *pl, double local_ms);
/* In sync, correcting (by drift_ms) or seeking, at local_ms. */
enum tm_sync tm_player_sync(const struct tm_player *pl, double local_ms);
/* In words: "in sync", "drifting +35 ms" (being corrected), "buffering
 * (seeking)", "" before the first step. */
void tm_player_sync_text(const struct tm_player *pl, double local_ms, char *buf, size_t size);
/* The status to send when one is due at local_ms (then the next is due
 * TM_STATUS_EVERY_MS later): 1 with the JSON text in buf; 0 when none is
 * due or the player has not started. at is the estimated server time of
 * local_ms and clock_error_ms its bound, both left out when est has no
 * estimate yet (or a useless one). The position is kept to 0..1e9 s, what
 * the server takes. */
int tm_player_status(struct tm_player *pl, const struct rv_offset_est *est, double local_ms,
		     char *buf, size_t size);

#endif
