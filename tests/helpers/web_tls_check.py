"""tests/helpers/web_tls_check.py - the web client over https:// and wss://.

  web_tls_check.py BASE VIDEO_URL OUTDIR --spki HASH [--bound-ms MS]

Starts headless Chromium (cdp.py) trusting only the test's certificate
(--ignore-certificate-errors-spki-list=HASH, the base64 SHA-256 of its
public key), opens two pages of one party at BASE (https://127.0.0.1:PORT)
and checks what the browser itself saw:
- the document came over https with a Content-Security-Policy whose
  connect-src names the page's own wss: origin (the headers Chromium got,
  from the DevTools Network domain);
- the page's WebSocket is wss://HOST/ws/party/ID (Network.webSocketCreated
  and rvApp.ws.url), upgraded with 101, and the page got its welcome;
- chat sent from the second page reaches the first;
- after the host plays, and after it seeks, the other page's video follows
  (currentTime of both within --bound-ms, default 250, and on the seek's
  target). A functional check, not a measure of the spread (web.bats and
  make bench-web do that).
Prints one JSON line of results; exits 1 on a failed check. Chromium's pid
is in OUTDIR/chromium.pid while it runs, so the caller's teardown can end
it if this script is killed.
"""
import argparse
import asyncio
import json
import os
import sys
import time
from urllib.parse import urlsplit

from cdp import Browser, CDPError, Page
from web_check import Fail, converge, dump, host_do, pick_media, run_main, wait_all


def log(*a):
    print("web_tls_check:", *a, file=sys.stderr, flush=True)


def events(b, page, method):
    return [e["params"] for e in b.events
            if e.get("sessionId") == page.session and e["method"] == method]


async def open_page(b, url, origin, party):
    """A page on url, its Network events watched until its welcome; returns
    (page, what the browser saw of its document and its WebSocket)."""
    t = await b.call("Target.createTarget", {"url": "about:blank", "newWindow": True})
    s = await b.call("Target.attachToTarget", {"targetId": t["targetId"], "flatten": True})
    page = Page(b, t["targetId"], s["sessionId"])
    await page.call("Page.enable")
    await page.call("Runtime.enable")
    await page.call("Network.enable")
    await page.navigate(url)
    try:
        await page.wait("window.rvApp && window.rvApp.me", 30, "welcome on " + url)
    except CDPError as e:
        raise Fail("%s; the page: %r" % (e, await page.eval(
            "[location.href, document.readyState, typeof window.rvApp,"
            " document.getElementById('status').textContent]", 5)))
    # the upgrade's 101 may be reported just after the first message
    deadline = time.monotonic() + 10
    while not events(b, page, "Network.webSocketHandshakeResponseReceived"):
        if time.monotonic() > deadline:
            raise Fail("no WebSocket handshake response seen for " + url)
        await asyncio.sleep(0.05)
    await page.call("Network.disable")  # the video's requests are not needed

    docs = [e["response"] for e in events(b, page, "Network.responseReceived")
            if e.get("type") == "Document"]
    if not docs:
        raise Fail("no document response seen for " + url)
    doc = docs[-1]
    hdr = {k.lower(): v for k, v in doc["headers"].items()}
    csp = hdr.get("content-security-policy", "")
    connect = next((d.split()[1:] for d in csp.split(";")
                    if d.split()[:1] == ["connect-src"]), [])
    wss_origin = "wss://" + origin
    created = [e["url"] for e in events(b, page, "Network.webSocketCreated")]
    shakes = [e["response"]["status"] for e in
              events(b, page, "Network.webSocketHandshakeResponseReceived")]
    seen = {"url": doc["url"], "status": doc["status"],
            "tls": (doc.get("securityDetails") or {}).get("protocol"),
            "csp": bool(csp), "connect_src": connect, "ws_created": created,
            "ws_status": shakes, "ws_url": await page.eval("rvApp.ws.url"),
            "protocol": await page.eval("location.protocol")}
    log("page %s: %s" % (url, json.dumps(seen)))
    want_ws = "%s/ws/party/%s" % (wss_origin, party)
    if not (doc["url"] == url and doc["status"] == 200 and seen["protocol"] == "https:"):
        raise Fail("document not served over https: %r" % seen)
    if not seen["tls"]:
        raise Fail("the document has no TLS details: %r" % seen)
    if not csp or wss_origin not in connect:
        raise Fail("the page's policy does not allow %s: %r" % (wss_origin, csp))
    if "default-src 'none'" not in csp or "script-src 'self'" not in csp:
        raise Fail("the page's policy is not the strict one: %r" % csp)
    if not created or not all(u.split("?")[0] == want_ws for u in created):
        raise Fail("the page's WebSocket is not %s: %r" % (want_ws, created))
    if seen["ws_url"].split("?")[0] != want_ws or 101 not in shakes:
        raise Fail("the page did not upgrade on %s: %r" % (want_ws, seen))
    return page, seen


async def run(a):
    res = {"bound_ms": a.bound_ms}
    b = Browser(a.outdir + "/profile", a.outdir + "/chromium.log",
                ["--ignore-certificate-errors-spki-list=" + a.spki])
    pidfile = os.path.join(a.outdir, "chromium.pid")
    await b.start()
    with open(pidfile, "w") as f:
        f.write("%d\n" % b.proc.pid)
    pages = []
    try:
        await checks(a, b, res, pages)
    except (Fail, CDPError, asyncio.TimeoutError):
        await dump(pages)
        raise
    finally:
        await b.close()
        os.unlink(pidfile)
    return res


async def checks(a, b, res, pages):
    origin = urlsplit(a.base).netloc
    party = "wss-%d" % (int(time.time() * 1000) % 100000)
    res["pages"] = []
    for i in range(2):
        page, seen = await open_page(b, "%s/party/%s?name=viewer%d" % (a.base, party, i),
                                     origin, party)
        pages.append(page)
        res["pages"].append(seen)
    host, viewer = pages
    await host.wait("rvApp.members.size === 2", 20, "both members")
    if not await host.eval("rvApp.me === rvApp.hostId"):
        raise Fail("the first page is not host")

    # chat from the second page reaches the first (and itself)
    await viewer.eval("""(() => { document.getElementById('chat-text').value = 'over wss';
        document.getElementById('chat-form').requestSubmit(); return 1; })()""")
    await wait_all(pages, "document.getElementById('chat').textContent.includes('over wss')",
                   "chat", 20)
    res["chat"] = "ok"

    # the host picks the video, plays, then seeks; the other page follows
    await pick_media(host, pages, a.video, 40)
    res["steps"] = {}
    for name, js in (("play", "v.play()"), ("seek", "v.currentTime = %d" % a.seek_to)):
        t0 = time.monotonic()
        await host_do(host, js)
        took, spread, after = await converge(pages, 1.0, True, a.bound_ms, 30, name)
        if name == "seek":
            # both on the seek's target, not merely together
            elapsed = time.monotonic() - t0
            pos = [await p.eval("document.getElementById('video').currentTime") for p in pages]
            if not all(a.seek_to - a.bound_ms / 1000.0 <= x <= a.seek_to + elapsed + 1
                       for x in pos):
                raise Fail("seek to %d: positions %r after %.1f s" % (a.seek_to, pos, elapsed))
        res["steps"][name] = {"settle_ms": round(took), "spread_ms": round(spread, 1),
                              "after_ms": [round(x, 1) for x in after]}
        log("%s: within %.0f ms after %.0f ms; then %s"
            % (name, a.bound_ms, took, [round(x, 1) for x in after]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("video")
    ap.add_argument("outdir")
    ap.add_argument("--spki", required=True)
    ap.add_argument("--bound-ms", type=float, default=250.0)
    ap.add_argument("--seek-to", type=int, default=15)
    run_main("web_tls_check", run, ap.parse_args(), 150)


if __name__ == "__main__":
    main()
