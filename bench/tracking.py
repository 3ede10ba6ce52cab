"""Tracking at scale: load synthetic tracked messages, then time every search filter and every report.

    python bench/tracking.py [MESSAGES]      (default 1,000,000)

Records go through the tracking service's own writer (records, recipients,
policies, subject words, meta) into a fresh SQLite database with the
gateway's settings. Each filter is searched 200 times with values drawn from
the data (and misses); p50 and p99 latencies are printed. Prints figures;
asserts nothing. Target: p99 under 200 ms per search.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asyncos_cli.config.store import connect  # noqa: E402
from asyncos_cli.services import tracking_search as ts  # noqa: E402
from asyncos_cli.services.tracking import _SCHEMA, TrackingRecord, write_records  # noqa: E402

WORDS = "invoice order shipment report meeting payroll quarterly update newsletter offer urgent review".split()
POLICIES = ["incoming DEFAULT", "incoming SALES", "incoming CLICKERS", "outgoing DEFAULT", "outgoing HR"]


def records(n: int, rng: random.Random):
    now = time.time()
    for mid in range(1, n + 1):
        domain = f"d{rng.randrange(5000)}.example"
        rec = TrackingRecord(mid, mid // 3, now - (n - mid) * 0.5, f"user{rng.randrange(100)}@{domain}",
                             tuple(f"r{rng.randrange(20000)}@example.com" for _ in range(rng.randint(1, 3))),
                             rng.randint(1000, 200000), " ".join(rng.sample(WORDS, 3)) + f" {mid}",
                             f"<{mid}@{domain}>")
        rec.final_action = rng.choice(["DELIVERED"] * 8 + ["QUARANTINED", "DROPPED"])
        rec.finished = rec.received + 1
        rec.policies = [rng.choice(POLICIES)]
        rec.remote_ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        yield rec


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = random.Random(7)
    db = Path(tempfile.mkdtemp(prefix="bench-tracking-")) / "tracking.db"
    conn = connect(db)
    conn.executescript(_SCHEMA)
    conn.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    batch = []
    kept = []
    for rec in records(n, rng):
        batch.append(rec)
        if rec.mid % 997 == 0:
            kept.append(rec)
        if len(batch) == 20000:
            with conn:
                conn.execute("BEGIN")
                write_records(conn, batch)
            batch = []
    if batch:
        with conn:
            conn.execute("BEGIN")
            write_records(conn, batch)
    load = time.perf_counter() - started
    print(f"{n} tracked messages loaded in {load:.0f} s ({n / load:.0f} records/s); database "
          f"{db.stat().st_size / 1e6:.0f} MB")
    last = time.time()
    cases = {
        "mid": lambda r: {"mid": r.mid},
        "sender": lambda r: {"sender": r.sender},
        "recipient": lambda r: {"recipient": r.recipients[0]},
        "subject word": lambda r: {"subject": r.subject.split()[0]},
        "message id": lambda r: {"message_id": r.message_id},
        "sender ip": lambda r: {"ip": r.remote_ip},
        "mail policy": lambda r: {"policy": r.policies[0].split()[1], "direction": r.policies[0].split()[0]},
        "time range (1 h)": lambda r: {"since": r.received - 1800, "until": r.received + 1800},
        "policy + time (1 h)": lambda r: {"policy": "SALES", "direction": "incoming", "since": r.received - 1800,
                                          "until": r.received + 1800},
        "subject + time (1 h)": lambda r: {"subject": r.subject.split()[0], "since": r.received - 1800,
                                           "until": r.received + 1800},
        "recipient + time (1 h)": lambda r: {"recipient": r.recipients[0], "since": r.received - 1800,
                                             "until": r.received + 1800},
        "sender (miss)": lambda r: {"sender": "nobody@nowhere.example"},
    }
    print(f"{'search (100 newest results)':28} {'p50 ms':>8} {'p99 ms':>8}")
    for label, make in cases.items():
        times = []
        for _ in range(200):
            f = make(rng.choice(kept))
            t = time.perf_counter()
            ts.search(conn, f, 100)
            times.append(time.perf_counter() - t)
        print(f"{label:28} {pct(times, 50):8.2f} {pct(times, 99):8.2f}")
    for label, report in (("overview", ts.overview), ("incoming details", ts.incoming_details),
                          ("mail flow", ts.mail_flow), ("mail policy details", ts.mail_policy_details)):
        t = time.perf_counter()
        report(conn, last - 86400, last)
        print(f"report {label:21} {time.perf_counter() - t:8.2f} s (last 24 h)")


if __name__ == "__main__":
    main()
