"""The web interface in a real browser: Debian's headless Chromium driven by Selenium, against a running gateway.

One gateway serves the module. Every page visited is saved as a screenshot in the test's screenshot folder
(``ASYNCOS_SCREENSHOTS``, or a temporary one).
"""

from __future__ import annotations

import os
import shutil
import smtplib
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from conftest import PASSPHRASE, DaemonProcess, Sink, batch_ok, free_port, require_peer

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
    port, smtp = free_port(), free_port()
    sink = Sink("web")
    hold = d.parent / "hold.filter"
    hold.write_text('hold: if (subject == "^hold") { quarantine("Policy"); }\n.\n')
    users = "; ".join(f"userconfig new {u} --fullname='{kw} user' --role={kw} --passphrase={pw}"
                      for kw, (u, pw) in USERS.items() if kw != "admin")
    batch_ok(d, f"interfaceconfig edit Management --ssh-port={free_port()} --api-https-port={free_port()} "
                f"--web-https-port={port}; listenerconfig edit IncomingMail --port={smtp}; listenerconfig edit "
                f"OutgoingMail --port={free_port()}; {users}; smtproutes new ALL 127.0.0.1:{sink.port}; "
                f"filters import {hold}; commit web test")
    daemon = DaemonProcess(d)
    shots = Path(os.environ.get("ASYNCOS_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
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
        ns = SimpleNamespace(base=base, datadir=d, smtp=smtp, sink=sink, driver=driver, shots=shots, shot=0)
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


def visit(web, path: str, name: str = ""):
    web.driver.get(web.base + path)
    web.shot += 1
    web.driver.save_screenshot(str(web.shots / f"{web.shot:02d}-{name or path.strip('/').replace('/', '-')}.png"))
    return web.driver


def login(web, role: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    web.driver.delete_all_cookies()
    user, pw = USERS[role]
    d = visit(web, "/login", f"login-{role}")
    # With the keyboard alone: the username field has the focus, Tab moves on, Enter submits.
    d.switch_to.active_element.send_keys(user, Keys.TAB, pw, Keys.ENTER)
    until(lambda: "/login" not in d.current_url, 10)
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

    everything = {"System Status", "Message Tracking", "Quarantines", "Reports", "URL Lists"}
    expected = {"admin": everything, "operator": everything, "readonly": everything,
                "guest": {"System Status"}, "helpdesk": {"Message Tracking", "Quarantines"}}
    pages = {"System Status": "/status", "Message Tracking": "/tracking", "Quarantines": "/quarantines",
             "Reports": "/reports/overview", "URL Lists": "/urllists"}
    for role, visible in expected.items():
        d = login(web, role)
        links = {a.text for a in d.find_elements(By.CSS_SELECTOR, "nav ul a")}
        assert links == visible, role
        for label, path in pages.items():
            visit(web, path, f"{role}-{path.strip('/')}")
            heading = d.find_element(By.TAG_NAME, "h2").text
            if label in visible:
                assert heading == ("Overview" if label == "Reports" else label), (role, path, heading)
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
    web.driver.save_screenshot(str(web.shots / "tracking-results.png"))
    d.find_element(By.CSS_SELECTOR, "table a[href^='/tracking/']").click()
    page = text_of(d)
    assert "alice@sender.example" in page and "matched per-recipient policy DEFAULT" in page
    web.driver.save_screenshot(str(web.shots / "tracking-message.png"))
    visit(web, "/tracking?search=1&mailPolicyName=NOSUCH&mailPolicyDirection=incoming", "tracking-empty")
    assert "0 messages found" in text_of(d)


def test_release_a_quarantined_message_and_see_it_arrive(web):
    from selenium.webdriver.common.by import By

    send(web, "mallory@bad.example", "hold this invoice", "<web-hold@bad.example>")
    d = login(web, "helpdesk")
    assert until(lambda: "hold this invoice" in text_of(visit(web, "/quarantines", "quarantines")), 20)
    d.find_element(By.CSS_SELECTOR, "table a[href^='/quarantines/']").click()
    web.driver.save_screenshot(str(web.shots / "quarantine-message.png"))
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
    web.driver.save_screenshot(str(web.shots / "urllists-pending.png"))
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
    assert "GUI: User op1 logged out from session" in auth
    gui = (web.datadir / "logs" / "gui_logs" / "gui.current").read_text()
    assert "user:op1" in gui and "GET /status" in gui


def test_reports_show_the_numbers_the_api_and_report_give_for_the_same_range(web):
    import calendar
    import json

    from selenium.webdriver.common.by import By

    now = int(time.time()) // 3600 * 3600
    start, end = now - 3 * 3600, now + 3600
    hhmm = lambda t: time.strftime("%Y-%m-%dT%H:%M", time.gmtime(t))  # noqa: E731
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
    csv_text = s.get(f"{web.base}/reports/mail-policy.csv?range=day", verify=False)
    assert csv_text.headers["Content-Type"].startswith("text/csv") and "incoming,DEFAULT,Messages," in csv_text.text
    visit(web, "/reports/overview?range=custom&from=2026-12-05T10:00&to=2026-12-05T09:00", "report-bad-range")
    assert "needs a start and an end after it" in text_of(d)
