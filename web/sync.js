/* web/sync.js - the party clock in the browser, pure (no DOM, no clock read
 * it was not handed): the NTP-style offset estimator (lib/clock.c's, kept
 * to its core: the sample of least round trip in a window), the schedule
 * of playback states (a state whose server_time is ahead holds until
 * then, as rv_schedule does) and the correction policy of lib/correct.c
 * (small drift by playbackRate, large by a seek, hysteresis, at most one
 * seek per interval). app.js drives it; tests/helpers/web_sync_test.js
 * checks it under node.
 */
(function (root) {
	"use strict";

	/* ---- offset: server time = client time + offset */
	var WINDOW = 16;        /* samples kept; the least RTT among them wins */

	function Offset() {
		this.samples = [];
	}
	/* t0 sent, t1 server read, t2 server wrote, t3 received (ms). */
	Offset.prototype.add = function (t0, t1, t2, t3) {
		var rtt = (t3 - t0) - (t2 - t1);
		if (!isFinite(rtt) || rtt < 0 || rtt > 60000)
			return;
		this.samples.push({ offset: ((t1 - t0) + (t2 - t3)) / 2, rtt: rtt });
		if (this.samples.length > WINDOW)
			this.samples.shift();
	};
	Offset.prototype.best = function () {
		var b = null;
		for (var i = 0; i < this.samples.length; i++)
			if (!b || this.samples[i].rtt < b.rtt)
				b = this.samples[i];
		return b;
	};
	Offset.prototype.ready = function () {
		return this.samples.length > 0;
	};
	/* Estimated server time at client time now (ms). */
	Offset.prototype.serverNow = function (now) {
		var b = this.best();
		return now + (b ? b.offset : 0);
	};
	/* The error bound of that estimate: half the best round trip (ms). */
	Offset.prototype.errorMs = function () {
		var b = this.best();
		return b ? b.rtt / 2 : null;
	};

	/* ---- states: {position (s), playing, speed, server_time (ms)} */
	function positionAt(st, t) {
		if (!st)
			return 0;
		if (!st.playing)
			return st.position;
		return st.position + Math.max(0, t - st.server_time) / 1000 * st.speed;
	}

	function valid(st) {
		return st && isFinite(st.position) && st.position >= 0 && isFinite(st.speed) &&
			st.speed > 0 && isFinite(st.server_time) && typeof st.playing === "boolean";
	}

	/* The state in force and the one pending (ahead of the clock). */
	function Schedule() {
		this.current = null;
		this.pending = null;
	}
	/* A new state at server time now: a newer one replaces any pending. */
	Schedule.prototype.push = function (st, now) {
		if (!valid(st))
			return false;
		st = { position: st.position, playing: st.playing, speed: st.speed,
		       server_time: st.server_time };
		this.advance(now);
		if (st.server_time > now && this.current)
			this.pending = st;
		else {
			this.current = st;
			this.pending = null;
		}
		return true;
	};
	/* Make a pending state current once its time has come; true then. */
	Schedule.prototype.advance = function (now) {
		if (this.pending && this.pending.server_time <= now) {
			this.current = this.pending;
			this.pending = null;
			return true;
		}
		return false;
	};
	/* The state in force at server time now. */
	Schedule.prototype.state = function (now) {
		this.advance(now);
		return this.current;
	};
	Schedule.prototype.position = function (now) {
		return positionAt(this.state(now), now);
	};

	/* ---- correction, lib/correct.c's policy and defaults */
	var POLICY = {
		deadBandMs: 20, settleBandMs: 5, maxRateDelta: 0.05, convergeMs: 2000,
		seekThresholdMs: 1000, maxConvergeMs: 20000, minSeekIntervalMs: 5000,
	};

	function Corrector(policy) {
		this.p = policy || POLICY;
		this.reset();
	}
	Corrector.prototype.reset = function () {
		this.correcting = false;
		this.lastSeek = null;
	};
	/* One decision at now (ms, monotonic) for a player at playerS whose
	 * target is targetS, the party at speed base: {action: "none"},
	 * {action: "rate", rate} or {action: "seek", to, rate}. */
	Corrector.prototype.step = function (now, playerS, targetS, base) {
		var p = this.p;
		if (!isFinite(now) || !isFinite(playerS) || !isFinite(targetS) ||
		    !isFinite(base) || !(base > 0)) {
			if (!this.correcting)
				return { action: "none" };
			this.correcting = false;
			return { action: "rate", rate: isFinite(base) && base > 0 ? base : 1 };
		}
		var drift = (playerS - targetS) * 1000, adrift = Math.abs(drift);
		var catchup = base * p.maxRateDelta;
		var seekOk = this.lastSeek === null || !(now - this.lastSeek < p.minSeekIntervalMs);
		if ((adrift >= p.seekThresholdMs || !(adrift <= catchup * p.maxConvergeMs)) && seekOk) {
			this.lastSeek = now;
			this.correcting = false;
			return { action: "seek", to: targetS, rate: base };
		}
		if (!this.correcting) {
			if (!(adrift > p.deadBandMs))
				return { action: "none" };
			this.correcting = true;
		} else if (adrift <= p.settleBandMs) {
			this.correcting = false;
			return { action: "rate", rate: base };
		}
		var delta = -drift / (p.convergeMs > 0 ? p.convergeMs : 1);
		delta = Math.max(-catchup, Math.min(catchup, delta));
		return { action: "rate", rate: base + delta };
	};

	/* ---- media urls: what the server accepts (lib/proto_media.c) */
	function validMediaUrl(u) {
		if (typeof u !== "string" || u.length < 1 || u.length > 2048)
			return false;
		if (/[\u0000-\u0020\u007f-\u009f\\]/.test(u))
			return false;
		if (/^https?:\/\//i.test(u))
			return /^https?:\/\/[^\/?#]/i.test(u);
		if (u.slice(0, 2) === "//")
			return false;
		var first = u.split(/[\/?#]/)[0];
		return first.indexOf(":") < 0;
	}

	var api = { Offset: Offset, Schedule: Schedule, Corrector: Corrector, POLICY: POLICY,
		    positionAt: positionAt, validMediaUrl: validMediaUrl };
	if (typeof module !== "undefined" && module.exports)
		module.exports = api;
	else
		root.RvSync = api;
})(this);
