"""A process killed at random points during commit leaves the old or the new version."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

from conftest import ROOT

from asyncos_cli.config.schema import Config
from asyncos_cli.config.store import SQLiteStore

# Each commit changes two sections together (hostname and timeout carry the same
# number), so a torn commit would show up as a mismatch.
WRITER = r"""
import sys
from asyncos_cli.config.store import SQLiteStore
from asyncos_cli.config.session import Session
from asyncos_cli.config.schema import SystemSection, OutboundSection
store = SQLiteStore(__import__("pathlib").Path(sys.argv[1]))
i = store.head_id() * 100000  # never the previous writer's values: an identical commit would be refused
while True:
    i += 1
    s = Session(store, "writer")
    s.stage(SystemSection(hostname=f"h{i}.example.com"))
    s.stage(OutboundSection(timeout_seconds=float(1 + i % 299), retries=i % 10))
    s.commit(f"commit {i}")
    print(i, flush=True)
"""


def _check_consistent(path):
    store = SQLiteStore(path)
    try:
        for v in store.versions():
            snap = store.snapshot(v.id)
            if v.id == 1:
                continue
            n = int(snap.config.system.hostname[1:].split(".")[0])
            assert snap.config.outbound.timeout_seconds == float(1 + n % 299), v
            assert snap.config.outbound.retries == n % 10
            assert v.comment == f"commit {n}"
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # every version has every section
        counts = {r[0] for r in conn.execute("SELECT count(*) FROM config_sections GROUP BY version")}
        assert len(counts) == 1, counts
        conn.close()
        return store.head_id()
    finally:
        store.close()


def test_kill_during_commit_never_leaves_a_mix(tmp_path):
    path = tmp_path / "crash.db"
    s = SQLiteStore(path)
    s.initialise(Config.default(), "admin", "Initial configuration")
    s.close()
    rng = random.Random(20261127)
    heads = []
    for _ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        proc.stdout.readline()  # it is committing now
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        heads.append(_check_consistent(path))
    assert heads == sorted(heads) and heads[-1] > 12
