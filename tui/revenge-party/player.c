/* tui/revenge-party/player.c - the simulated player (see player.h).
 *
 * Owns the player's position and rate and its correction state. The
 * decisions are librevenge's (rv_correct_step); this only applies them to
 * a position that moves with time, and says where it is.
 */
#include "player.h"

#include <math.h>
#include <stdio.h>

void tm_player_init(struct tm_player *pl)
{
	*pl = (struct tm_player){ .rate = 1, .last_seek_ms = -INFINITY,
				  .next_status_ms = -INFINITY };
	rv_correct_policy_default(&pl->policy);
	rv_correct_reset(&pl->cs);
}

void tm_player_reset(struct tm_player *pl)
{
	tm_player_init(pl);
}

double tm_player_position(const struct tm_player *pl, double local_ms)
{
	if (!pl->playing || !(local_ms > pl->at_ms))
		return pl->pos_s;
	return pl->pos_s + (local_ms - pl->at_ms) / 1000 * pl->rate;
}

static void seek(struct tm_player *pl, double to_s, double local_ms)
{
	pl->pos_s = to_s;
	pl->last_seek_ms = local_ms;
}

static bool same_state(const struct rv_playback *a, const struct rv_playback *b)
{
	return a->position == b->position && a->playing == b->playing &&
	       a->speed == b->speed && a->server_time == b->server_time;
}

void tm_player_step(struct tm_player *pl, const struct rv_playback *latest, double server_ms,
		    double local_ms)
{
	const struct rv_playback *st;
	double target, rate, to;

	if (!isfinite(server_ms) || !isfinite(local_ms))
		return;
	if (!pl->has_sched) {
		rv_schedule_init(&pl->sched, latest);
		pl->has_sched = true;
	} else if (!same_state(&pl->last, latest)) {
		rv_schedule_push(&pl->sched, latest, server_ms);
	}
	pl->last = *latest;
	st = rv_schedule_at(&pl->sched, server_ms);
	target = rv_playback_position_at(st, server_ms);
	rate = st->speed;
	to = target;
	if (!isfinite(target))
		return;
	if (!pl->started) {
		/* opening the video at the party's position is no correction */
		pl->started = true;
		pl->pos_s = target;
		pl->rate = st->speed;
	} else {
		pl->pos_s = tm_player_position(pl, local_ms);
	}
	pl->at_ms = local_ms;
	pl->playing = st->playing;
	pl->drift_ms = (pl->pos_s - target) * 1000;
	/* A new state far from where the player is: the host seeked, and a
	 * player obeys a seek at once. The policy's spacing of seeks is for
	 * correcting drift, not for commands. */
	if (!same_state(&pl->applied, st) && fabs(pl->drift_ms) >= pl->policy.seek_threshold_ms) {
		rv_correct_reset(&pl->cs);
		seek(pl, target, local_ms);
		pl->drift_ms = 0;
	}
	pl->applied = *st;
	if (!st->playing) {
		/* a paused player is put where the party paused, at once */
		pl->cs.correcting = false;
		pl->rate = st->speed;
		if (fabs(pl->drift_ms) > pl->policy.dead_band_ms) {
			seek(pl, target, local_ms);
			pl->drift_ms = 0;
		}
		return;
	}
	switch (rv_correct_step(&pl->policy, &pl->cs, local_ms, pl->pos_s, target, st->speed,
				&rate, &to)) {
	case RV_CORRECT_SEEK:
		seek(pl, to, local_ms);
		pl->rate = rate;
		break;
	case RV_CORRECT_RATE:
		pl->rate = rate;
		break;
	case RV_CORRECT_NONE:
		/* a speed change while in sync is followed at once */
		if (!pl->cs.correcting)
			pl->rate = st->speed;
		break;
	}
}

enum tm_sync tm_player_sync(const struct tm_player *pl, double local_ms)
{
	if (!pl->started)
		return TM_SYNC_NONE;
	if (local_ms - pl->last_seek_ms < TM_SEEK_SHOWN_MS)
		return TM_SYNC_SEEKING;
	return pl->cs.correcting ? TM_SYNC_CORRECTING : TM_SYNC_IN;
}

void tm_player_sync_text(const struct tm_player *pl, double local_ms, char *buf, size_t size)
{
	switch (tm_player_sync(pl, local_ms)) {
	case TM_SYNC_NONE:
		snprintf(buf, size, "%s", "");
		break;
	case TM_SYNC_IN:
		snprintf(buf, size, "in sync");
		break;
	case TM_SYNC_CORRECTING:
		snprintf(buf, size, "drifting %+.0f ms", pl->drift_ms);
		break;
	case TM_SYNC_SEEKING:
		snprintf(buf, size, "buffering (seeking)");
		break;
	}
}

int tm_player_status(struct tm_player *pl, const struct rv_offset_est *est, double local_ms,
		     char *buf, size_t size)
{
	double offset, err, pos = tm_player_position(pl, local_ms);
	int n;

	if (!pl->started || local_ms < pl->next_status_ms || !isfinite(pos))
		return 0;
	pl->next_status_ms = local_ms + TM_STATUS_EVERY_MS;
	/* within what the server takes: a status it refused would cost an
	 * error notice every second */
	pos = fmin(fmax(pos, 0), 1e9);
	n = snprintf(buf, size, "{\"type\":\"status\",\"payload\":{\"position\":%.6f,"
		     "\"playing\":%s,\"buffering\":false", pos, pl->playing ? "true" : "false");
	if (rv_offset_get_ex(est, local_ms, &offset, NULL, &err) && isfinite(local_ms + offset) &&
	    local_ms + offset >= 0 && err <= 1e9)
		n += snprintf(buf + n, n < (int)size ? size - (size_t)n : 0,
			      ",\"at\":%.3f,\"clock_error_ms\":%.3f", local_ms + offset, err);
	n += snprintf(buf + n, n < (int)size ? size - (size_t)n : 0, "}}");
	return n > 0 && (size_t)n < size;
}
