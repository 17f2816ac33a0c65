"""tests/helpers/web_check.py - the web client in real headless Chromium.

  web_check.py BASE VIDEO_URL OUTDIR [--pages N] [--bound-ms MS]
               [--screenshot PATH] [--bench SECONDS]

Opens N pages (default 4) of one party of the revenge-server at BASE
(http://127.0.0.1:PORT) as a browser would, the first as host; the host
picks VIDEO_URL through the page's form and plays, seeks, changes speed and
pauses through its <video> element (the events its controls fire); every
page's video.currentTime is read at common instants (each sample stamped
with performance.timeOrigin + performance.now(), all brought to one instant
at the party's speed) and the spread (max - min) must fall within
--bound-ms after each command. Then: chat, a host hand-over (the new host
pauses everyone), and a reload that rejoins and follows again.

--bench S: instead of the checks after the commands, S seconds of samples
at steady state plus a series after each command; prints the percentiles.
Prints one JSON line of results; exits 1 on a failed check.
"""
import argparse
import asyncio
import json
import statistics
import sys
import time

from cdp import Browser, CDPError

SAMPLE_JS = """(() => { const v = document.getElementById('video');
 return [performance.timeOrigin + performance.now(), v.currentTime, v.paused,
         v.playbackRate, v.readyState, v.seeking]; })()"""


async def dump(pages):
    for i, p in enumerate(pages):
        try:
            log("page %d: %s" % (i, await p.eval(DEBUG_JS, 5)))
            log("page %d trace:\n  %s" % (i, "\n  ".join(await p.eval("rvApp.trace", 5))))
        except Exception as e:
            log("page %d: %s" % (i, e))


DEBUG_JS = """(() => { const v = document.getElementById('video'), a = rvApp;
 const now = a.offset.serverNow(performance.timeOrigin + performance.now());
 const st = a.sched.state(now);
 return JSON.stringify({drift_ms: (v.currentTime - RvSync.positionAt(st, now)) * 1000,
   rate: v.playbackRate, best: a.offset.best(), n: a.offset.samples.length,
   corr: a.corr.correcting, st: st, held: a.held, awaitIn: a.awaitUntil - performance.timeOrigin - performance.now(), src: v.src, ready: v.readyState, net: v.networkState,
   err: v.error && v.error.message, status: document.getElementById('status').textContent,
   title: document.getElementById('media-title').textContent, seeking: v.seeking, pending: a.sched.pending, host: a.me === a.hostId}); })()"""


# the page's party state is the command's, in force (not pending)
APPLIED_JS = """(() => { const a = rvApp, now = a.offset.serverNow(performance.timeOrigin +
 performance.now()), st = a.sched.state(now);
 return !!st && !a.sched.pending && st.playing === %s && st.speed === %s; })()"""


class Fail(Exception):
    pass


def log(*a):
    print("web_check:", *a, file=sys.stderr, flush=True)


async def sample_round(pages, speed, playing):
    """Every page's position at one common instant (the last read)."""
    got = [await p.eval(SAMPLE_JS) for p in pages]
    t_ref = max(g[0] for g in got)
    pos = [g[1] + ((t_ref - g[0]) / 1000.0 * speed if playing and not g[2] else 0)
           for g in got]
    return (max(pos) - min(pos)) * 1000.0, pos, got


async def converge(pages, speed, playing, bound_ms, timeout, what):
    """Bounded poll until the spread is within bound; returns (ms to get
    there, spread then, the 5 spreads that follow)."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        applied = True
        for p in pages:
            applied = applied and await p.eval(APPLIED_JS % (json.dumps(playing), speed))
        spread, pos, got = await sample_round(pages, speed, playing)
        ok_state = applied and all((g[2] != playing) and g[4] >= 2 for g in got)
        last = (spread, pos, [g[2] for g in got])
        if ok_state and spread <= bound_ms:
            took = (time.monotonic() - t0) * 1000.0
            after = []
            for _ in range(5):
                await asyncio.sleep(0.1)
                after.append((await sample_round(pages, speed, playing))[0])
            return took, spread, after
        await asyncio.sleep(0.1)
    raise Fail("%s: spread never within %.0f ms in %.0f s (last %.1f ms, positions %s, paused %s)"
               % (what, bound_ms, timeout, last[0], [round(x, 3) for x in last[1]], last[2]))


async def host_do(page, js):
    await page.eval("(() => { const v = document.getElementById('video'); %s; return 1; })()" % js)


async def wait_all(pages, expr, what, timeout=20):
    for i, p in enumerate(pages):
        await p.wait(expr, timeout, "%s on page %d" % (what, i))


async def pick_media(host, pages, url, timeout):
    """The host picks url ("Test pattern") through its form; waits until
    every page has it loaded."""
    await host.eval("""(() => { document.getElementById('media-url').value = %s;
        document.getElementById('media-name').value = 'Test pattern';
        document.getElementById('media-form').requestSubmit(); return 1; })()"""
                    % json.dumps(url))
    await wait_all(pages, "document.getElementById('video').readyState >= 3 && "
                   "document.getElementById('media-title').textContent === 'Test pattern'",
                   "media loaded", timeout)


def run_main(name, run, a, timeout):
    """Runs run(a) within timeout s; prints its result as one JSON line, or
    "NAME: FAILED: why" on stderr and exits 1."""
    try:
        res = asyncio.get_event_loop().run_until_complete(asyncio.wait_for(run(a), timeout))
    except (Fail, CDPError, asyncio.TimeoutError) as e:
        print("%s: FAILED: %s" % (name, e), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(res))


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    k = min(len(xs) - 1, max(0, int(round(q / 100.0 * (len(xs) - 1)))))
    return xs[k]


async def run(a):
    res = {"pages": a.pages, "bound_ms": a.bound_ms}
    b = Browser(a.outdir + "/profile", a.outdir + "/chromium.log")
    await b.start()
    try:
        party = "web-%d" % (int(time.time() * 1000) % 100000)
        pages = []
        try:
            await checks(a, b, res, pages, party)
        except (Fail, CDPError, asyncio.TimeoutError):
            await dump(pages)
            raise
    finally:
        await b.close()
    return res


async def checks(a, b, res, pages, party):
    if True:
        for i in range(a.pages):
            pages.append(await b.new_page("%s/party/%s?name=viewer%d" % (a.base, party, i)))
            await pages[-1].wait("window.rvApp && window.rvApp.me", 20, "welcome %d" % i)
        host = pages[0]
        await host.wait("rvApp.members.size === %d" % a.pages, 20, "all members")
        if not await host.eval("rvApp.me === rvApp.hostId"):
            raise Fail("the first page is not host")

        await pick_media(host, pages, a.video, 30)

        steps = [("play", "v.play()", 1.0, True),
                 ("seek", "v.currentTime = 4", 1.0, True),
                 ("speed", "v.playbackRate = 1.5", 1.5, True),
                 ("pause", "v.pause()", 1.5, False)]
        res["steps"] = {}
        bench = {}
        for name, js, speed, playing in steps:
            await host_do(host, js)
            took, spread, after = await converge(pages, speed, playing, a.bound_ms, 12, name)
            res["steps"][name] = {"settle_ms": round(took), "spread_ms": round(spread, 1),
                                  "after_ms": [round(x, 1) for x in after]}
            log("%s: within %.0f ms after %.0f ms; then %s" % (
                name, a.bound_ms, took, [round(x, 1) for x in after]))
            if a.bench:
                xs = []
                t_end = time.monotonic() + a.bench
                while time.monotonic() < t_end:
                    xs.append((await sample_round(pages, speed, playing))[0])
                    await asyncio.sleep(0.05)
                bench[name] = xs
        if a.bench:
            res["bench"] = {k: {"n": len(v), "p50_ms": round(pct(v, 50), 1),
                                "p99_ms": round(pct(v, 99), 1), "max_ms": round(max(v), 1)}
                            for k, v in bench.items()}
            return

        # play again for the rest
        await host_do(host, "v.play()")
        await converge(pages, 1.5, True, a.bound_ms, 12, "replay")

        # chat from a member reaches everyone
        await pages[1].eval("""(() => { document.getElementById('chat-text').value = 'hello from 1';
            document.getElementById('chat-form').requestSubmit(); return 1; })()""")
        await wait_all(pages, "document.getElementById('chat').textContent.includes('hello from 1')",
                       "chat", 10)
        await pages[2].eval("document.querySelector('.reactions button').click(), 1")
        await wait_all(pages, "document.querySelectorAll('#chat li.reaction').length >= 1",
                       "reaction", 10)

        # reload: a member leaves and rejoins, and follows again
        await pages[3].call("Page.reload")
        await pages[3].wait("window.rvApp && window.rvApp.me && "
                            "document.getElementById('video').readyState >= 3", 30, "rejoin")
        await converge(pages, 1.5, True, a.bound_ms, 15, "reload")
        res["reload"] = "ok"

        if a.screenshot:
            await host.screenshot(a.screenshot)

        # host hand-over through the member list; the new host pauses all
        new_id = await pages[1].eval("rvApp.me")
        await host.eval("document.querySelector('#members .make-host').click(), 1"
                        if a.pages == 2 else
                        "(() => { const b = [...document.querySelectorAll('#members .make-host')]"
                        ".find(x => x.getAttribute('aria-label') === 'make viewer1 host');"
                        " b.click(); return 1; })()")
        await wait_all(pages, "rvApp.hostId === %s" % json.dumps(new_id), "host_changed", 10)
        await host_do(pages[1], "v.pause()")
        await converge(pages, 1.5, False, a.bound_ms, 12, "pause by the new host")
        res["transfer"] = "ok"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("video")
    ap.add_argument("outdir")
    ap.add_argument("--pages", type=int, default=4)
    ap.add_argument("--bound-ms", type=float, default=150.0)
    ap.add_argument("--screenshot")
    ap.add_argument("--bench", type=float, default=0)
    run_main("web_check", run, ap.parse_args(), 240)


if __name__ == "__main__":
    main()
