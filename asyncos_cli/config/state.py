"""Run-time state: what changes while the appliance runs and is never rolled back.

Kept in the same database file as the configuration, in tables of its own:
the appliance's identity (serial number, install date) and a small
key-value table for later state (first-seen records, registrations).
Account state (passphrase hashes, locks) is kept by ``auth.accounts``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from .store import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state_values (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated REAL NOT NULL
);
"""


class StateStore:
    def __init__(self, path: Path, conn: sqlite3.Connection | None = None):
        self._conn = conn or connect(path)
        self._conn.executescript(_SCHEMA)

    def get(self, key: str, default=None):
        row = self._conn.execute("SELECT value FROM state_values WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def put(self, key: str, value) -> None:
        self._conn.execute(
            "INSERT INTO state_values (key, value, updated) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated = excluded.updated",
            (key, json.dumps(value), time.time()),
        )

    def close(self) -> None:
        self._conn.close()
