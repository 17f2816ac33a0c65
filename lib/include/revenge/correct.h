/* revenge/correct.h - how a player follows the party's position (pure).
 *
 * Given the player's position, the target (the party state extrapolated to
 * the estimated server time, rv_offset_get_ex + rv_playback_position_at) and
 * its own state, rv_correct_step decides: nothing, a playback rate, or a
 * seek. Small drifts are removed by playing a little faster or slower,
 * which nobody notices; large ones by a seek, which everyone notices but
 * which is over at once.
 *
 * Thresholds (defaults) and why: correction starts above dead_band_ms
 * (20 ms) and stops only within settle_band_ms (5 ms), a hysteresis so a
 * player hovering at the edge does not toggle its rate. The rate moves the
 * drift to zero with time constant converge_ms (2 s: "a few seconds"),
 * bounded by +-max_rate_delta (5 %, inaudible for speech and music with
 * pitch correction). A drift of seek_threshold_ms (1 s) or more, or one the
 * bounded rate would need more than max_converge_ms (20 s) to remove, is
 * seeked instead, but at most once per min_seek_interval_ms (5 s): a seek
 * takes the player time and lands late, so seeking again at once would
 * oscillate; until then the rate keeps working at its bound. Jellyfin
 * SyncPlay uses speed correction for 60-3000 ms and skips at >= 400 ms;
 * Syncplay slows down at 1.5 s. Their bands are wide because their clock
 * estimates are wide; ours is good to a few ms (clock.h), so ours can be
 * narrower.
 */
#ifndef REVENGE_CORRECT_H
#define REVENGE_CORRECT_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rv_correct_policy {
	double dead_band_ms;         /* start correcting above this drift */
	double settle_band_ms;       /* stop correcting within this drift */
	double max_rate_delta;       /* |rate/base - 1| at most */
	double converge_ms;          /* time constant of the rate correction */
	double seek_threshold_ms;    /* seek at this drift or more */
	double max_converge_ms;      /* seek when the rate would take longer */
	double min_seek_interval_ms; /* at least this long between seeks */
};

struct rv_correct_state {
	bool correcting;             /* a rate correction is under way */
	bool seeked;                 /* last_seek_ms is valid */
	double last_seek_ms;         /* now_ms of the last seek */
};

enum rv_correct_action {
	RV_CORRECT_NONE,             /* leave the player as it is */
	RV_CORRECT_RATE,             /* set the playback rate to *out_rate */
	RV_CORRECT_SEEK,             /* seek to *out_seek_s, rate to *out_rate */
};

/* The defaults above. */
void rv_correct_policy_default(struct rv_correct_policy *p);

/* A fresh state: not correcting, never seeked. */
void rv_correct_reset(struct rv_correct_state *s);

/* One decision at now_ms (any monotonic ms clock) for a player at
 * player_pos_s whose target is target_pos_s, the party playing at
 * base_speed. RATE returns the rate to set (base_speed itself when a
 * correction ends); SEEK the position and base_speed. Non-finite input or
 * base_speed <= 0 decides NONE, or RATE back to base_speed (1 if that is
 * garbage too) if a correction was under way. Outputs may be NULL. */
enum rv_correct_action rv_correct_step(const struct rv_correct_policy *p,
				       struct rv_correct_state *s, double now_ms,
				       double player_pos_s, double target_pos_s,
				       double base_speed, double *out_rate,
				       double *out_seek_s);

#ifdef __cplusplus
}
#endif

#endif
