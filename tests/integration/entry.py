#!/usr/bin/env python3
"""The entry desk in a real browser: headless Chromium through ChromeDriver
(the WebDriver session of dashboard.py, reused).

  entry.py DESK_URL SCREENSHOT_DIR

A wrong password is refused; the right one logs in.  A villagers'
committee result (deploy/examples/villagers.json's figures, typed in) with
one mistake (invalid ballots one too many) shows the rule's Chinese
message at ballots.valid; corrected, the elected filled from the
thresholds with one click, saved, it is accepted by the collector.  A
second unit's result that the agent's looser rule (mass_elect 1/3) elects
one more member of comes back rejected by the collector (ELECTED_MISMATCH)
and opens, prefilled, as revision 2.  The accepted result's posting sheet
(公示) is printed: its QR code, read back from the screenshot with zbarimg,
opens the province's check page (tallyfeed-web /check), which says
"counted"; once revision 2 is saved and accepted, the first sheet's page
says "superseded"; the same URL with one figure changed says "altered", with
another signature "forged".  Screenshots (PNG) of each step.
Every wait is for a condition, with a deadline.  Exits 1 on any failure.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dashboard import Browser, http_json  # noqa: E402

PASSWORD = "wrong-horse-battery"
failures = 0
shots_taken = []


def fail(message):
    global failures
    failures += 1
    print("FAIL: " + message)


def ok(message):
    print("ok: " + message)


def until(browser, what, source, seconds=30):
    """Wait until the script source returns something true; return it."""
    end = time.monotonic() + seconds
    while True:
        value = browser.script(source)
        if value:
            return value
        if time.monotonic() > end:
            raise RuntimeError(f"waited {seconds} s for {what}")
        time.sleep(0.1)


def element(browser, css):
    found = http_json("POST", browser.url + "/element", {"using": "css selector", "value": css})
    return next(iter(found["value"].values()))


def type_into(browser, css, text):
    """Clear the field and type text, as a person would (input events)."""
    e = element(browser, css)
    http_json("POST", f"{browser.url}/element/{e}/clear", {})
    http_json("POST", f"{browser.url}/element/{e}/value", {"text": str(text)})


def choose(browser, css, value):
    browser.script("const el = document.querySelector(arguments[0]); el.value = arguments[1];"
                   "el.dispatchEvent(new Event('change', {bubbles: true}));", css, value)


def shot(browser, shots, name):
    path = os.path.join(shots, name)
    browser.screenshot(path)
    shots_taken.append(path)


def checked_after(browser, before):
    """Wait for a check answered after the count before."""
    until(browser, "the next check", f"return Number(document.body.dataset.checked || 0) > {before}")


def checks(browser):
    return browser.script("return Number(document.body.dataset.checked || 0)")


def fill(browser, figures, candidates):
    for key, value in figures.items():
        type_into(browser, "#" + key, value)
    rows = browser.script("return document.querySelectorAll('#candidates tbody tr').length")
    for _ in range(len(candidates) - rows):
        browser.click("#add-candidate")
    for i, c in enumerate(candidates):
        row = f'#candidates tbody tr[data-field="candidates[{i}]"]'
        type_into(browser, f'{row} [data-key="name"]', c["name"])
        choose(browser, f'{row} [data-key="position"]', c["position"])
        type_into(browser, f'{row} [data-key="votes_for"]', c["votes_for"])
        choose(browser, f'{row} [data-key="gender"]', c["gender"])
        type_into(browser, f'{row} [data-key="ethnicity"]', c["ethnicity"])
        type_into(browser, f'{row} [data-key="birth_year"]', c["birth_year"])
        choose(browser, f'{row} [data-key="education"]', c["education"])


def open_row(browser, unit, committee):
    browser.click(f'#unit-table tr[data-unit="{unit}"][data-committee="{committee}"] button.open')
    until(browser, "the form", "return document.body.dataset.view === 'form'"
          " && Number(document.body.dataset.checked || 0) > 0")


def saved_state(browser, seconds=60):
    return until(browser, "the collector's answer",
                 "const s = document.getElementById('save-state').dataset.state;"
                 "return ['accepted', 'rejected', 'refused'].includes(s) ? s : null", seconds)


def verdict_of(browser, url, name):
    """Open a check page; its verdict, once the page has one."""
    browser.go(url)
    verdict = until(browser, "the check's answer",
                    "const v = document.querySelector('#answer .verdict');"
                    "return v ? v.dataset.verdict : null")
    shot(browser, shots_dir, name)
    return verdict, browser.script("return document.querySelector('#answer').textContent")


def posting_sheet(browser, shots, desk, sheet):
    """Print the sheet, read its QR code, and check it at the province."""
    browser.go(sheet)
    until(browser, "the sheet", "return document.querySelector('svg.qr') !== null")
    title = browser.script("return document.querySelector('h1').textContent + "
                           "document.querySelector('h2').textContent")
    if title == "元树尔村委会村民委员会选举结果公示":
        ok(f"the posting sheet: {title}")
    else:
        fail(f"the sheet's title is {title!r}")
    names = browser.script("return [...document.querySelectorAll('table.candidates tbody tr')]"
                           ".map((tr) => tr.cells[0].textContent)")
    shot(browser, shots, "entry-sheet.png")
    decoded = subprocess.run(["zbarimg", "-q", "--raw", os.path.join(shots, "entry-sheet.png")],
                             capture_output=True, text=True)
    url = decoded.stdout.strip()
    printed = browser.script("return document.querySelector('.url').textContent")
    if url and url == printed:
        ok(f"its QR code, read back with zbarimg, holds the URL printed under it: {url}")
    else:
        fail(f"the QR code reads {url!r} (zbarimg: {decoded.stderr.strip()}), "
             f"the sheet prints {printed!r}")
        return
    verdict, text = verdict_of(browser, url, "check-counted.png")
    if verdict == "counted" and "与公示一致" in text:
        ok(f"the check page: {text}")
    else:
        fail(f"the check page says {verdict}: {text}")
    # What the QR code does not carry, the page gives from the stored
    # sheet: a reprint with other names would show beside the paper.
    shown = browser.script("return document.querySelector('#sheet').textContent")
    if names and all(n in shown for n in names):
        ok(f"the check page lists the sheet's candidates: {'、'.join(names)}")
    else:
        fail(f"the check page lacks the sheet's names {names}: {shown}")

    # One figure changed on the sheet (valid ballots), another signature.
    head, figures = url.split("&f=")
    numbers = figures.split("_")[0].split(".")
    numbers[6] = str(int(numbers[6]) + 9)
    altered = head + "&f=" + ".".join(numbers) + "_" + figures.split("_", 1)[1]
    verdict, text = verdict_of(browser, altered, "check-altered.png")
    if verdict == "altered" and "有效票数" in text:
        ok(f"a sheet with one changed figure: {text}")
    else:
        fail(f"a changed figure: {verdict}: {text}")
    at = url.index("&s=") + 3
    forged = url[:at] + ("B" if url[at] == "A" else "A") + url[at + 1:]
    verdict, text = verdict_of(browser, forged, "check-forged.png")
    if verdict == "forged":
        ok(f"a forged signature: {text}")
    else:
        fail(f"a forged signature: {verdict}: {text}")

    # Revision 2 through the form: the first sheet is superseded.
    browser.go(desk)
    until(browser, "the list of units", "return document.body.dataset.view === 'units'")
    open_row(browser, "630121100201", "villagers")
    revision = browser.script("return document.body.dataset.revision")
    type_into(browser, "#took_part", 1010)
    type_into(browser, "#issued", 1010)
    until(browser, "revision 2 to pass", "return document.body.dataset.accepted === '1'"
          " && document.querySelectorAll('span.msg.error').length === 0")
    browser.click("#save")
    state = saved_state(browser)
    if state != "accepted" or revision != "2":
        fail(f"revision {revision} of 元树尔村: {state}")
    verdict, text = verdict_of(browser, url, "check-superseded.png")
    if verdict == "superseded" and "第2版" in text:
        ok(f"the first sheet once revision 2 is stored: {text}")
    else:
        fail(f"the first sheet after revision 2: {verdict}: {text}")


shots_dir = None


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    global shots_dir
    desk, shots = sys.argv[1], sys.argv[2]
    shots_dir = shots
    example = json.load(open(os.path.join(os.environ["TF_SRC"], "deploy/examples/villagers.json")))
    browser = Browser()
    try:
        browser.go(desk)
        until(browser, "the login", "return document.body.dataset.ready === '1'"
              " && document.body.dataset.view === 'login'")
        type_into(browser, "#password", "not-the-password")
        browser.click("#login-button")
        said = until(browser, "the refusal", "return document.getElementById('login-error').textContent")
        if "密码不对" in said:
            ok(f"a wrong password refused: {said}")
        else:
            fail(f"a wrong password: the page says {said!r}")
        shot(browser, shots, "entry-login-refused.png")
        type_into(browser, "#password", PASSWORD)
        browser.click("#login-button")
        until(browser, "the list of units", "return document.body.dataset.view === 'units'")
        state = browser.script("return document.querySelector('#unit-table tr[data-unit=\"630121100201\"]"
                               "[data-committee=\"villagers\"]').dataset.state")
        if state != "none":
            fail(f"元树尔村 villagers' committee is {state!r} before anything was entered")
        shot(browser, shots, "entry-units.png")

        say = "the sound result, with one mistake"
        open_row(browser, "630121100201", "villagers")
        figures = dict(example["electorate"])
        figures.update(example["ballots"])
        figures = {k: v for k, v in figures.items() if k != "excused"}
        figures.update({"seats_" + k: v for k, v in example["seats"].items()})
        figures["invalid"] = example["ballots"]["invalid"] + 1      # the mistake
        fill(browser, figures, example["candidates"])
        before = checks(browser)
        browser.click("#fill-elected")
        checked_after(browser, before + 1)
        msg = until(browser, "the rule's message at ballots.valid",
                    "const m = document.querySelector('span.msg[data-for=\"ballots.valid\"]');"
                    "return m && m.closest('label').querySelector('#valid') ? m.textContent : null")
        want = "有效票 990 + 无效票 12 不等于收回选票 1001"
        if want in msg:
            ok(f"{say}: at ballots.valid the page says {msg}")
        else:
            fail(f"{say}: at ballots.valid {msg!r}, expected {want!r}")
        if not browser.script("return document.getElementById('valid').classList.contains('bad')"
                              " && document.getElementById('save').disabled"):
            fail(f"{say}: the field is not marked, or save is not held back")
        shot(browser, shots, "entry-mistake.png")
        type_into(browser, "#invalid", example["ballots"]["invalid"])
        until(browser, "the corrected result to pass", "return document.body.dataset.accepted === '1'"
              " && document.querySelectorAll('span.msg.error').length === 0")
        elected = browser.script("return Array.from(document.querySelectorAll("
                                 "'#candidates [data-key=elected]')).map(e => e.checked)")
        if elected != [c["elected"] for c in example["candidates"]]:
            fail(f"the thresholds filled elected {elected}")
        else:
            ok("corrected; the one click filled the elected as the example has them")
        browser.click("#save")
        state = saved_state(browser)
        text = browser.script("return document.getElementById('save-state').textContent")
        if state == "accepted":
            ok(f"saved and accepted: {text}")
        else:
            fail(f"the sound result: {state}: {text}")
        sheet = until(browser, "the link to the posting sheet",
                      "const p = document.getElementById('sheet-link');"
                      "return p.hidden ? null : p.querySelector('a').href")
        ok(f"the accepted result links to its posting sheet: {sheet}")
        shot(browser, shots, "entry-accepted.png")

        say = "a result the agent's looser rule elects one more of"
        browser.click("#back")
        until(browser, "the list again", "return document.body.dataset.view === 'units'")
        state = browser.script("return document.querySelector('#unit-table tr[data-unit=\"630121100201\"]"
                               "[data-committee=\"villagers\"]').dataset.state")
        if state != "accepted":
            fail(f"the list shows 元树尔村 as {state!r}")
        open_row(browser, "630121100202", "villagers")
        people = [("韩玉梅", "head", 60, "female"), ("马成林", "member", 70, "male"),
                  ("李德寿", "member", 40, "male"), ("祁永明", "member", 20, "male")]
        candidates = [{"name": n, "position": p, "votes_for": v, "gender": g, "ethnicity": "土族",
                       "birth_year": 1980, "education": "senior_secondary"} for n, p, v, g in people]
        fill(browser, {"registered": 100, "took_part": 90, "proxy_votes": 0, "issued": 90,
                       "returned": 90, "valid": 88, "invalid": 2, "seats_head": 1, "seats_member": 2},
             candidates)
        before = checks(browser)
        browser.click("#fill-elected")
        checked_after(browser, before + 1)
        until(browser, "the agent's rules to pass it", "return document.body.dataset.accepted === '1'")
        browser.click("#save")
        state = saved_state(browser)
        text = browser.script("return document.getElementById('save-state').textContent")
        # The collector's reason in the staff's words, then its code and detail.
        if (state == "rejected" and "当选标记与按得票规则计算的结果不符" in text
                and "ELECTED_MISMATCH" in text):
            ok(f"{say}: rejected by the collector, the reason in Chinese: {text}")
        else:
            fail(f"{say}: {state}: {text}")
        shot(browser, shots, "entry-rejected.png")
        browser.click("#revise")
        until(browser, "revision 2", "return document.body.dataset.view === 'form'"
              " && document.body.dataset.revision === '2'")
        names = browser.script("return Array.from(document.querySelectorAll("
                               "'#candidates [data-key=name]')).map(e => e.value)")
        took = browser.script("return document.getElementById('took_part').value")
        if names == [p[0] for p in people] and took == "90":
            ok("the rejected result opens prefilled as revision 2")
        else:
            fail(f"revision 2 opened with names {names}, took part {took!r}")
        shot(browser, shots, "entry-revision2.png")
        posting_sheet(browser, shots, desk, sheet)
    finally:
        browser.close()
    print("entry: screenshots " + " ".join(shots_taken))
    print(f"entry: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
