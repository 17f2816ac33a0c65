/* web/app.js - the web client: joins /ws/party/{id}, shows members and
 * chat, plays the party's media in a <video> that follows the party clock
 * (sync.js), turns the host's own player controls into host commands, and
 * reports buffering for the waiting room. Plain DOM, no framework; text
 * from the wire only ever goes through textContent.
 */
(function () {
	"use strict";
	var S = window.RvSync;
	var $ = function (id) { return document.getElementById(id); };
	var video = $("video");

	var TICK_MS = 50;               /* the correction loop */
	var STATUS_MS = 1000;           /* status to the server */
	var PING_FAST_MS = 150, PING_SLOW_MS = 2000, PING_FAST_N = 8;
	var AWAIT_MS = 2000;            /* host: hold corrections for its command's reply */

	var app = {
		ws: null, me: null, hostId: null, partyId: null, members: new Map(),
		offset: new S.Offset(), sched: new S.Schedule(), corr: new S.Corrector(),
		media: null, pings: 0, nextId: 1, pendingTimes: new Map(),
		awaitUntil: 0, setRate: 1, seekTarget: null, buffering: false,
		/* what the player itself costs, learned (ms): from play() to the
		 * first frame moving, from a seek to its end */
		startMs: 80, seekMs: 60, playCalledAt: null, seekCalledAt: null,
		ownPlayUntil: 0, ownPauseUntil: 0, startTimer: null, roughOffset: null,
		reconnect: 0, closedByUs: false, timers: [],
	};
	window.rvApp = app;     /* for tests and the curious: read-only use */

	/* what the player did and why, the last 100 (tests print it) */
	app.trace = [];
	function trace(what) {
		app.trace.push(Math.round(performance.now()) + " " + what);
		if (app.trace.length > 100)
			app.trace.shift();
	}

	function clientNow() { return performance.timeOrigin + performance.now(); }
	function serverNow() {
		var c = clientNow();
		return app.offset.ready() || app.roughOffset === null ? app.offset.serverNow(c)
			: c + app.roughOffset;
	}
	function isHost() { return app.me && app.me === app.hostId; }
	function setStatus(t) { $("status").textContent = t; }

	function send(type, payload, id) {
		if (!app.ws || app.ws.readyState !== 1)
			return false;
		var m = { type: type };
		if (payload)
			m.payload = payload;
		if (id)
			m.id = id;
		app.ws.send(JSON.stringify(m));
		return true;
	}
	function reqId(prefix) { return prefix + (app.nextId++); }

	/* ---- joining */
	function partyFromPath() {
		var m = /^\/party\/([A-Za-z0-9_-]{1,64})$/.exec(location.pathname);
		return m ? m[1] : "";
	}

	function connect() {
		var q = new URLSearchParams();
		var name = sessionStorage.getItem("rv-name") || "";
		var token = sessionStorage.getItem("rv-token") || "";
		if (name)
			q.set("name", name);
		if (token)
			q.set("token", token);
		var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
			"/ws/party/" + encodeURIComponent(app.partyId) + (q.toString() ? "?" + q : "");
		setStatus("connecting…");
		app.closedByUs = false;
		var ws = new WebSocket(url, "revenge.v1");
		app.ws = ws;
		ws.onmessage = function (ev) {
			var m;
			try { m = JSON.parse(ev.data); } catch (e) { return; }
			if (m && typeof m.type === "string")
				onMessage(m);
		};
		ws.onclose = function (ev) {
			if (app.ws !== ws)
				return;
			app.ws = null;
			app.me = null;
			if (app.closedByUs)
				return;
			/* a refusal at the handshake (bad name, token) closes with 1006 */
			var wait = Math.min(10000, 500 * Math.pow(2, app.reconnect++)) *
				(0.75 + Math.random() / 2);
			setStatus("disconnected (" + ev.code + "), retrying in " +
				  Math.round(wait / 1000) + " s");
			setTimeout(connect, wait);
		};
	}

	function showParty() {
		$("join").hidden = true;
		$("party-view").hidden = false;
		document.title = app.partyId + " · revenge";
	}

	/* ---- messages */
	function onMessage(m) {
		var p = m.payload || {};
		switch (m.type) {
		case "welcome":
			app.reconnect = 0;
			app.me = p.participant_id;
			app.hostId = p.host_id;
			app.members.clear();
			(p.members || []).forEach(function (x) { app.members.set(x.id, x.name); });
			$("chat").textContent = "";
			(p.history || []).forEach(function (h) { addChat(h.payload || {}, h.from); });
			setStatus("in party " + p.party_id + " as " + (app.members.get(app.me) || app.me));
			app.pings = 0;
			ping();
			setMedia(p.media || null);
			pushState(p.state, m.ts);
			renderMembers();
			break;
		case "member_joined":
			app.members.set(p.id, p.name);
			renderMembers();
			break;
		case "member_left":
			app.members.delete(p.id);
			renderMembers();
			break;
		case "presence":
			(p.joined || []).forEach(function (x) { app.members.set(x.id, x.name); });
			(p.left || []).forEach(function (x) { app.members.delete(x.id); });
			renderMembers();
			break;
		case "host_changed":
			app.hostId = p.host_id;
			renderMembers();
			break;
		case "sync":
			pushState(p, m.ts);
			if (m.id)
				app.awaitUntil = 0;
			break;
		case "media":
			setMedia(p.url ? p : null);
			break;
		case "chat":
			addChat(p, m.from);
			break;
		case "reaction":
			addChat({ name: p.name, text: p.emoji, reaction: true }, m.from);
			break;
		case "time":
			onTime(p, m.id);
			break;
		case "party_state":
			$("sync-info").textContent = p.waiting ?
				"waiting for " + (p.waiting_for || []).map(nameOf).join(", ") : "";
			break;
		case "error":
			if (m.id && /^s/.test(m.id))
				app.awaitUntil = 0;
			setStatus("error: " + (p.code || "") + ": " + (p.message || ""));
			break;
		}
	}

	function nameOf(id) { return app.members.get(id) || id; }

	function renderMembers() {
		var ul = $("members");
		ul.textContent = "";
		app.members.forEach(function (name, id) {
			var li = document.createElement("li");
			li.textContent = name;
			if (id === app.me)
				li.textContent += " (you)";
			if (id === app.hostId) {
				var r = document.createElement("span");
				r.className = "role";
				r.textContent = "host";
				li.appendChild(r);
			} else if (isHost()) {
				var b = document.createElement("button");
				b.type = "button";
				b.textContent = "make host";
				b.setAttribute("aria-label", "make " + name + " host");
				b.className = "make-host";
				b.addEventListener("click", function () {
					send("transfer_host", { to: id }, reqId("h"));
				});
				li.appendChild(document.createTextNode(" "));
				li.appendChild(b);
			}
			ul.appendChild(li);
		});
		var host = isHost();
		document.querySelectorAll(".host-only").forEach(function (e) { e.hidden = !host; });
	}

	function addChat(p, from) {
		var li = document.createElement("li");
		var who = document.createElement("span");
		who.className = "who";
		who.textContent = p.name || nameOf(from);
		li.appendChild(who);
		li.appendChild(document.createTextNode(p.text || ""));
		if (p.reaction)
			li.className = "reaction";
		var ol = $("chat");
		ol.appendChild(li);
		while (ol.children.length > 200)
			ol.removeChild(ol.firstChild);
		ol.scrollTop = ol.scrollHeight;
	}

	/* ---- the clock */
	function ping() {
		var id = reqId("t");
		var t0 = clientNow();
		app.pendingTimes.set(id, t0);
		send("time", { client_time: t0 }, id);
		app.pings++;
		clearTimeout(app.pingTimer);
		app.pingTimer = setTimeout(ping, app.pings < PING_FAST_N ? PING_FAST_MS : PING_SLOW_MS);
	}

	function onTime(p, id) {
		var t3 = clientNow();
		var t0 = app.pendingTimes.get(id);
		if (t0 === undefined)
			return;
		app.pendingTimes.delete(id);
		app.offset.add(t0, p.server_receive_time, p.server_time, t3);
	}

	/* ---- the player */
	function pushState(st, ts) {
		if (!st)
			return;
		trace("state " + JSON.stringify(st) + " now=" + serverNow().toFixed(1));
		/* before a first time answer, the message's own stamp is the best
		 * guess at the server clock */
		if (!app.offset.ready() && isFinite(ts))
			app.roughOffset = ts - clientNow();
		app.sched.push(st, serverNow());
		armStart();
		var cur = app.sched.pending || app.sched.current;
		if (cur)
			$("speed").value = String(cur.speed);
		tick();
	}

	/* A start scheduled ahead: play() goes out early by what starting
	 * takes this player, so that frames move at the instant itself. */
	function armStart() {
		clearTimeout(app.startTimer);
		var pend = app.sched.pending;
		if (!pend || !pend.playing || !video.src)
			return;
		var wait = pend.server_time - serverNow() - app.startMs;
		app.startTimer = setTimeout(function () {
			if (app.sched.pending === pend && video.paused)
				ownPlay();
		}, Math.max(0, wait));
	}

	function ownPlay() {
		trace("play");
		app.ownPlayUntil = clientNow() + 500;
		app.playCalledAt = performance.now();
		var pr = video.play();
		if (pr && pr.catch)
			pr.catch(function () {});
	}

	function setMedia(md) {
		var url = md && md.url ? md.url : null;
		var same = (app.media && app.media.url) === url;
		app.media = md;
		$("media-title").textContent = md ? (md.title || md.url) : "Nothing chosen yet";
		if (same)
			return;
		app.corr.reset();
		if (!url) {
			video.removeAttribute("src");
			video.load();
			return;
		}
		if (!S.validMediaUrl(url))
			return;
		video.src = url;
		video.load();
		app.setRate = video.playbackRate;
		buffering(true);
	}

	function buffering(b) {
		if (b === app.buffering)
			return;
		app.buffering = b;
		send(b ? "buffering" : "ready");
	}

	/* Our own changes to the player, so that its events are not taken for
	 * the user's (which a host turns into commands: no echo loops). */
	function ownSeek(to) {
		app.seekTarget = to;
		app.seekCalledAt = performance.now();
		video.currentTime = to;
	}
	/* Rates in steps of 1 %: every change restarts the media pipeline's
	 * clock a little, so a rate that moved by a hair each tick would cost
	 * more than it corrects. */
	function ownRate(r) {
		var base = app.sched.current ? app.sched.current.speed : 1;
		r = base + Math.round((r - base) / 0.01) * 0.01;
		/* a rate someone else set waits for its ratechange event */
		if (Math.abs(video.playbackRate - app.setRate) > 1e-6 ||
		    Math.abs(r - app.setRate) < 1e-9)
			return;
		app.setRate = r;
		if (video.playbackRate !== r)
			video.playbackRate = r;
	}

	function tick() {
		if (!app.sched.current || !video.src || video.readyState < 1)
			return;
		var now = serverNow();
		app.sched.advance(now);
		/* the host's player already shows its command (its user moved
		 * it): it waits for the command's instant, not corrected back */
		if (isHost() && (clientNow() < app.awaitUntil || app.sched.pending)) {
			app.held = (app.held || 0) + 1;
			return;
		}
		var st = app.sched.state(now);
		var target = S.positionAt(st, now);
		var pend = app.sched.pending;
		if (isFinite(video.duration) && target > video.duration)
			target = video.duration;
		/* the early play() of a start due within what it costs */
		if (!st.playing && pend && pend.playing &&
		    pend.server_time - now <= app.startMs + TICK_MS && !video.paused)
			return;
		/* a commanded jump (the host seeked): everyone jumps at its
		 * instant, no drift to correct slowly */
		if (st !== app.applied) {
			var prev = app.applied;
			app.applied = st;
			if (prev && Math.abs(S.positionAt(prev, now) - target) > 0.1 &&
			    Math.abs(video.currentTime - target) > 0.1) {
				trace("jump to " + target.toFixed(3));
				app.corr.reset();
				ownSeek(target + (st.playing ? app.seekMs / 1000 * st.speed : 0));
				ownRate(st.speed);
				return;
			}
		}
		if (!st.playing) {
			if (!video.paused) {
				trace("pause by state");
				video.pause();
			}
			ownRate(st.speed);
			app.corr.reset();
			if (Math.abs(video.currentTime - target) > 0.04 && !video.seeking)
				ownSeek(target);
			return;
		}
		if (video.ended && target >= video.duration)
			return;
		if (video.paused) {
			/* late (a join mid-play, a missed start): aim past the
			 * start-up time */
			if (Math.abs(video.currentTime - target) > 0.04 && !video.seeking)
				ownSeek(target + (app.startMs + app.seekMs) / 1000 * st.speed);
			ownRate(st.speed);
			ownPlay();
			return;
		}
		if (video.seeking)
			return;
		var d = app.corr.step(performance.now(), video.currentTime, target, st.speed);
		if (d.action === "seek") {
			/* a seek lands late by about its own duration: aim ahead */
			ownSeek(d.to + app.seekMs / 1000 * st.speed);
			ownRate(d.rate);
		} else if (d.action === "rate") {
			ownRate(d.rate);
		} else if (!app.corr.correcting) {
			ownRate(st.speed);      /* a new speed, nothing to correct */
		}
	}

	function sendStatus() {
		if (!app.me || !app.sched.current || !video.src)
			return;
		send("status", {
			position: video.currentTime, playing: !video.paused,
			buffering: app.buffering, at: serverNow(),
			clock_error_ms: app.offset.errorMs(),
		});
	}

	/* The host's own controls become commands; a member's are put back. */
	function hostCommand(playing, position, speed) {
		trace("command playing=" + playing + " pos=" + position.toFixed(3) + " speed=" + speed);
		app.awaitUntil = clientNow() + AWAIT_MS;
		send("sync", { position: Math.max(0, position), playing: playing, speed: speed,
			       at: serverNow() }, reqId("s"));
	}

	function desired() {
		return app.sched.state(serverNow());
	}
	/* what the host last asked for (a command still pending included):
	 * the base of its next command */
	function latest() {
		desired();
		return app.sched.pending || app.sched.current;
	}

	function learn(key, since) {
		if (since === null)
			return;
		var ms = performance.now() - since;
		if (ms >= 0 && ms < 2000)
			app[key] = app[key] * 0.7 + Math.min(400, ms) * 0.3;
	}
	video.addEventListener("playing", function () {
		learn("startMs", app.playCalledAt);
		app.playCalledAt = null;
	});
	video.addEventListener("seeked", function () {
		learn("seekMs", app.seekCalledAt);
		app.seekCalledAt = null;
	});

	video.addEventListener("play", function () {
		var st = desired();
		if (!st || st.playing || clientNow() < app.ownPlayUntil)
			return;
		if (isHost()) {
			/* everyone, this player too, starts at the scheduled instant */
			video.pause();
			hostCommand(true, video.currentTime, latest().speed);
		} else {
			video.pause();
		}
	});
	function ownPause() {
		app.ownPauseUntil = clientNow() + 500;
		video.pause();
	}

	video.addEventListener("pause", function () {
		if (clientNow() < app.ownPauseUntil)
			return;
		var st = desired();
		trace("pause event, state playing=" + (st && st.playing));
		if (!st || !st.playing || video.ended)
			return;
		if (isHost())
			hostCommand(false, video.currentTime, latest().speed);
		else
			tick();
	});
	video.addEventListener("seeking", function () {
		var st = desired();
		var ours = app.seekTarget !== null && Math.abs(video.currentTime - app.seekTarget) < 0.01;
		trace("seeking to " + video.currentTime.toFixed(3) + (ours ? " (ours)" : ""));
		app.seekTarget = null;
		if (ours || !st)
			return;
		if (!isHost())
			return;
		/* a seek while playing: hold here, everyone starts at the
		 * command's instant (armStart) */
		st = latest();
		if (st.playing)
			ownPause();
		hostCommand(st.playing, video.currentTime, st.speed);
	});
	video.addEventListener("ratechange", function () {
		var st = desired();
		if (!st || Math.abs(video.playbackRate - app.setRate) < 1e-6)
			return;
		trace("ratechange to " + video.playbackRate);
		if (isHost() && video.playbackRate >= 0.25 && video.playbackRate <= 4) {
			hostCommand(latest().playing, video.currentTime, video.playbackRate);
		}
		/* the new speed starts for everyone at the command's instant;
		 * a member's player keeps the party's */
		video.playbackRate = app.setRate;
	});
	/* A seek's own short wait is no stall: only one that lasts is
	 * reported, so that the waiting room pauses the party for real ones. */
	var STALL_MS = 500;
	video.addEventListener("waiting", function () {
		clearTimeout(app.stallTimer);
		app.stallTimer = setTimeout(function () {
			if (video.readyState < 3)
				buffering(true);
		}, STALL_MS);
	});
	function canPlay() {
		clearTimeout(app.stallTimer);
		buffering(false);
	}
	video.addEventListener("canplay", canPlay);
	video.addEventListener("playing", canPlay);

	$("speed").addEventListener("change", function () {
		var st = desired();
		var v = parseFloat($("speed").value);
		if (st && isHost() && v >= 0.25 && v <= 4)
			hostCommand(latest().playing, video.currentTime, v);
	});

	$("media-form").addEventListener("submit", function (ev) {
		ev.preventDefault();
		var url = $("media-url").value.trim();
		if (!S.validMediaUrl(url)) {
			setStatus("that URL cannot be played here: http(s) or a path on this server");
			return;
		}
		send("media", { url: url, title: $("media-name").value.trim() }, reqId("m"));
		app.awaitUntil = clientNow() + AWAIT_MS;
		send("sync", { position: 0, playing: false, speed: 1, at: serverNow() }, reqId("s"));
	});

	$("chat-form").addEventListener("submit", function (ev) {
		ev.preventDefault();
		var t = $("chat-text").value;
		if (!t.trim())
			return;
		if (send("chat", { text: t }, reqId("c")))
			$("chat-text").value = "";
	});
	document.querySelector(".reactions").addEventListener("click", function (ev) {
		var e = ev.target.closest("button[data-emoji]");
		if (e)
			send("reaction", { emoji: e.dataset.emoji }, reqId("r"));
	});

	$("join").addEventListener("submit", function (ev) {
		ev.preventDefault();
		var id = $("party").value.trim();
		if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
			setStatus("a party id is 1-64 letters, digits, _ or -");
			return;
		}
		sessionStorage.setItem("rv-name", $("name").value.trim());
		sessionStorage.setItem("rv-token", $("token").value);
		if (location.pathname !== "/party/" + id)
			history.pushState(null, "", "/party/" + id);
		start(id);
	});

	function start(id) {
		app.partyId = id;
		showParty();
		connect();
	}

	setInterval(function () {
		try {
			tick();
		} catch (e) {
			trace("tick: " + e);
		}
	}, TICK_MS);
	setInterval(sendStatus, STATUS_MS);

	/* /party/{id}?name=... joins at once (a shared link, a reload) */
	var id = partyFromPath();
	var qs = new URLSearchParams(location.search);
	if (qs.get("name"))
		sessionStorage.setItem("rv-name", qs.get("name"));
	if (qs.get("token"))
		sessionStorage.setItem("rv-token", qs.get("token"));
	if (id) {
		$("party").value = id;
		if (sessionStorage.getItem("rv-name") !== null || qs.get("name"))
			start(id);
	}
})();
