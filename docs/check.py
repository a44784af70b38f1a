"""Open the built documentation site in headless Chromium and check what a reader sees.

For every page checked: the page loads, has text, every image loads (``naturalWidth > 0``),
and neither the console nor the network reports an error.  Screenshots of the index, a
user-guide page, a gallery page and a ledger page are written to ``--screenshots``.

Usage::

    python docs/check.py docs/_build/html --screenshots /tmp/dynopt-shots

Needs Debian's ``chromium`` (``apt-get install chromium``) and the ``websocket-client``
package (the ``docs`` extra).  Chromium is driven through the DevTools protocol; the site is
served from a local HTTP server on 127.0.0.1 (the browser has no other network).
Exit status 0 when every page passes, 1 otherwise (each failure is printed).
"""
from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import websocket

#: pages with a screenshot: (file name of the screenshot, path in the site)
SHOTS = [("index.png", "index.html"), ("guide-monte-carlo.png", "guide/monte_carlo.html"),
         ("gallery-rare-events.png", "auto_examples/rare_events.html"),
         ("ledger-cohen-2022.png", "ledger/cohen-2022.html")]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1280,900"]

#: screenshots show at most this many CSS pixels of a page's height
MAX_SHOT_HEIGHT = 3000

#: minimum visible text of a page's main content, in characters
MIN_TEXT = 200

_IMAGES_JS = """
(async () => {
  const imgs = Array.from(document.images);
  for (const i of imgs) { i.loading = "eager"; }
  await Promise.all(imgs.map(i => i.complete ? null :
      new Promise(r => { i.addEventListener("load", r); i.addEventListener("error", r);
                         setTimeout(r, 10000); })));
  const main = document.querySelector("article") || document.body;
  // docutils' inline error nodes, and errors a theme draws in CSS (furo's "ERROR: ..." on a
  // table of contents), are visible to a reader even when the build passed
  const drawn = Array.from(main.querySelectorAll("*")).filter(
      e => /ERROR/.test(getComputedStyle(e, "::before").content)).length;
  return JSON.stringify({
    errorsShown: main.querySelectorAll(".system-message, .problematic").length + drawn,
    images: imgs.length,
    broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute("src")),
    text: main.innerText.trim().length,
    title: document.title,
  });
})()
"""


class Page:
    """One Chromium tab driven over its DevTools websocket."""

    def __init__(self, ws_url: str):
        self.ws = websocket.create_connection(ws_url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params):
        self.next_id += 1
        msg_id = self.next_id
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, event: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == event for e in self.events):
            return
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            self.events.append(msg)
            if msg.get("method") == event:
                return
        raise TimeoutError(f"no {event} within {timeout} s")

    def errors(self) -> list[str]:
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                  for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: " + str(d.get("exception", {}).get("description") or d.get("text")))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
            elif m == "Network.loadingFailed" and not p.get("canceled"):
                out.append(f"network: {p.get('errorText')} (request {p.get('requestId')})")
            elif m == "Network.responseReceived" and p.get("response", {}).get("status", 200) >= 400:
                out.append(f"network: HTTP {p['response']['status']} {p['response'].get('url')}")
        return out

    def close(self):
        self.ws.close()


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve `root` on 127.0.0.1 (a free port) in a daemon thread."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def start_chromium(binary: str, profile: Path) -> tuple[subprocess.Popen, int]:
    """Start headless Chromium with a fresh profile; return the process and its DevTools port."""
    proc = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                             "--remote-debugging-port=0", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        port_file = profile / "DevToolsActivePort"
        if port_file.exists() and port_file.read_text().strip():
            return proc, int(port_file.read_text().split()[0])
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")
        time.sleep(0.2)
    proc.kill()
    raise TimeoutError("chromium did not open its DevTools port within 60 s")


def check_page(port: int, url: str, shot: Path | None) -> list[str]:
    """Load `url` in a new tab; return the problems found (empty when the page passes)."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT")
    with urllib.request.urlopen(req, timeout=30) as r:
        target = json.load(r)
    page = Page(target["webSocketDebuggerUrl"])
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.call(f"{domain}.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1,
                  mobile=False)
        page.call("Page.navigate", url=url)
        page.wait_for("Page.loadEventFired")
        res = page.call("Runtime.evaluate", expression=_IMAGES_JS, awaitPromise=True, returnByValue=True)
        info = json.loads(res["result"]["value"])
        time.sleep(0.3)  # late console messages
        page.call("Runtime.evaluate", expression="1")
        problems = page.errors()
        problems += [f"image not loaded: {src}" for src in info["broken"]]
        if info["errorsShown"]:
            problems.append(f"{info['errorsShown']} error message(s) shown on the page")
        if info["text"] < MIN_TEXT:
            problems.append(f"empty page: {info['text']} characters of text")
        if shot is not None:
            # the whole page (up to MAX_SHOT_HEIGHT), so that figures below the fold show
            size = page.call("Page.getLayoutMetrics")["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": 1280, "height": min(size["height"], MAX_SHOT_HEIGHT),
                    "scale": 1}
            data = page.call("Page.captureScreenshot", format="png", clip=clip,
                             captureBeyondViewport=True)["data"]
            shot.write_bytes(base64.b64decode(data))
        print(f"{'FAIL' if problems else 'ok  '} {url}  ({info['images']} images, {info['text']} "
              f"characters){'  -> ' + str(shot) if shot else ''}")
        return problems
    finally:
        page.close()
        urllib.request.urlopen(f"http://127.0.0.1:{port}/json/close/{target['id']}", timeout=30).close()


def pages_to_check(site: Path) -> list[str]:
    """The screenshot pages, then every guide, gallery and ledger page and the API index."""
    paths = [p for _, p in SHOTS]
    for sub in ("guide", "auto_examples", "ledger"):
        paths += sorted(p.relative_to(site).as_posix() for p in (site / sub).glob("*.html"))
    paths += ["getting_started.html", "api/index.html", "api/dynopt_engine.html"]
    return list(dict.fromkeys(paths))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", type=Path, help="the built site (docs/_build/html)")
    ap.add_argument("--screenshots", type=Path, default=Path("docs/_build/screenshots"),
                    help="folder for the screenshots (default: %(default)s)")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium",
                    help="Chromium binary (default: %(default)s)")
    args = ap.parse_args(argv)
    if not (args.site / "index.html").exists():
        ap.error(f"`site` must be a built site with index.html; got {args.site}")
    args.screenshots.mkdir(parents=True, exist_ok=True)
    shots = {p: args.screenshots / name for name, p in SHOTS}
    server, base = serve(args.site)
    failures = {}
    with tempfile.TemporaryDirectory(prefix="dynopt-chromium-") as profile:
        proc, port = start_chromium(args.chromium, Path(profile))
        try:
            for path in pages_to_check(args.site):
                if not (args.site / path).exists():
                    failures[path] = ["missing page"]
                    continue
                problems = check_page(port, base + path, shots.get(path))
                if problems:
                    failures[path] = problems
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            server.shutdown()
    for path, problems in failures.items():
        for p in problems:
            print(f"{path}: {p}", file=sys.stderr)
    print(f"{len(failures)} failed" if failures else "all pages passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
