"""tests/helpers/cdp.py - a small Chrome DevTools Protocol client.

Starts the system's headless Chromium (Debian `chromium`; nothing is
downloaded) on a private profile with --remote-debugging-port=0, reads the
port it chose from DevToolsActivePort, and drives pages over one browser
WebSocket with flat sessions (Target.attachToTarget flatten). Used by
web_check.py (tests/cli/web.bats) and scripts/bench-web.sh.
"""
import asyncio
import itertools
import json
import os
import shutil
import signal
import subprocess
import time

import websockets


class CDPError(Exception):
    pass


class Browser:
    """One Chromium process and its browser-level DevTools socket."""

    def __init__(self, profile, log_path, extra_args=()):
        self.profile = profile
        self.log_path = log_path
        self.extra_args = list(extra_args)
        self.proc = None
        self.ws = None
        self.ids = itertools.count(1)
        self.waiters = {}
        self.events = []
        self.reader = None

    async def start(self, timeout=30.0):
        try:
            await self._start(timeout)
        except BaseException:
            self.kill()
            raise

    def kill(self):
        """The browser and every process it started, at once."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=5)

    async def _start(self, timeout):
        exe = shutil.which("chromium") or "/usr/bin/chromium"
        os.makedirs(self.profile, exist_ok=True)
        args = [exe, "--headless=new", "--remote-debugging-port=0",
                "--user-data-dir=" + self.profile,
                "--autoplay-policy=no-user-gesture-required",
                "--no-first-run", "--no-default-browser-check", "--disable-gpu",
                "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--mute-audio",
                "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows",
                "--disable-background-media-suspend",
                "--window-size=1280,800"] + self.extra_args
        if os.geteuid() == 0:
            args.append("--no-sandbox")     # Chromium refuses root otherwise
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        if os.path.exists(port_file):
            os.unlink(port_file)    # a previous run's: its port is gone
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args + ["about:blank"], stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise CDPError("chromium exited with %d (see %s)" %
                               (self.proc.returncode, self.log_path))
            try:
                with open(port_file) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 2 and lines[0].strip() and lines[1].strip():
                    break
            except FileNotFoundError:
                pass
            await asyncio.sleep(0.05)
        else:
            raise CDPError("chromium wrote no DevToolsActivePort in %.0f s" % timeout)
        url = "ws://127.0.0.1:%s%s" % (lines[0].strip(), lines[1].strip())
        self.ws = await websockets.connect(url, max_size=64 * 1024 * 1024,
                                           ping_interval=None)
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        try:
            async for raw in self.ws:
                m = json.loads(raw)
                if "id" in m and m["id"] in self.waiters:
                    fut = self.waiters.pop(m["id"])
                    if not fut.done():
                        fut.set_result(m)
                elif "method" in m:
                    self.events.append(m)
                    del self.events[:-1000]
        except websockets.ConnectionClosed:
            pass
        for fut in self.waiters.values():
            if not fut.done():
                fut.set_exception(CDPError("DevTools socket closed"))

    async def call(self, method, params=None, session=None, timeout=20.0):
        i = next(self.ids)
        msg = {"id": i, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        fut = asyncio.get_event_loop().create_future()
        self.waiters[i] = fut
        await self.ws.send(json.dumps(msg))
        m = await asyncio.wait_for(fut, timeout)
        if "error" in m:
            raise CDPError("%s: %s" % (method, m["error"]))
        return m.get("result", {})

    async def new_page(self, url):
        # a window each: a background tab's media would be suspended
        t = await self.call("Target.createTarget", {"url": "about:blank", "newWindow": True})
        s = await self.call("Target.attachToTarget",
                            {"targetId": t["targetId"], "flatten": True})
        page = Page(self, t["targetId"], s["sessionId"])
        await page.call("Page.enable")
        await page.call("Runtime.enable")
        await page.navigate(url)
        return page

    async def close(self):
        if self.ws:
            try:
                await asyncio.wait_for(self.call("Browser.close", timeout=5), 6)
            except Exception:
                pass
            await self.ws.close()
        if self.reader:
            self.reader.cancel()
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


class Page:
    def __init__(self, browser, target, session):
        self.b = browser
        self.target = target
        self.session = session

    async def call(self, method, params=None, timeout=20.0):
        return await self.b.call(method, params, self.session, timeout)

    async def navigate(self, url):
        await self.call("Page.navigate", {"url": url})

    async def eval(self, expr, timeout=20.0):
        r = await self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                                 "awaitPromise": True}, timeout)
        if "exceptionDetails" in r:
            raise CDPError("evaluate %r: %s" % (expr[:80], r["exceptionDetails"]))
        return r["result"].get("value")

    async def wait(self, expr, timeout=20.0, what=None):
        """Poll expr (bounded) until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = await self.eval(expr)
                if last:
                    return last
            except CDPError as e:
                last = str(e)
            await asyncio.sleep(0.05)
        raise CDPError("timed out (%.0f s) waiting for %s (last: %r)" %
                       (timeout, what or expr, last))

    async def screenshot(self, path):
        import base64
        r = await self.call("Page.captureScreenshot", {"format": "png"})
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
