"""The AsyncOS API under load: message tracking searches over a large tracking database.

    python bench/api.py [MESSAGES] [CLIENTS] [SECONDS]      (defaults: 1000000 20 30)

Fills a fresh data directory's tracking database with MESSAGES finished messages spread over 30 days
(5,000 senders, 20,000 recipients, subjects from a small vocabulary), starts the gateway, then:
- login to first answer: POST /login, then the first search with the token, 20 times; p50 and p99;
- CLIENTS concurrent clients (threads, one keep-alive HTTPS session each) searching for SECONDS with the
  searches a console makes: a sender, a recipient, words of a subject within a day, a day's page, a MID,
  each with totalCount; p50, p99 and requests per second.
Issue #21's targets: search p99 at most 250 ms with 20 clients; login to first answer under 100 ms.
Prints figures; asserts nothing. Stops the gateway it started, also when it fails.
"""

from __future__ import annotations

import base64
import contextlib
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
import urllib3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

PASSPHRASE = "Bench-Api-Pass-3x"
API = "/esa/api/v2.0"
DAY = 86400
WORDS = ("invoice", "report", "meeting", "quarterly", "urgent", "update", "payment", "order", "shipping", "review",
         "contract", "holiday", "reminder", "security", "password", "newsletter", "welcome", "account", "budget")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(datadir: Path, *args: str) -> None:
    env = {**os.environ, "ASYNCOS_DATA": str(datadir)}
    r = subprocess.run([sys.executable, "-m", "asyncos_cli", *args], env=env, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"asyncos-cli {' '.join(args)}: {r.stderr}")


def fill(datadir: Path, count: int, now: float) -> None:
    from asyncos_cli.config.datadir import DataDir
    from asyncos_cli.services import rollups
    from asyncos_cli.services.tracking import _SCHEMA, TrackingRecord, write_records

    rng = random.Random(7)
    conn = sqlite3.connect(DataDir(datadir).database, isolation_level=None)
    conn.executescript(_SCHEMA)
    rollups.ensure(conn)
    conn.execute("PRAGMA synchronous=OFF")
    start = now - 30 * DAY
    batch = []
    for mid in range(1, count + 1):
        at = start + (mid / count) * 30 * DAY
        rec = TrackingRecord(mid, mid // 3 + 1, at, f"sender{rng.randrange(5000)}@example{rng.randrange(50)}.org",
                             (f"user{rng.randrange(20000)}@example.com",), 2000 + rng.randrange(50000),
                             " ".join(rng.sample(WORDS, 3)) + f" {mid}", f"<{mid}.bench@example.org>")
        rec.final_action, rec.finished, rec.policies = "DELIVERED", at + 1, ["incoming DEFAULT"]
        rec.sender_group, rec.sbrs, rec.remote_ip = "UNKNOWNLIST", "None", f"10.{mid % 200}.{mid % 250}.{mid % 9}"
        batch.append(rec)
        if len(batch) == 20000:
            conn.execute("BEGIN")
            write_records(conn, batch)
            conn.execute("COMMIT")
            batch = []
    if batch:
        conn.execute("BEGIN")
        write_records(conn, batch)
        conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:00.000Z", time.gmtime(epoch))


def searches(now: float, count: int, rng: random.Random) -> dict:
    day = now - rng.randrange(1, 29) * DAY
    kind = rng.randrange(5)
    base = {"startDate": stamp(now - 30 * DAY), "endDate": stamp(now + 60), "limit": "20"}
    if kind == 0:
        return {**base, "envelopeSenderfilterOperator": "is",
                "envelopeSenderfilterValue": f"sender{rng.randrange(5000)}@example{rng.randrange(50)}.org"}
    if kind == 1:
        return {**base, "envelopeRecipientfilterOperator": "is",
                "envelopeRecipientfilterValue": f"user{rng.randrange(20000)}@example.com"}
    if kind == 2:
        return {"startDate": stamp(day), "endDate": stamp(day + DAY), "subjectfilterOperator": "contains",
                "subjectfilterValue": rng.choice(WORDS), "limit": "20"}
    if kind == 3:
        return {"startDate": stamp(day), "endDate": stamp(day + DAY), "limit": "50",
                "offset": str(rng.randrange(0, 500))}
    return {**base, "mid": str(rng.randrange(1, count + 1))}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


@contextlib.contextmanager
def gateway(count: int, prefix: str):
    """A fresh data directory with ``count`` tracked messages and the gateway serving it: yields (API HTTPS port,
    web HTTPS port, the fill's "now"). Stops the gateway and removes the directory, also when the bench fails."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    datadir = work / "data"
    proc = None
    try:
        (work / "pw").write_text(PASSPHRASE + "\n")
        cli(datadir, "init", f"--admin-passphrase-file={work / 'pw'}")
        api_port, web_port = free_port(), free_port()
        cli(datadir, "-c", f"interfaceconfig edit Management --ssh-port={free_port()} --api-https-port={api_port} "
                           f"--web-https-port={web_port}; listenerconfig edit IncomingMail --port={free_port()}; "
                           f"listenerconfig edit OutgoingMail --port={free_port()}; commit bench")
        now = time.time()
        fill(datadir, count, now)
        print(f"{count} tracked messages written in {time.time() - now:.0f} s")
        proc = subprocess.Popen([sys.executable, "-m", "asyncos_cli", "serve"],
                                env={**os.environ, "ASYNCOS_DATA": str(datadir)}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        for port, path in ((api_port, f"{API}/openapi.json"), (web_port, "/login")):
            deadline = time.time() + 30
            while True:
                try:
                    requests.get(f"https://127.0.0.1:{port}{path}", verify=False, timeout=2)
                    break
                except requests.RequestException:
                    if time.time() > deadline:
                        raise RuntimeError(f"nothing answers on port {port}") from None
                    time.sleep(0.2)
        yield api_port, web_port, now
    finally:
        if proc is not None:
            try:
                os.killpg(proc.pid, 15)
                proc.wait(15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, 9)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 30
    with gateway(count, "bench-api-") as (port, _, now):
        base = f"https://127.0.0.1:{port}{API}"
        body = {"data": {"userName": base64.b64encode(b"admin").decode(),
                         "passphrase": base64.b64encode(PASSPHRASE.encode()).decode()}}
        first = []
        for i in range(20):
            with requests.Session() as s:
                t = time.perf_counter()
                tok = s.post(f"{base}/login", json=body, timeout=20, verify=False).json()["data"]["jwtToken"]
                r = s.get(f"{base}/message-tracking/messages", params=searches(now, count, random.Random(i)),
                          headers={"jwtToken": tok}, timeout=20, verify=False)
                first.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
        print(f"login to first answer ({len(first)} fresh sessions, TLS handshake included): "
              f"p50 {pct(first, 0.5):.1f} ms  p99 {pct(first, 0.99):.1f} ms")

        token = requests.post(f"{base}/login", json=body, verify=False, timeout=20).json()["data"]["jwtToken"]
        latencies: list[float] = []
        errors = []
        lock = threading.Lock()
        stop_at = time.time() + seconds

        def client(n: int) -> None:
            rng = random.Random(100 + n)
            mine = []
            with requests.Session() as s:
                s.headers["jwtToken"] = token
                while time.time() < stop_at:
                    t = time.perf_counter()
                    r = s.get(f"{base}/message-tracking/messages", params=searches(now, count, rng), timeout=30,
                              verify=False)  # per request: REQUESTS_CA_BUNDLE would override the session's
                    mine.append(time.perf_counter() - t)
                    if r.status_code != 200:
                        errors.append(r.status_code)
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.time() - t0
        print(f"tracking search, {clients} clients for {took:.0f} s over {count} messages: {len(latencies)} requests, "
              f"{len(latencies) / took:.0f}/s, p50 {pct(latencies, 0.5):.1f} ms  p99 {pct(latencies, 0.99):.1f} ms"
              f"  max {max(latencies) * 1000:.0f} ms  errors {len(errors)}")
        print("targets (#21): search p99 <= 250 ms; login to first answer < 100 ms")



if __name__ == "__main__":
    main()
