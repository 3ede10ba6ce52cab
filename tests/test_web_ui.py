"""The web interface in a real browser: Debian's headless Chromium driven by Selenium, against a running gateway.

One gateway serves the module. With ``ASYNCOS_SCREENSHOTS=FOLDER`` every page visited is saved there as a
screenshot (for a person to look at: no test reads them, and each costs Chromium a render and a PNG).
"""

from __future__ import annotations

import os
import re
import shutil
import smtplib
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from conftest import (
    PASSPHRASE,
    DaemonProcess,
    Sink,
    batch_fails,
    batch_ok,
    free_port,
    require_peer,
)

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

USERS = {"admin": ("admin", PASSPHRASE), "operator": ("op1", "Web-User-Pass-4k"),
         "readonly": ("ro1", "Web-User-Pass-4k"), "guest": ("guest1", "Web-User-Pass-4k"),
         "helpdesk": ("help1", "Web-User-Pass-4k")}
HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


def until(fn, timeout: float = 20):
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value or time.time() > deadline:
            return value
        time.sleep(0.2)


@pytest.fixture(scope="module")
def web(tmp_path_factory, initialised_template):
    require_peer("chromium", "chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    d = tmp_path_factory.mktemp("web") / "data"
    shutil.copytree(initialised_template, d, symlinks=True)
    port, smtp, out = free_port(), free_port(), free_port()
    sink = Sink("web")
    hold = d.parent / "hold.filter"
    hold.write_text('hold: if (subject == "^hold") { quarantine("Policy"); }\n.\n')
    users = "; ".join(f"userconfig new {u} --fullname='{kw} user' --role={kw} --passphrase={pw}"
                      for kw, (u, pw) in USERS.items() if kw != "admin")
    batch_ok(d, f"interfaceconfig edit Management --ssh-port={free_port()} --api-https-port={free_port()} "
                f"--web-https-port={port}; listenerconfig edit IncomingMail --port={smtp}; listenerconfig edit "
                f"OutgoingMail --port={out}; {users}; smtproutes new ALL 127.0.0.1:{sink.port}; "
                f"filters import {hold}; commit web test")
    daemon = DaemonProcess(d)
    shots = Path(os.environ["ASYNCOS_SCREENSHOTS"]) if os.environ.get("ASYNCOS_SCREENSHOTS") else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    options = Options()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--ignore-certificate-errors", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1280,800"):
        options.add_argument(arg)
    driver = None
    try:
        base = f"https://127.0.0.1:{port}"
        assert until(lambda: _up(base), 20), "the web interface did not come up"
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        driver.set_page_load_timeout(30)
        ns = SimpleNamespace(base=base, datadir=d, smtp=smtp, out=out, sink=sink, driver=driver, shots=shots,
                             shot=0)
        send(ns, "alice@sender.example", "quarterly report", "<web-1@sender.example>")
        yield ns
    finally:
        if driver is not None:
            driver.quit()
        daemon.stop()
        sink.stop()


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/login", verify=False, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def send(web, sender: str, subject: str, message_id: str, name: str = "") -> None:
    from_header = f"{name} <{sender}>" if name else sender
    with smtplib.SMTP("127.0.0.1", web.smtp, timeout=20) as s:
        s.sendmail(sender, ["bob@example.com"], f"From: {from_header}\r\nSubject: {subject}\r\n"
                                                 f"Message-ID: {message_id}\r\n\r\nhello {subject}\r\n".encode())


def screenshot(web, name: str, driver=None) -> None:
    """The page as it is now, as NAME.png in the screenshot folder, when there is one."""
    if web.shots is not None:
        (driver or web.driver).save_screenshot(str(web.shots / f"{name}.png"))


def visit(web, path: str, name: str = ""):
    web.driver.get(web.base + path)
    web.shot += 1
    screenshot(web, f"{web.shot:02d}-{name or path.strip('/').replace('/', '-')}")
    return web.driver


def login(web, role: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    web.driver.delete_all_cookies()
    user, pw = USERS[role]
    d = visit(web, "/login", f"login-{role}")
    # With the keyboard alone: the username field has the focus (autofocus, once the page has applied it), Tab
    # moves on, Enter submits.
    assert until(lambda: d.switch_to.active_element.get_attribute("id") == "username", 10)
    d.switch_to.active_element.send_keys(user, Keys.TAB, pw, Keys.ENTER)
    until(lambda: "/login" not in d.current_url, 10)
    # The URL changes when the navigation commits, before the new page's elements are there.
    assert until(lambda: d.find_elements(By.CSS_SELECTOR, ".logout span"), 10)
    assert d.find_element(By.CSS_SELECTOR, ".logout span").text.startswith(user)
    return d


def text_of(d) -> str:
    """The page's main text; "" while a navigation replaces the page (the callers wait with until)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    try:
        return d.find_element(By.TAG_NAME, "main").text
    except WebDriverException:  # stale, not there yet, or the frame detached mid-navigation
        return ""


def test_each_role_sees_its_pages_and_gets_403_for_the_others(web):
    from selenium.webdriver.common.by import By

    everything = {"System Status", "Message Tracking", "Quarantines", "Reports", "Search & Remediate", "URL Lists",
                  "Scan Behavior", "DLP Policy Manager"}
    expected = {"admin": everything, "operator": everything, "readonly": everything,
                "guest": {"System Status"}, "helpdesk": {"Message Tracking", "Quarantines", "Search & Remediate"}}
    pages = {"System Status": "/status", "Message Tracking": "/tracking", "Quarantines": "/quarantines",
             "Reports": "/reports/overview", "Search & Remediate": "/remediation", "URL Lists": "/urllists",
             "Scan Behavior": "/settings/scan-behavior", "DLP Policy Manager": "/settings/dlp"}
    for role, visible in expected.items():
        d = login(web, role)
        links = {a.text for a in d.find_elements(By.CSS_SELECTOR, "nav ul a")}
        assert links == visible, role
        for label, path in pages.items():
            visit(web, path, f"{role}-{path.strip('/')}")
            heading = d.find_element(By.TAG_NAME, "h2").text
            if label in visible:
                titles = {"Reports": "Overview", "Search & Remediate": "Remediation Report Status"}
                assert heading == titles.get(label, label), (role, path, heading)
            else:
                assert heading == "Not Allowed", (role, path, heading)
    # A refused page is a 403 for the server too, not only a hidden link.
    session = requests.Session()
    session.verify = False
    session.post(f"{web.base}/login", data={"username": "guest1", "password": USERS["guest"][1]}, verify=False)
    assert session.get(f"{web.base}/tracking", verify=False).status_code == 403


def test_status_page_refreshes_from_the_api_and_sends_a_strict_csp(web):
    from selenium.webdriver.common.by import By

    d = login(web, "admin")
    visit(web, "/status", "status")
    assert until(lambda: d.find_element(By.ID, "refreshed").text.startswith("Refreshed"), 15)
    assert "Mail counters" in text_of(d) and "Components and engines" in text_of(d)
    r = requests.get(f"{web.base}/login", verify=False)
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_tracking_search_with_the_mail_policy_filter_and_the_timeline(web):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = login(web, "helpdesk")
    visit(web, "/tracking", "tracking-form")
    d.find_element(By.ID, "mailPolicyName").send_keys("DEFAULT")
    Select(d.find_element(By.ID, "mailPolicyDirection")).select_by_value("incoming")
    d.find_element(By.ID, "subjectfilterValue").send_keys("quarterly")

    def found():
        from selenium.common.exceptions import StaleElementReferenceException

        try:
            d.find_element(By.CSS_SELECTOR, "form.search button[type=submit]").click()
        except StaleElementReferenceException:
            return False
        return until(lambda: "quarterly report" in text_of(d), 2)

    assert until(found, 20), text_of(d)
    screenshot(web, "tracking-results")
    d.find_element(By.CSS_SELECTOR, "table a[href^='/tracking/']").click()
    page = text_of(d)
    assert "alice@sender.example" in page and "matched per-recipient policy DEFAULT" in page
    screenshot(web, "tracking-message")
    visit(web, "/tracking?search=1&mailPolicyName=NOSUCH&mailPolicyDirection=incoming", "tracking-empty")
    assert "0 messages found" in text_of(d)


def test_release_a_quarantined_message_and_see_it_arrive(web):
    from selenium.webdriver.common.by import By

    send(web, "mallory@bad.example", "hold this invoice", "<web-hold@bad.example>")
    d = login(web, "helpdesk")
    assert until(lambda: "hold this invoice" in text_of(visit(web, "/quarantines", "quarantines")), 20)
    d.find_element(By.CSS_SELECTOR, "table a[href^='/quarantines/']").click()
    screenshot(web, "quarantine-message")
    assert "Message-ID: <web-hold@bad.example>" in text_of(d)
    d.find_element(By.XPATH, "//button[text()='Release']").click()
    assert until(lambda: "released from Policy" in text_of(d), 10), text_of(d)
    assert until(lambda: "<web-hold@bad.example>" in web.sink.message_ids(), 20)
    # Read-only operators see the held messages but no buttons to act.
    send(web, "mallory@bad.example", "hold again", "<web-hold2@bad.example>")
    d = login(web, "readonly")
    assert until(lambda: "hold again" in text_of(visit(web, "/quarantines", "quarantines-readonly")), 20)
    d.find_element(By.CSS_SELECTOR, "table a[href^='/quarantines/']").click()
    assert not d.find_elements(By.XPATH, "//button[text()='Release']")


def test_a_change_on_a_page_is_pending_until_commit_then_in_showconfig(web):
    from selenium.webdriver.common.by import By

    d = login(web, "operator")
    visit(web, "/urllists", "urllists")
    d.find_element(By.ID, "entry").send_keys("phish-web.example.com")
    d.find_element(By.CSS_SELECTOR, "form.search button").click()
    assert until(lambda: "Uncommitted changes: reputation" in text_of(d), 10), text_of(d)
    assert "phish-web.example.com" not in batch_ok(web.datadir, "showconfig")  # pending, not committed
    screenshot(web, "urllists-pending")
    d.find_element(By.ID, "comment").send_keys("block from the web")
    d.find_element(By.XPATH, "//button[text()='Commit Changes']").click()
    assert until(lambda: "Changes committed" in text_of(d), 10), text_of(d)
    assert "phish-web.example.com" in batch_ok(web.datadir, "showconfig")
    assert "block from the web" in batch_ok(web.datadir, "rollbackconfig print")

    # A conflicting commit from the shell is reported, never overwritten.
    d.find_element(By.ID, "entry").send_keys("second-web.example.com")
    d.find_element(By.CSS_SELECTOR, "form.search button").click()
    assert until(lambda: "second-web.example.com: add is pending" in text_of(d), 10)  # staged before the shell's
    batch_ok(web.datadir, "urllistconfig add allowed shell.example.com; commit from the shell")
    d.find_element(By.XPATH, "//button[text()='Commit Changes']").click()
    assert until(lambda: "Commit refused" in text_of(d) and "changed by" in text_of(d), 10), text_of(d)
    d.find_element(By.XPATH, "//button[text()='Abandon Changes']").click()
    config = batch_ok(web.datadir, "showconfig")
    assert "shell.example.com" in config and "second-web.example.com" not in config

    # Read-only operators change nothing: the server refuses the form itself.
    d = login(web, "readonly")
    visit(web, "/urllists", "urllists-readonly")
    assert not d.find_elements(By.ID, "entry")


def test_a_post_without_the_csrf_token_is_refused(web):
    s = requests.Session()
    s.post(f"{web.base}/login", data={"username": "op1", "password": USERS["operator"][1]}, verify=False)
    r = s.post(f"{web.base}/urllists", data={"which": "url_blocked", "entry": "x.example", "op": "add"}, verify=False)
    assert r.status_code == 403
    api = s.post(f"{web.base}/esa/api/v2.0/config/url_lists/blocked", json={"data": {"urls": ["x.example"]}},
                 verify=False)
    assert api.status_code == 403 and "X-CSRF-Token" in api.json()["error"]["explanation"]
    assert s.get(f"{web.base}/esa/api/v2.0/health", verify=False).status_code == 200  # reads need no token
    assert "x.example" not in batch_ok(web.datadir, "showconfig")


def test_hostile_subjects_and_names_stay_text_in_tracking_and_quarantines(web):
    from selenium.webdriver.common.by import By

    send(web, "eve@evil.example", f"hold {HOSTILE}", "<web-evil@evil.example>", name=HOSTILE)
    d = login(web, "admin")
    assert until(lambda: "<script>" in text_of(visit(web, "/quarantines", "quarantines-hostile")), 20)
    d.find_element(By.CSS_SELECTOR, "table a[href^='/quarantines/']").click()
    assert HOSTILE in text_of(d)
    assert d.execute_script("return window.__pwned") is None
    visit(web, "/tracking?search=1&envelopeSenderfilterOperator=is&envelopeSenderfilterValue=eve%40evil.example",
          "tracking-hostile")
    assert until(lambda: "<script>" in text_of(visit(web, "/tracking?search=1&envelopeSenderfilterOperator=is&"
                                                           "envelopeSenderfilterValue=eve%40evil.example")), 20)
    d.find_element(By.CSS_SELECTOR, "table a[href^='/tracking/']").click()
    assert "<script>window.__pwned=1</script>" in text_of(d)
    assert d.execute_script("return window.__pwned") is None
    assert not d.find_elements(By.CSS_SELECTOR, "main img")


def test_readable_at_390_pixels_wide(web):
    d = login(web, "admin")
    d.set_window_size(390, 844)
    try:
        for path in ("/status", "/tracking", "/quarantines", "/reports/mail-flow-details", "/urllists"):
            visit(web, path, f"narrow-{path.strip('/')}")
            overflow = d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, (path, overflow)
    finally:
        d.set_window_size(1280, 800)


def test_logout_and_the_authentication_log(web):
    from selenium.webdriver.common.by import By

    d = login(web, "operator")
    d.find_element(By.XPATH, "//button[text()='Log Out']").click()
    assert until(lambda: "/login" in d.current_url, 10)
    visit(web, "/status", "after-logout")
    assert until(lambda: "/login" in d.current_url, 10)
    auth = (web.datadir / "logs" / "authentication" / "authentication.current").read_text()
    assert "The user op1 successfully logged on from 127.0.0.1 with privilege operator using an HTTPS connection." \
        in auth
    assert re.search(r"^\S+ \S+ \S+ \S+ \S+ Info: logout:127\.0\.0\.1 user:op1 session:\w+$", auth, re.M), auth
    gui = (web.datadir / "logs" / "gui_logs" / "gui.current").read_text()
    assert "user:op1" in gui and "GET /status" in gui


def test_reports_show_the_numbers_the_api_and_report_give_for_the_same_range(web):
    import calendar
    import json

    from selenium.webdriver.common.by import By

    now = int(time.time()) // 3600 * 3600
    start, end = now - 3 * 3600, now + 3600
    hhmm = lambda t: time.strftime("%Y-%m-%dT%H:%M", time.gmtime(t))  # noqa: E731
    # The fixture's message is counted once it is finished (the tracking flush): wait for it, whatever ran before.
    assert until(lambda: json.loads(batch_ok(web.datadir, f"report overview --since={start} --until={end} "
                                             "--format=json"))["Incoming Mail Summary"]["Clean Messages (delivered)"]
                 >= 1, 30)
    d = login(web, "readonly")
    visit(web, f"/reports/overview?range=custom&from={hhmm(start)}&to={hhmm(end)}", "report-overview")
    cells = {row.find_elements(By.TAG_NAME, "td")[0].text: row.find_elements(By.TAG_NAME, "td")[1].text
             for row in d.find_elements(By.CSS_SELECTOR, "table tbody tr")}
    assert "Stopped by IP Reputation Filtering" in cells and "Stopped by Domain Reputation Filtering" in cells
    shell = json.loads(batch_ok(web.datadir, f"report overview --since={start} --until={end} --format=json"))
    for key, value in shell["Incoming Mail Summary"].items():
        assert cells[key] == str(value), key
    total = d.find_element(By.XPATH, "//dt[text()='Total Attempted Messages']/following-sibling::dd[1]").text
    assert total == str(shell["Total Attempted Messages"]) and int(total) >= 1
    # The API's incoming summary, same range (its end is exclusive: the last hour ends just before it).
    s = requests.Session()
    s.post(f"{web.base}/login", data={"username": "ro1", "password": USERS["readonly"][1]}, verify=False)
    iso = lambda t: time.strftime("%Y-%m-%dT%H:00:00.000Z", time.gmtime(t))  # noqa: E731
    api = s.get(f"{web.base}/esa/api/v2.0/reporting/mail_incoming_traffic_summary",
                params={"startDate": iso(start), "endDate": iso(end)}, verify=False).json()["data"]["resultSet"]
    counters = {k: v for item in api for k, v in item.items()}
    assert counters["total_recipients"] == int(total)
    assert counters["blocked_reputation"] == int(cells["Stopped by IP Reputation Filtering"])
    assert counters["blocked_sdr"] == int(cells["Stopped by Domain Reputation Filtering"])
    assert calendar.timegm(time.gmtime(start)) == start
    for kind in ("incoming", "mail-flow", "mail-flow-details", "mail-policy"):
        visit(web, f"/reports/{kind}?range=day", f"report-{kind}")
        assert "Time range: Past day" in text_of(d) and "Data updated" in text_of(d)
        if kind == "mail-flow":
            # The Threat Messages graph: a stacked bar per hour, the reputation stops apart in its legend and columns.
            graph = d.find_element(By.XPATH, "//caption[text()='Threat Messages']/..")
            headers = [th.text for th in graph.find_elements(By.TAG_NAME, "th")]
            assert "Stopped by IP Reputation Filtering" in headers and "Stopped by Domain Reputation Filtering" in headers
            assert len(graph.find_elements(By.CSS_SELECTOR, "tbody tr")) >= 24
            assert "Threat Detection Summary" in text_of(d)
    csv_text = s.get(f"{web.base}/reports/mail-policy.csv?range=day", verify=False)
    assert csv_text.headers["Content-Type"].startswith("text/csv") and "incoming,DEFAULT,Messages," in csv_text.text
    visit(web, "/reports/overview?range=custom&from=2026-12-05T10:00&to=2026-12-05T09:00", "report-bad-range")
    assert "needs a start and an end after it" in text_of(d)


# ---------------------------------------------------------------- part two: settings pages and search & remediate


def follow(web, element) -> None:
    """Click what loads a new page, and wait until the old one is gone (its elements no longer answer: Chromium
    says so with a stale-element or an inspector error), then for the new one."""
    from selenium.common.exceptions import WebDriverException

    element.click()

    def gone() -> bool:
        try:
            element.is_enabled()
            return False
        except WebDriverException:
            return True

    assert until(gone, 15), "the page did not change"
    until(lambda: text_of(web.driver), 10)


def submit(web, form_action: str, name: str):
    """Click the submit button of the form posting to ``form_action``, and keep a screenshot of the answer."""
    from selenium.webdriver.common.by import By

    follow(web, web.driver.find_element(By.CSS_SELECTOR, f"form[action='{form_action}'] button[type='submit']"))
    web.shot += 1
    screenshot(web, f"{web.shot:02d}-{name}")
    return web.driver


def commit(web, comment: str) -> None:
    from selenium.webdriver.common.by import By

    d = web.driver
    d.find_element(By.ID, "comment").send_keys(comment)
    d.find_element(By.XPATH, "//button[text()='Commit Changes']").click()
    assert until(lambda: "Changes committed" in text_of(d), 10), text_of(d)
    web.shot += 1
    screenshot(web, f"{web.shot:02d}-committed", d)


def test_scan_behavior_passphrase_added_in_the_browser_opens_a_protected_zip(web, tmp_path):
    import json

    from corpus import info_zip, mail
    from selenium.webdriver.common.by import By

    eml = tmp_path / "protected.eml"
    eml.write_bytes(mail(("figures.zip", info_zip({"figures.txt": b"quarterly numbers"}, "Web-Zip-Pass-3", tmp_path),
                          "application/zip")))

    def opened_by():
        pol = json.loads(batch_ok(web.datadir, f"trace {eml} --format=json --engines=no"))["policies"][0]
        return [a["unlocked_by"] for a in pol["findings"]["attachments"] if a["unlocked_by"]]

    d = login(web, "admin")
    visit(web, "/settings/scan-behavior", "scan-behavior")
    inbound = d.find_element(By.ID, "inbound")
    if not inbound.is_selected():
        inbound.click()
    submit(web, "/settings/scan-behavior/setup", "scan-behavior-setup")
    # A bad priority is refused next to its field, with the declaration's sentence (as the shell gives it).
    d.find_element(By.ID, "priority").clear()
    d.find_element(By.ID, "priority").send_keys("1200")
    d.find_element(By.ID, "passphrase").send_keys("Web-Zip-Pass-3")
    submit(web, "/settings/scan-behavior/add", "scan-behavior-bad-priority")
    field = d.find_element(By.ID, "priority")
    assert field.get_attribute("aria-invalid") == "true"
    assert d.find_element(By.ID, "priority-error").text == "must be from 0 to 999, got 1200"
    assert "priority-error" in field.get_attribute("aria-describedby")
    assert "must be from 0 to 999, got 1200" in batch_fails(web.datadir, "protectedattachmentconfig new "
                                                                       "--priority=1200 --passphrase=x")
    field.clear()
    field.send_keys("2")
    d.find_element(By.ID, "passphrase").send_keys("Web-Zip-Pass-3")
    submit(web, "/settings/scan-behavior/add", "scan-behavior-added")
    d.find_element(By.ID, "priority").clear()
    d.find_element(By.ID, "priority").send_keys("1")
    d.find_element(By.ID, "passphrase").send_keys("a-wrong-one")
    submit(web, "/settings/scan-behavior/add", "scan-behavior-second")
    cells = [r.find_elements(By.TAG_NAME, "td")[1].text for r in d.find_elements(By.CSS_SELECTOR, "table tbody tr")]
    assert cells == ["********", "********"]  # masked
    assert not opened_by()  # pending: the running configuration has no passphrase yet
    commit(web, "passphrases from the web")
    assert opened_by() == ["priority 2"]
    # Reorder: moving the right passphrase up makes it priority 1; trace now names that priority.
    follow(web, d.find_element(By.CSS_SELECTOR, "button[aria-label='Move down priority 1']"))
    assert until(lambda: "moved down" in text_of(d), 10)
    commit(web, "reorder")
    assert opened_by() == ["priority 1"]
    # Edit: a priority another passphrase holds is refused next to the field; a free one is pending until Abandon.
    follow(web, d.find_element(By.XPATH, "//tr[td[1]='1']//button[text()='Edit']"))
    d.find_element(By.ID, "priority").clear()
    d.find_element(By.ID, "priority").send_keys("2")
    submit(web, "/settings/scan-behavior/edit", "scan-behavior-edit-clash")
    assert d.find_element(By.ID, "priority-error").text == "A passphrase with priority 2 already exists."
    d.find_element(By.ID, "priority").clear()
    d.find_element(By.ID, "priority").send_keys("7")
    submit(web, "/settings/scan-behavior/edit", "scan-behavior-edited")
    assert [r.find_elements(By.TAG_NAME, "td")[0].text
            for r in d.find_elements(By.CSS_SELECTOR, "table tbody tr")] == ["2", "7"]
    d.find_element(By.XPATH, "//button[text()='Abandon Changes']").click()
    assert until(lambda: "Changes abandoned" in text_of(d), 10)
    assert opened_by() == ["priority 1"]
    # Administrators may reveal them (an audit line); operators may not.
    visit(web, "/settings/scan-behavior?reveal=1", "scan-behavior-revealed")
    assert [c.text for c in d.find_elements(By.CSS_SELECTOR, ".secret")] == ["Web-Zip-Pass-3", "a-wrong-one"]
    assert "revealed the protected attachment passphrases in clear" in (
        web.datadir / "logs" / "cli_logs" / "cli.current").read_text()
    login(web, "operator")
    visit(web, "/settings/scan-behavior?reveal=1", "scan-behavior-operator-reveal")
    assert d.find_element(By.TAG_NAME, "h2").text == "Not Available" and "Web-Zip-Pass-3" not in d.page_source
    d = login(web, "readonly")
    visit(web, "/settings/scan-behavior", "scan-behavior-readonly")
    assert not d.find_elements(By.ID, "passphrase") and "Web-Zip-Pass-3" not in d.page_source


def test_dlp_policy_made_in_the_browser_quarantines_an_outgoing_nric(web):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = login(web, "operator")
    visit(web, "/settings/dlp", "dlp-policies")
    follow(web, d.find_element(By.LINK_TEXT, "Privacy Protection"))
    checked = {b.get_attribute("value") for b in d.find_elements(By.CSS_SELECTOR, "input[name='classifiers']")
               if b.is_selected()}
    assert checked == {"id-ktp", "my-mykad", "th-id", "ph-umid", "sg-nric"}
    labels = d.find_element(By.CSS_SELECTOR, "main form").text
    for name in ("Indonesia KTP", "Malaysia MyKad", "Thailand ID", "Philippines UMID", "Singapore NRIC"):
        assert name in labels
    # Bad values: each problem next to its field.
    d.find_element(By.ID, "min_confidence").clear()
    d.find_element(By.ID, "min_confidence").send_keys("200")
    submit(web, "/settings/dlp/save", "dlp-bad-form")
    assert d.find_element(By.ID, "min_confidence-error").text == "must be from 0 to 100 %, got 200"
    assert d.find_element(By.ID, "name-error").text == "the DLP policy name is empty"
    d.find_element(By.ID, "min_confidence").clear()
    d.find_element(By.ID, "min_confidence").send_keys("60")
    d.find_element(By.ID, "name").send_keys("WebPrivacy")
    Select(d.find_element(By.ID, "action_high")).select_by_value("quarantine")
    Select(d.find_element(By.ID, "action_critical")).select_by_value("quarantine")
    d.find_element(By.CSS_SELECTOR, "input[name='mail_policies'][value='DEFAULT']").click()
    submit(web, "/settings/dlp/save", "dlp-saved")
    assert "DLP policy WebPrivacy saved" in text_of(d)
    assert "WebPrivacy" not in batch_ok(web.datadir, "dlpconfig policy list")
    commit(web, "DLP from the web")
    assert "WebPrivacy: id-ktp" in batch_ok(web.datadir, "dlpconfig policy list")
    assert "WebPrivacy" in batch_ok(web.datadir, "policyconfig print")
    with smtplib.SMTP("127.0.0.1", web.out, timeout=20) as s:
        s.sendmail("hr@example.com", ["partner@example.net"],
                   b"From: hr@example.com\r\nTo: partner@example.net\r\nSubject: staff list\r\n"
                   b"Message-ID: <web-dlp@example.com>\r\n\r\nEmployee NRIC S1234567D, please update.\r\n")
    held = lambda: "staff list" in batch_ok(web.datadir, "quarantineconfig messages Policy")  # noqa: E731
    assert until(held, 30), batch_ok(web.datadir, "quarantineconfig messages Policy")
    assert "<web-dlp@example.com>" not in web.sink.message_ids()
    d = login(web, "readonly")
    visit(web, "/settings/dlp", "dlp-readonly")
    assert "WebPrivacy" in text_of(d) and not d.find_elements(By.LINK_TEXT, "Privacy Protection")
    # Deleting takes the policy off its mail policies too (dlpconfig would refuse while it is used).
    d = login(web, "admin")
    visit(web, "/settings/dlp", "dlp-before-delete")
    d.find_element(By.CSS_SELECTOR, "button[aria-label='Delete WebPrivacy']").click()
    assert until(lambda: "deleted" in text_of(d), 10)
    commit(web, "DLP off")
    assert "WebPrivacy" not in batch_ok(web.datadir, "policyconfig print")


def test_search_and_remediate_from_tracking_and_the_status_widget(web):
    from mailbox_peers import ACCOUNT, ACCOUNT_PASSPHRASE, Dovecot
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    require_peer("dovecot")
    dovecot = Dovecot({"bob@example.com": "bob-pass-1"})
    try:
        batch_ok(web.datadir, f"remediationconfig new onprem --kind=imap --host=127.0.0.1 --port={dovecot.port} "
                              f"--tls=none --username={ACCOUNT} --passphrase={ACCOUNT_PASSPHRASE} "
                              "--domains=example.com; commit remediation profile")
        send(web, "eve@phish.example", "reset your password", "<phish-web@phish.example>")
        raw = until(lambda: next((m for m in web.sink.messages() if b"<phish-web@phish.example>" in m), None), 30)
        dovecot.deliver("bob@example.com", raw)
        assert dovecot.message_ids("bob@example.com") == ["<phish-web@phish.example>"]
        d = login(web, "admin")
        path = "/tracking?search=1&messageIdHeader=phish-web%40phish.example"
        assert until(lambda: "Delivered" in text_of(visit(web, path, "remediate-search")), 30), text_of(d)
        d.find_element(By.CSS_SELECTOR, "input[name='mids']").click()
        Select(d.find_element(By.ID, "action")).select_by_value("delete")
        Select(d.find_element(By.ID, "profile")).select_by_value("onprem")
        submit(web, "/tracking/remediate", "remediation-queued")
        assert "Remediation Report Status" in d.find_element(By.TAG_NAME, "h2").text
        count = lambda k: d.find_element(By.CSS_SELECTOR, f"[data-count='{k}']").text  # noqa: E731
        # The widget follows the job from the API without a reload.
        assert until(lambda: count("status") == "Completed", 30), text_of(d)
        assert until(lambda: "Refreshed" in d.find_element(By.ID, "remediation-refreshed").text, 10)
        screenshot(web, "remediation-completed")
        assert (count("total"), count("succeeded"), count("failed"), count("in_progress")) == ("1", "1", "0", "0")
        d.find_element(By.TAG_NAME, "summary").click()
        assert d.find_element(By.CSS_SELECTOR, "[data-item='0']").text == "Success"
        assert "bob@example.com" in text_of(d)
        assert dovecot.message_ids("bob@example.com") == []
        # A forward without an address is refused with the API's sentence; help desk users see no checkboxes.
        visit(web, path, "remediate-search-again")
        d.find_element(By.CSS_SELECTOR, "input[name='mids']").click()
        Select(d.find_element(By.ID, "action")).select_by_value("forward")
        submit(web, "/tracking/remediate", "remediation-refused")
        assert "forward needs" in text_of(d)
        d = login(web, "helpdesk")
        visit(web, path, "remediate-search-helpdesk")
        assert until(lambda: "Delivered" in text_of(d), 5) and not d.find_elements(By.CSS_SELECTOR, "input[name='mids']")
        visit(web, "/remediation", "remediation-helpdesk")
        assert "Completed" in text_of(d)
    finally:
        dovecot.stop()
