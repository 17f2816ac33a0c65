// tests/helpers/web_sync_test.js - web/sync.js under node: the offset
// estimator, the schedule of states and the correction policy (the same
// decisions as lib/correct.c for the same inputs). Exits 1 on a failure.
"use strict";
const assert = require("assert");
const S = require(process.argv[2] || "../../web/sync.js");

// offset: the least round trip wins; garbage is ignored
const o = new S.Offset();
assert.strictEqual(o.ready(), false);
o.add(1000, 1105, 1106, 1020);          // rtt 19, offset 95.5
o.add(2000, 2102, 2102, 2004);          // rtt 4, offset 100
o.add(3000, 3300, 3300, 3200);          // rtt 200: queued, not taken
o.add(4000, NaN, 4100, 4010);           // garbage
o.add(5000, 5100, 5100, 4990);          // negative rtt
assert.strictEqual(o.samples.length, 3);
assert.strictEqual(o.serverNow(10000), 10100);
assert.strictEqual(o.errorMs(), 2);
for (let i = 0; i < 40; i++)
	o.add(6000 + i, 6100 + i, 6100 + i, 6010 + i);
assert.strictEqual(o.samples.length, 16);   // bounded window

// schedule: a state ahead holds until its instant; newer replaces pending
const sc = new S.Schedule();
assert.ok(sc.push({ position: 10, playing: false, speed: 1, server_time: 1000 }, 1000));
assert.ok(!sc.push({ position: -1, playing: true, speed: 1, server_time: 0 }, 1000));
assert.ok(!sc.push({ position: 1, playing: "yes", speed: 1, server_time: 0 }, 1000));
sc.push({ position: 10, playing: true, speed: 2, server_time: 1500 }, 1100);
assert.strictEqual(sc.position(1400), 10);           // paused until 1500
assert.strictEqual(sc.position(2000), 11);           // 0.5 s at 2x
sc.push({ position: 50, playing: false, speed: 1, server_time: 2600 }, 2100);
sc.push({ position: 60, playing: false, speed: 1, server_time: 2700 }, 2200);
assert.strictEqual(sc.pending.position, 60);         // the newer pending won
assert.strictEqual(sc.position(2650), 12.3);         // still the playing one
assert.strictEqual(sc.position(2700), 60);
// a first state ahead of the clock holds its position
const s2 = new S.Schedule();
s2.push({ position: 5, playing: true, speed: 1, server_time: 3000 }, 2000);
assert.strictEqual(s2.position(2500), 5);
assert.strictEqual(s2.position(4000), 6);

// correction: lib/correct.c's policy
const c = new S.Corrector();
assert.deepStrictEqual(c.step(0, 10.015, 10, 1), { action: "none" });       // dead band
let d = c.step(0, 10.1, 10, 1);                     // 100 ms ahead: slower
assert.strictEqual(d.action, "rate");
assert.ok(Math.abs(d.rate - 0.95) < 1e-9);          // bounded at 5 %
d = c.step(50, 10.03, 10, 1);                       // 30 ms: proportional
assert.ok(Math.abs(d.rate - (1 - 30 / 2000)) < 1e-9);
d = c.step(100, 10.01, 10, 1);                      // within 20 ms: still correcting
assert.strictEqual(d.action, "rate");
d = c.step(150, 10.004, 10, 1);                     // within 5 ms: settled
assert.deepStrictEqual(d, { action: "rate", rate: 1 });
assert.deepStrictEqual(c.step(200, 10.01, 10, 1), { action: "none" });
d = c.step(300, 12, 10, 1);                         // 2 s: seek
assert.deepStrictEqual(d, { action: "seek", to: 10, rate: 1 });
d = c.step(400, 12, 10, 1);                         // again within 5 s: rate at its bound
assert.strictEqual(d.action, "rate");
assert.ok(Math.abs(d.rate - 0.95) < 1e-9);
assert.strictEqual(c.step(5400, 12, 10, 1).action, "seek");
assert.deepStrictEqual(c.step(5500, NaN, 10, 1), { action: "none" });
c.correcting = true;
assert.deepStrictEqual(c.step(5600, NaN, 10, 1), { action: "rate", rate: 1 });

// media urls: what the server accepts
for (const u of ["https://a/x.webm", "HTTP://a", "/web/x.webm", "x.webm", "a/b:c"])
	assert.ok(S.validMediaUrl(u), u);
for (const u of ["", "javascript:alert(1)", "//evil/x", "/\\evil", "a b", "data:,x",
		 "https://", "x".repeat(2049), "/a\u0085"])
	assert.ok(!S.validMediaUrl(u), u);
console.log("web_sync_test: ok");
