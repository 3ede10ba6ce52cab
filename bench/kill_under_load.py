"""SIGKILL the gateway in the middle of a load, restart it, and check that nothing accepted was lost.

    python bench/kill_under_load.py [MESSAGES] [CLIENTS]

CLIENTS threads send MESSAGES messages in all (default 5,000 over 20), each
with its own Message-ID, and record every Message-ID the gateway answered
with 250. When about a third are accepted, the daemon gets SIGKILL; the
clients keep trying (and fail) until it is started again. At the end the
Message-IDs that smtp-sink dumped are compared with the accepted ones: the
script prints how many were accepted, arrived, missing (must be 0) and
duplicated (at-least-once delivery allows a few). Exit status 1 if any
accepted message is missing. The test suite runs the same check at a small
size (tests/test_relay.py::test_sigkill_under_load_loses_no_accepted_message).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import smtplib
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from relay import Sink, prepare_gateway, start_gateway  # noqa: E402


def main() -> int:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    sink = Sink()
    port, env, data = prepare_gateway(sink)

    def start():
        return start_gateway(port, env)

    daemon = start()
    accepted: list[str] = []
    lock = threading.Lock()
    per_client = total // clients

    def client(n: int) -> None:
        i = 0
        while i < per_client:
            mid = f"<kill-{n}-{i}@example.org>"
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
                    s.sendmail("a@example.org", ["b@example.com"], f"Message-ID: {mid}\r\nSubject: {i}\r\n\r\nx\r\n")
                with lock:
                    accepted.append(mid)
                i += 1
            except (OSError, smtplib.SMTPException):
                time.sleep(0.1)  # the gateway is down: try the same message again

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.time()
    for t in threads:
        t.start()
    while len(accepted) < total // 3:
        time.sleep(0.01)
    os.killpg(daemon.pid, signal.SIGKILL)  # the daemon and its SSH child
    daemon.wait()
    killed_at = len(accepted)
    time.sleep(1)
    daemon = start()
    for t in threads:
        t.join()
    deadline = time.time() + 300
    while time.time() < deadline:
        arrived = _ids(sink.folder)
        if set(accepted) <= set(arrived):
            break
        time.sleep(0.5)
    arrived = _ids(sink.folder)
    missing = set(accepted) - set(arrived)
    duplicates = len(arrived) - len(set(arrived))
    print(f"{total} messages, {clients} clients, SIGKILL after {killed_at} accepted, "
          f"{time.time() - started:.1f} s in all")
    print(f"accepted {len(accepted)}, arrived {len(set(arrived))}, missing {len(missing)}, duplicates {duplicates}, "
          f"arrived without a 250 seen by the client {len(set(arrived) - set(accepted))}")
    daemon.terminate()
    daemon.wait()
    sink.stop()
    shutil.rmtree(data, ignore_errors=True)
    return 1 if missing else 0


def _ids(folder: Path) -> list[str]:
    out = []
    for p in folder.iterdir():
        m = re.search(rb"^Message-ID:\s*(<[^>]+>)", p.read_bytes(), re.M | re.I)
        if m:
            out.append(m.group(1).decode())
    return out


if __name__ == "__main__":
    sys.exit(main())
