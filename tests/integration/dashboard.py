#!/usr/bin/env python3
"""The dashboard in a real browser: headless Chromium, driven through
ChromeDriver's WebDriver protocol (plain HTTP and JSON, so only Python's
standard library is needed).

  dashboard.py WEB_URL UNIT_CODE SCREENSHOT_DIR

Loads the dashboard, and on every page it visits holds each figure drawn
from the API (each element tagged data-api/data-key) up against the API's
own answer, formatted the way the page promises to format it, and the live
feed's rows against /api/v1/feed (some page must show some).  Follows the
drill-down province -> prefecture -> county -> township -> UNIT_CODE by
clicking the links a person would click, and saves a screenshot of the
province page and of the unit page (PNG, not committed).  Exits 1 on any
difference.
"""
import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

CHROMIUM = os.environ.get("TF_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TF_CHROMEDRIVER", "/usr/bin/chromedriver")
failures = 0
checked = 0
feed_rows = {}          # area code: live feed rows drawn on its page


def fail(message):
    global failures
    failures += 1
    print("FAIL: " + message)


def http_json(method, url, body=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {url}: HTTP {e.code}: {e.read()[:500]!r}") from None


class Browser:
    """One WebDriver session of headless Chromium."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.driver = subprocess.Popen([CHROMEDRIVER, f"--port={port}"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if http_json("GET", self.base + "/status")["value"]["ready"]:
                    break
            except (OSError, RuntimeError):
                pass
            time.sleep(0.1)
        args = ["--headless=new", "--disable-gpu", "--window-size=1280,1600",
                "--disable-dev-shm-usage", "--lang=zh-CN"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")     # Chromium's sandbox refuses root
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}}}
        self.session = http_json("POST", self.base + "/session", caps)["value"]["sessionId"]
        self.url = f"{self.base}/session/{self.session}"

    def close(self):
        try:
            http_json("DELETE", self.url)
        finally:
            self.driver.terminate()
            self.driver.wait()

    def go(self, url):
        http_json("POST", self.url + "/url", {"url": url})

    def script(self, source, *args):
        return http_json("POST", self.url + "/execute/sync",
                         {"script": source, "args": list(args)})["value"]

    def click(self, css):
        found = http_json("POST", self.url + "/element", {"using": "css selector", "value": css})
        element = next(iter(found["value"].values()))
        http_json("POST", f"{self.url}/element/{element}/click", {})

    def wait_for(self, route):
        """Until the page has drawn route (a location hash) completely."""
        for _ in range(300):
            state = self.script("return [document.body.dataset.ready || '',"
                                " document.body.dataset.route || '',"
                                " document.getElementById('status').textContent]")
            if state[0] == "1" and state[1] == route:
                return
            time.sleep(0.1)
        raise RuntimeError(f"the page did not draw {route}: ready={state[0]} "
                           f"route={state[1]} status={state[2]}")

    def screenshot(self, path):
        png = base64.b64decode(http_json("GET", self.url + "/screenshot")["value"])
        with open(path, "wb") as f:
            f.write(png)

    def figures(self):
        """Every element drawn from the API, with where it sits."""
        return self.script("""
            return Array.from(document.querySelectorAll('[data-api]')).map(el => {
              const row = el.closest('tr');
              return {api: el.dataset.api, key: el.dataset.key,
                      committee: el.dataset.committee || null,
                      code: el.dataset.code || (row && row.dataset.code) || null,
                      message: row ? (row.dataset.messageId || null) : null,
                      n: row && row.dataset.n ? Number(row.dataset.n) : null,
                      children: el.closest('#children') !== null,
                      text: el.textContent};
            });""")


def shown(value, key):
    """A value as app.js's show() draws it."""
    if value is None or value == "":
        return "\u2014"
    if isinstance(value, bool):
        return "\u662f" if value else "\u5426"
    if key == "sequence":
        return str(value)
    if key == "turnout":
        return f"{value:.2f}%"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def compare(where, figure, row, key=None):
    global checked
    key = key or figure["key"]
    if row is None:
        fail(f"{where}: {figure['api']}.{key} for {figure['code'] or figure['message']} "
             f"{figure['committee'] or ''} is on the page but not in the API")
        return
    want = shown(row.get(key), key)
    checked += 1
    if figure["text"] != want:
        fail(f"{where}: {figure['api']}.{key} ({figure['code'] or figure['message']} "
             f"{figure['committee'] or ''}) shows {figure['text']!r}, the API says {want!r}")


def check_area(web, browser, code, level, child_level):
    """Every figure of an area's page against the API."""
    api = lambda path: http_json("GET", web + "api/v1/" + path)
    own = {fn: api(f"{fn}?level={level}&under={code}")["rows"]
           for fn in ("totals", "progress", "composition")}
    if child_level == "unit":
        children = {"units": api(f"units?under={code}")["rows"]}
        expected_rows = len(children["units"])
    else:
        children = {fn: api(f"{fn}?level={child_level}&under={code}")["rows"]
                    for fn in ("totals", "progress")}
        expected_rows = len(children["totals"])
    feed = api(f"feed?under={code}&limit=20")
    figures = browser.figures()
    drawn_rows = browser.script("return document.querySelectorAll('#children tbody tr').length")
    check_feed(code, browser, feed)
    if drawn_rows != expected_rows:
        fail(f"{code}: {drawn_rows} rows drawn below it, the API has {expected_rows}")
    for f in figures:
        if f["api"] == "feed":
            match = [r for r in feed["rows"] if r["n"] == f["n"]]
            compare(code, f, match[0] if match else None)
            continue
        rows = (children if f["children"] else own).get(f["api"])
        if rows is None:
            fail(f"{code}: unexpected figure source {f['api']}")
            continue
        if f["api"] == "units":
            match = [r for r in rows if r["unit_code"] == f["code"]
                     and r["committee"] == f["committee"]]
            compare(code, f, match[0] if match else None)
        elif f["api"] == "progress" and f["committee"] is None:
            match = [r for r in rows if r["code"] == f["code"]]
            total = sum(r[f["key"]] for r in match) if match else None
            compare(code, f, {f["key"]: total} if match else None)
        else:
            match = [r for r in rows if r["code"] == f["code"]
                     and (f["committee"] is None or r.get("committee") == f["committee"])]
            compare(code, f, match[0] if len(match) == 1 else None)
    return len(figures)


def check_feed(code, browser, feed):
    """The live feed's rows on an area's page: the API's, in its order,
    each with its verdict; the figures in them are compared with the rest."""
    drawn = browser.script("""
        const f = document.getElementById('feed');
        return f === null ? null : {
          received: Number(f.dataset.received),
          rows: Array.from(f.querySelectorAll('tbody tr')).map(
                  tr => [Number(tr.dataset.n), tr.dataset.verdict])};""")
    if drawn is None:
        fail(f"{code}: no live feed on the page")
        return
    want = [[r["n"], r["verdict"]] for r in feed["rows"]]
    if drawn["rows"] != want or drawn["received"] != feed["received"]:
        fail(f"{code}: the live feed shows {drawn}, the API has {want} of {feed['received']}")
    feed_rows[code] = len(want)


def check_unit(web, browser, code):
    detail = http_json("GET", web + f"api/v1/unit/{code}")
    figures = browser.figures()
    for f in figures:
        if f["api"] == "unit":
            match = [c for c in detail["committees"] if c["committee"] == f["committee"]]
        else:
            match = [r for r in detail["revisions"] if r["message_id"] == f["message"]]
        compare(code, f, match[0] if len(match) == 1 else None)
    drawn = browser.script("return document.querySelectorAll('#revisions tbody tr').length")
    if drawn != len(detail["revisions"]):
        fail(f"{code}: {drawn} revisions drawn, the API has {len(detail['revisions'])}")
    return detail, len(figures)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    web, unit, shots = sys.argv[1], sys.argv[2], sys.argv[3]
    if not web.endswith("/"):
        web += "/"
    path = [unit[:2] + "0" * 10, unit[:4] + "0" * 8, unit[:6] + "0" * 6, unit[:9] + "000"]
    levels = ["province", "prefecture", "county", "township", "unit"]
    browser = Browser()
    try:
        browser.go(web)
        browser.wait_for("#/")
        n = check_area(web, browser, path[0], "province", "prefecture")
        print(f"province page: {n} figures drawn")
        browser.screenshot(os.path.join(shots, "dashboard-province.png"))
        for depth in range(1, 4):
            # Click the row of the next area down, as a person would.
            browser.click(f'#children tr[data-code="{path[depth]}"] a')
            browser.wait_for(f"#/area/{path[depth]}")
            n = check_area(web, browser, path[depth], levels[depth], levels[depth + 1])
            crumbs = browser.script("return Array.from(document.querySelectorAll('#path [data-level]'))"
                                    ".map(e => e.dataset.level)")
            if crumbs != levels[:depth + 1]:
                fail(f"{path[depth]}: the path shows {crumbs}")
            print(f"{levels[depth]} {path[depth]}: {n} figures drawn")
        browser.click(f'#children tr[data-code="{unit}"] a')
        browser.wait_for(f"#/unit/{unit}")
        detail, n = check_unit(web, browser, unit)
        print(f"unit {unit}: {n} figures drawn, {len(detail['revisions'])} revisions")
        browser.screenshot(os.path.join(shots, "dashboard-unit.png"))
        sigs = browser.script("return Array.from(document.querySelectorAll("
                              "'#revisions [data-key=signature]')).map(e => e.textContent)")
        if not sigs or any(s != "verified" for s in sigs):
            fail(f"{unit}: signatures shown {sigs}, expected every one verified")
        old = browser.script("return document.querySelectorAll('#revisions tr.old').length")
        superseded = sum(1 for r in detail["revisions"] if not r["counts"])
        if old != superseded or superseded == 0:
            fail(f"{unit}: {old} revisions shown superseded, the API has {superseded} (want > 0)")
        # Back up the path: the township's link in the breadcrumb.
        browser.click('#path a[data-level="township"]')
        browser.wait_for(f"#/area/{path[3]}")
    finally:
        browser.close()
    if not any(feed_rows.values()):
        fail("no page drew a row of the live feed")
    print(f"dashboard: {checked} figures compared with the API, {failures} differ; "
          f"live feed rows drawn per page {feed_rows}; screenshots in {shots}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
