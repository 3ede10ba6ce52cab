"""The web interface under load: server response time of each page, and of a tracking search, over a large
tracking database, with concurrent logged-in sessions.

    python bench/web.py [MESSAGES] [SESSIONS] [SECONDS]      (defaults: 1000000 10 30)

Fills the tracking database as bench/api.py does, starts the gateway, logs SESSIONS browsers' worth of sessions
in (plain HTTPS clients holding the session cookie: the server's time is what is measured, not a browser's
rendering), then for SECONDS each session loads System Status, Message Tracking (a search: sender, recipient,
subject words within a day, a day's page, a MID), a message's timeline, Quarantines and the reports (Overview,
Incoming Mail, Mail Flow, Mail Flow Details, Mail Policy Details over the past hour, day, week or 30 days),
Scan Behavior, the DLP Policy Manager and the Remediation Report Status in turn.
Prints p50/p95 per page; issue #23's target: p95 under 300 ms with 10 sessions. Stops what it started.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from pathlib import Path

import requests
import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api as api_bench  # noqa: E402  (the same fill and searches)

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def page_for(kind: str, now: float, count: int, rng: random.Random) -> str:
    if kind == "status":
        return "/status"
    if kind == "quarantines":
        return "/quarantines"
    if kind == "message":
        return f"/tracking/{rng.randrange(1, count + 1)}"
    if kind.startswith("report-"):
        return f"/reports/{kind[7:]}?range={rng.choice(('hour', 'day', 'week', '30days'))}"
    if kind.startswith("settings-") or kind == "remediation":
        return {"settings-scan": "/settings/scan-behavior", "settings-dlp": "/settings/dlp",
                "remediation": "/remediation"}[kind]
    q = api_bench.searches(now, count, rng)
    q.pop("limit", None)
    q.pop("offset", None)
    for key, form in (("startDate", "since"), ("endDate", "until")):
        if key in q:
            q[form] = q.pop(key)[:16]
    if "mid" in q:
        q = {"mid": q["mid"]}
    return "/tracking?" + "&".join(f"{k}={requests.utils.quote(str(v))}" for k, v in {"search": 1, **q}.items())


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    sessions = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 30
    with api_bench.gateway(count, "bench-web-") as (_, port, now):
        base = f"https://127.0.0.1:{port}"
        clients = []
        for _ in range(sessions):
            s = requests.Session()
            r = s.post(f"{base}/login", data={"username": "admin", "password": api_bench.PASSPHRASE}, verify=False,
                       timeout=20)
            assert r.status_code == 200 and "System Status" in r.text, r.status_code
            clients.append(s)
        times: dict[str, list[float]] = {}
        errors: list[int] = []
        lock = threading.Lock()
        stop_at = time.time() + seconds

        def browse(n: int, s: requests.Session) -> None:
            rng = random.Random(n)
            mine: dict[str, list[float]] = {}
            kinds = ("status", "tracking", "message", "quarantines", "report-overview", "report-incoming",
                     "report-mail-flow", "report-mail-flow-details", "report-mail-policy", "settings-scan",
                     "settings-dlp", "remediation")
            i = n
            while time.time() < stop_at:
                kind = kinds[i % len(kinds)]
                i += 1
                t = time.perf_counter()
                r = s.get(base + page_for(kind, now, count, rng), verify=False, timeout=30)
                mine.setdefault(kind, []).append(time.perf_counter() - t)
                if r.status_code != 200:
                    errors.append(r.status_code)
            with lock:
                for k, v in mine.items():
                    times.setdefault(k, []).extend(v)

        threads = [threading.Thread(target=browse, args=(n, s)) for n, s in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"{sessions} sessions for {seconds:.0f} s over {count} tracked messages (server time per page):")
        for kind, values in sorted(times.items()):
            print(f"  {kind:<12} {len(values):>6} pages  p50 {api_bench.pct(values, 0.5):7.1f} ms  "
                  f"p95 {api_bench.pct(values, 0.95):7.1f} ms")
        everything = [v for values in times.values() for v in values]
        print(f"  all          {len(everything):>6} pages  p95 {api_bench.pct(everything, 0.95):.1f} ms; "
              f"errors {len(errors)}  (target #23 and #24: p95 < 300 ms)")


if __name__ == "__main__":
    main()
