"""Relay throughput and latency: this gateway beside Postfix, same load, same run.

    python bench/relay.py [MESSAGES] [SESSIONS] [--with-filter]

For each MTA: smtp-source sends MESSAGES messages of 2 KB over SESSIONS
parallel sessions to the MTA, which relays them to one smtp-sink; the rate
is end to end (the clock stops when the sink holds every message). Then a
latency run: SESSIONS Python clients send 20 messages each and time the
reply to the final '.' of DATA (the 250 that says the message is queued),
giving p50 and p99. The gateway runs on the embedded default configuration
plus a route to the sink (fsync before every 250, group commit); with
--with-filter, one message filter (log-entry of $filesizes) makes every
message go through the scanning pipeline in the worker processes.

Needs Debian's postfix (smtp-source, smtp-sink, the postfix baseline) and
root (../shared/tools/postfix-relay). Prints figures; asserts nothing.
"""

from __future__ import annotations

import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTFIX_RELAY = ROOT.parent / "shared" / "tools" / "postfix-relay"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Sink:
    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="bench-sink-"))
        os.chmod(self.folder, 0o777)
        self.port = free_port()
        self.proc = subprocess.Popen(["smtp-sink", "-u", "nobody", "-d", f"{self.folder}/%M.",
                                      f"127.0.0.1:{self.port}", "1024"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def count(self) -> int:
        return sum(1 for _ in self.folder.iterdir())

    def clear(self) -> None:
        for p in self.folder.iterdir():
            p.unlink()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def run_source(port: int | str, messages: int, sessions: int) -> None:
    """``port``: on 127.0.0.1, or "ADDRESS:PORT"."""
    target = port if isinstance(port, str) else f"127.0.0.1:{port}"
    subprocess.run(["smtp-source", "-s", str(sessions), "-l", "2048", "-m", str(messages),
                    "-f", "bench@example.org", "-t", "user@example.com", target],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def end_to_end(port: int | str, sink: Sink, messages: int, sessions: int) -> float:
    sink.clear()
    start = time.perf_counter()
    run_source(port, messages, sessions)
    deadline = time.time() + 600
    while sink.count() < messages and time.time() < deadline:
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    if sink.count() < messages:
        raise RuntimeError(f"only {sink.count()} of {messages} messages reached the sink")
    return messages / elapsed


def latencies(port: int, sessions: int, per_session: int = 20) -> list[float]:
    out: list[float] = []
    lock = threading.Lock()
    body = ("Subject: latency\r\n\r\n" + ("x" * 78 + "\r\n") * 25).encode()  # 2 KB in legal lines

    def client():
        mine = []
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            s.ehlo()
            for _ in range(per_session):
                s.mail("bench@example.org")
                s.rcpt("user@example.com")
                s.putcmd("data")
                s.getreply()
                t = time.perf_counter()
                s.send(body + b".\r\n")
                code, _ = s.getreply()
                mine.append(time.perf_counter() - t)
                if code != 250:
                    raise RuntimeError(f"DATA answered {code}")
        with lock:
            out.extend(mine)

    errors: list[BaseException] = []

    def guarded():
        try:
            client()
        except BaseException as e:  # reported after the join: a thread's exception is otherwise lost
            errors.append(e)

    threads = [threading.Thread(target=guarded) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} latency clients failed; first: {errors[0]!r}")
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


CLI = [sys.executable, "-m", "asyncos_cli"]


def prepare_gateway(sink: Sink, with_filter: bool = False) -> tuple[int, dict, Path]:
    """A fresh data directory on free ports with every message routed to the sink: (port, env, folder)."""
    data = Path(tempfile.mkdtemp(prefix="bench-gw-"))
    env = {**os.environ, "ASYNCOS_DATA": str(data / "var"), "PYTHONPATH": str(ROOT)}
    pw = data / "pw"
    pw.write_text("Bench-Pass-4x!\n")
    subprocess.run([*CLI, "init", f"--admin-passphrase-file={pw}"], env=env, check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    subprocess.run([*CLI, "-c", f"interfaceconfig edit Management --ssh-port={free_port()} "
                                f"--api-https-port={free_port()} --web-https-port={free_port()}; "
                                f"listenerconfig edit IncomingMail --port={port}; "
                                f"listenerconfig edit OutgoingMail --port={free_port()}; "
                                f"smtproutes new ALL 127.0.0.1:{sink.port}; commit bench"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    if with_filter:
        script = data / "filter.txt"
        script.write_text('sizes: if (true) { log-entry("$filesizes"); }\n')
        subprocess.run([*CLI, "-c", f"filters import {script}; commit bench filter"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return port, env, data


def start_gateway(port: int, env: dict) -> subprocess.Popen:
    """The daemon in a session of its own, so that killpg reaches its SSH child too."""
    proc = subprocess.Popen([*CLI, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    wait_port(port)
    return proc


def gateway(sink: Sink, with_filter: bool = False):
    port, env, data = prepare_gateway(sink, with_filter)
    return port, start_gateway(port, env), data


def _gateway_run(sink: Sink, with_filter: bool, messages: int, sessions: int):
    port, proc, data = gateway(sink, with_filter)
    try:
        run_source(port, 100, 10)  # warm up
        return end_to_end(port, sink, messages, sessions), latencies(port, sessions)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(data, ignore_errors=True)


def _postfix_run(sink: Sink, messages: int, sessions: int):
    pf_dir = Path(tempfile.mkdtemp(prefix="bench-postfix-"))
    pf_port = free_port()
    try:
        subprocess.run(["bash", str(POSTFIX_RELAY), "start", str(pf_dir), str(pf_port), str(sink.port)], check=True)
        run_source(pf_port, 100, 10)
        time.sleep(1)
        return end_to_end(pf_port, sink, messages, sessions), latencies(pf_port, sessions)
    finally:
        subprocess.run(["bash", str(POSTFIX_RELAY), "stop", str(pf_dir)], check=False)
        shutil.rmtree(pf_dir, ignore_errors=True)


def main() -> None:
    argv = [a for a in sys.argv[1:] if not a.startswith("--")]
    with_filter = "--with-filter" in sys.argv
    messages = int(argv[0]) if argv else 2000
    sessions = int(argv[1]) if len(argv) > 1 else 20
    for tool in ("smtp-source", "smtp-sink", "postfix"):
        if shutil.which(tool) is None:
            sys.exit(f"bench/relay.py needs {tool} (apt-get install postfix)")
    sink = Sink()
    try:  # every peer stops, also when a run fails
        results = {"asyncos-cli": _gateway_run(sink, with_filter, messages, sessions),
                   "postfix": _postfix_run(sink, messages, sessions)}
    finally:
        sink.stop()
    print(f"{messages} messages of 2 KB, {sessions} sessions, smtp-source -> MTA -> smtp-sink (end to end)"
          + (", gateway with one message filter (scanning in worker processes)" if with_filter else ""))
    for name, (rate, lat) in results.items():
        print(f"{name:12} {rate:8.1f} msg/s   250-after-DATA p50 {pct(lat, 50):6.1f} ms  p99 {pct(lat, 99):6.1f} ms"
              f"  ({len(lat)} samples)")
    ratio = results["asyncos-cli"][0] / results["postfix"][0]
    print(f"ratio asyncos-cli / postfix: {ratio:.2f}x (issue #20's target: >= 2.0x)")


if __name__ == "__main__":
    main()
