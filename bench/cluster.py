"""Cluster mode: commit-to-applied latency across machines, and one machine's relay rate on each store.

    python bench/cluster.py [COMMITS] [MESSAGES] [SESSIONS] [TRACKED]

Three gateways (127.0.0.2, .3, .4, each its own data directory and daemon) and one PostgreSQL (Debian's,
started here, unprivileged, without fsync as in the tests). Gateway 1 relays MESSAGES messages of 2 KB from
smtp-source to smtp-sink over SESSIONS sessions, first standalone (SQLite store), then after
`clusterconfig create` (PostgreSQL store), then after leaving and again in a new cluster: the ratio is the issue's "at least 0.9x". Then gateways 2 and 3 join,
and COMMITS commits are made on gateway 1 (a recipient domain added, then removed); for each, the time from the
commit's return until every machine's daemon reports that version in effect. Last, TRACKED tracking records
(default 1,000,000) of three machines over 30 days are loaded into the cluster's tracking table and 300 findevent
searches of every kind (sender, recipient, subject words, Message-ID, sender IP, policy in a day, a day's range)
are timed as findevent makes them. Prints figures; asserts nothing; stops every process it started, also when it
fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from relay import CLI, Sink, end_to_end, free_port, pct, prepare_gateway  # noqa: E402

from tests.conftest import Postgres  # noqa: E402

ADDRESSES = ("127.0.0.2", "127.0.0.3", "127.0.0.4")


def cli(env: dict, line: str) -> str:
    r = subprocess.run([*CLI, "-c", line], env=env, capture_output=True, text=True, timeout=120)
    if r.returncode:
        raise RuntimeError(f"{line}: {r.stderr}")
    return r.stdout


def status(env: dict) -> dict:
    from asyncos_cli.control.client import request

    return request(Path(env["ASYNCOS_DATA"]) / "run" / "control.sock", "status")


def wait_listening(address: str, port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {address}:{port}")


def tracking_search(dsn: str, count: int) -> tuple[float, list[float]]:
    import json
    import random

    import psycopg

    from asyncos_cli.services.cluster_tracking import ClusterTracking

    rng = random.Random(31)
    words = [f"w{i}" for i in range(5000)]
    now = time.time()
    start = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        tracking = ClusterTracking(conn)
        with conn.cursor().copy("COPY cluster_tracking FROM STDIN") as copy:
            for mid in range(count):
                received = now - rng.random() * 30 * 86400
                sender = f"user{rng.randrange(20000)}@sender{rng.randrange(2000)}.example"
                rcpts = [f"rcpt{rng.randrange(50000)}@example.com"]
                copy.write_row((f"gw{mid % 3 + 1}", mid // 3 + 1, received, received + 0.5, sender, rcpts,
                                " ".join(rng.sample(words, 4)), "delivered", "incoming",
                                f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
                                f"<{mid}@bench>", [f"incoming POLICY{rng.randrange(20)}"],
                                json.dumps({"mid": mid})))
        conn.execute("ANALYZE cluster_tracking")
        load = time.perf_counter() - start
        kinds = [lambda: {"sender": f"user{rng.randrange(20000)}@sender{rng.randrange(2000)}.example"},
                 lambda: {"recipient": f"rcpt{rng.randrange(50000)}@example.com"},
                 lambda: {"subject": rng.choice(words)},
                 lambda: {"message_id": f"<{rng.randrange(count)}@bench>"},
                 lambda: {"ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"},
                 lambda: {"policy": f"POLICY{rng.randrange(20)}", "since": now - 86400},
                 lambda: {"since": now - 2 * 86400, "until": now - 86400}]
        times = []
        for i in range(300):
            filters = kinds[i % len(kinds)]()
            t = time.perf_counter()
            tracking.search({**filters, "other_than": "gw1"}, 100)
            times.append(time.perf_counter() - t)
        # The AsyncOS API's search (its operators) over the other machines' records, a page of 20 and the count.
        api_kinds = {"sender is": lambda: {"sender": ("is", f"user{rng.randrange(20000)}@sender{rng.randrange(2000)}"
                                                            ".example")},
                     "recipient is": lambda: {"recipient": ("is", f"rcpt{rng.randrange(50000)}@example.com")},
                     "subject contains, one day": lambda: {"subject": ("contains", rng.choice(words)),
                                                           "since": now - 86400},
                     "sender begins_with": lambda: {"sender": ("begins_with", f"user{rng.randrange(20000)}@")}}
        api_times = {}
        for label, make in api_kinds.items():
            runs = api_times.setdefault(label, [])
            for _ in range(10):
                t = time.perf_counter()
                tracking.api_search(make(), 0, 20, True, ["gw2", "gw3"])
                runs.append(time.perf_counter() - t)
    return load, times, api_times


def cluster_reports(dsn: str, days: int = 30) -> tuple[int, dict[str, list[float]]]:
    """Three machines' hourly report counters for ``days`` (cluster_rollups, as each ships them), then the
    report views over them: (rows, {view and range: seconds per run})."""
    import random
    from collections import Counter

    import psycopg

    from asyncos_cli.services.cluster_reports import ClusterReports, whole_hours
    from asyncos_cli.services.rollups import SEP, SPANS
    from asyncos_cli.services.tracking_search import REPORT_VIEWS

    rng = random.Random(31)
    zipf = lambda: min(int(rng.paretovariate(0.8)), 60000)  # noqa: E731
    now = time.time() // 3600 * 3600
    counted: Counter = Counter()
    for machine in ("gw1", "gw2", "gw3"):
        for h in range(days * 24):
            start = int(now - h * 3600)
            keys = [("actions", f"incoming{SEP}{a}") for a in ("DELIVERED", "QUARANTINED", "DROPPED")]
            keys += [("verdicts", f"incoming{SEP}antispam{SEP}{v}") for v in ("NEGATIVE", "POSITIVE")]
            # Senders as mail has them: a few send most (Pareto), a long tail sends once in a while.
            keys += [("domains", f"sender{zipf()}.example{SEP}DELIVERED") for _ in range(150)]
            keys += [("ips", f"10.0.{(i := zipf()) // 256 % 256}.{i % 256}") for _ in range(150)]
            keys += [("policies", f"incoming{SEP}POLICY{p}{SEP}DELIVERED") for p in range(20)]
            keys += [("stops", f"ip_reputation{SEP}10.9.{rng.randrange(256)}.{rng.randrange(256)}{SEP}")
                     for _ in range(20)]
            for family, key in set(keys):
                n = rng.randrange(1, 200)
                for span in SPANS:  # as each machine's roll-ups hold them: hours, days, weeks
                    counted[(machine, family, span, start // span * span, key)] += n
    with psycopg.connect(dsn, autocommit=True) as conn:
        reports = ClusterReports(conn)
        with conn.cursor().copy("COPY cluster_rollups FROM STDIN") as copy:
            for row, n in counted.items():
                copy.write_row((*row, n))
        rows = len(counted)
        conn.execute("ANALYZE cluster_rollups")
        times: dict[str, list[float]] = {}
        for label, span in (("24 h", 86400), (f"{days} days", days * 86400)):
            since, until = whole_hours(now - span, now)
            for view in ("overview", "incoming", "mail-policy"):
                runs = times.setdefault(f"{view} over {label}", [])
                for _ in range(5):
                    t = time.perf_counter()
                    REPORT_VIEWS[view](reports.source(), since, until)
                    runs.append(time.perf_counter() - t)
    return rows, times


def main() -> None:
    commits = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    messages = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    sessions = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    pg, sink, procs, folders = Postgres(), Sink(), [], []
    try:
        smtp = free_port()
        envs = []
        for i, address in enumerate(ADDRESSES):
            _port, env, folder = prepare_gateway(sink)
            folders.append(folder)
            cli(env, f"interfaceconfig edit Management --address={address}; listenerconfig edit IncomingMail "
                     f"--interface=Management --port={smtp}; sethostname gw{i + 1}.example.com; commit bench")
            envs.append(env)
        first = envs[0]
        procs.append(subprocess.Popen([*CLI, "serve"], env=first, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
        wait_listening(ADDRESSES[0], smtp)
        end_to_end_at = lambda: end_to_end(f"{ADDRESSES[0]}:{smtp}", sink, messages, sessions)  # noqa: E731
        sqlite_rate = end_to_end_at()

        pw = folders[0] / "cluster.pw"
        pw.write_text("Bench-Cluster-Passphrase\n")

        def create() -> str:
            dsn = pg.database()
            cli(first, f"clusterconfig create Bench --store='{dsn}' --machine=gw1 --cluster-passphrase-file={pw}")
            deadline = time.time() + 20
            while not any(r[0] == "Cluster" for r in status(first)["components"]) and time.time() < deadline:
                time.sleep(0.05)
            wait_listening(ADDRESSES[0], smtp)
            return dsn

        # SQLite, PostgreSQL, SQLite (after leaving), PostgreSQL again: the order's warm-up counts for neither.
        create()
        pg_rate = end_to_end_at()
        cli(first, "clusterconfig leave")
        wait_listening(ADDRESSES[0], smtp)
        sqlite_rate = (sqlite_rate + end_to_end_at()) / 2
        dsn = create()
        pg_rate = (pg_rate + end_to_end_at()) / 2

        for i, env in enumerate(envs[1:], 2):
            cli(env, f"clusterconfig join --store='{dsn}' --machine=gw{i} --cluster-passphrase-file={pw}")
            procs.append(subprocess.Popen([*CLI, "serve"], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True))
            wait_listening(ADDRESSES[i - 1], smtp)

        from asyncos_cli.config.postgres import PostgresStore
        from asyncos_cli.config.session import Session

        store = PostgresStore(dsn, machine="gw1")
        delays = []
        for n in range(commits):
            session = Session(store, "admin")
            incoming = session.config.listeners.get("IncomingMail")
            domains = incoming.rcpt_access
            domains = domains[:-1] if n % 2 else domains + ("bench.example",)
            listeners = tuple(l.replace(rcpt_access=domains) if l.name == "IncomingMail" else l
                              for l in session.config.listeners.listeners)
            session.stage(session.config.listeners.replace(listeners=listeners))
            version = session.commit(f"bench {n}").id
            committed = time.perf_counter()
            waiting = list(envs)
            while waiting:
                waiting = [e for e in waiting if status(e)["config_version"] < version]
                if time.perf_counter() - committed > 10:
                    raise RuntimeError(f"version {version} not applied everywhere within 10 s")
                if waiting:
                    time.sleep(0.002)
            delays.append(time.perf_counter() - committed)
        store.close()

        print(f"relay on gateway 1, {messages} messages of 2 KB, {sessions} sessions, smtp-source -> gw1 -> "
              f"smtp-sink: SQLite store {sqlite_rate:.1f} msg/s, PostgreSQL store {pg_rate:.1f} msg/s (each the mean of 2 runs, "
              f"alternating), "
              f"ratio {pg_rate / sqlite_rate:.2f}x (issue #31's target: >= 0.9x)")
        print(f"commit-to-applied on all 3 machines, {commits} commits: p50 {pct(delays, 50):.1f} ms, "
              f"p99 {pct(delays, 99):.1f} ms, max {max(delays) * 1000:.1f} ms (target p99 <= 1000 ms)")
        tracked = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000
        load, times, api_times = tracking_search(pg.database(), tracked)
        print(f"tracking search across 3 machines' {tracked} records (loaded in {load:.0f} s), 300 searches: "
              f"p50 {pct(times, 50):.1f} ms, p99 {pct(times, 99):.1f} ms (target p99 <= 250 ms)")
        print("the API's tracking search over the other 2 machines' records (page of 20 and the total), 10 each:")
        for label, runs in api_times.items():
            print(f"  {label}: median {pct(runs, 50):.0f} ms, max {max(runs) * 1000:.0f} ms")
        rows, report_times = cluster_reports(pg.database())
        print(f"cluster-wide reports over 3 machines' hourly counters ({rows} rows, 30 days), 5 runs each:")
        for label, runs in report_times.items():
            print(f"  {label}: median {pct(runs, 50):.0f} ms, max {max(runs) * 1000:.0f} ms")
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        sink.stop()
        pg.stop()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
