"""Sender Maturity: how long a domain has been known as an email sender, capped at 90 days.

14.0 replaced Sender Domain Age with it. The gateway keeps its own
first-seen record of every sender domain (state, never rolled back): in
memory for the fast path, written to the database in batches, so a busy
SMTP session never waits on a disk write for it.
"""

from __future__ import annotations

import sqlite3
import time

from asyncos_cli.config.statestores import FirstSeenStore

MATURE_DAYS = 90

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sender_first_seen (
    domain TEXT PRIMARY KEY,
    first_seen REAL NOT NULL
);
"""


class SQLiteFirstSeen(FirstSeenStore):
    """The embedded backend of first-seen records."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn
        self._conn.executescript(_SCHEMA)
        self._conn.execute("PRAGMA synchronous=NORMAL")  # state a power cut may lose the last seconds of

    def load(self) -> dict[str, float]:
        return dict(self._conn.execute("SELECT domain, first_seen FROM sender_first_seen"))

    def add(self, rows) -> None:
        with self._conn:
            self._conn.executemany("INSERT OR IGNORE INTO sender_first_seen VALUES (?, ?)", list(rows))


class SenderMaturity:
    def __init__(self, store: FirstSeenStore | sqlite3.Connection, clock=time.time):
        self._store = SQLiteFirstSeen(store) if isinstance(store, sqlite3.Connection) else store
        self.clock = clock
        self._seen = self._store.load()
        self._unwritten: dict[str, float] = {}

    def seen(self, domain: str) -> None:
        """Record that ``domain`` sends mail (its first time is kept)."""
        domain = domain.lower().rstrip(".")
        if domain and domain not in self._seen:
            now = self.clock()
            self._seen[domain] = now
            self._unwritten[domain] = now

    def days(self, domain: str) -> int:
        """Days since first seen, at most 90 (90 means mature); a domain never seen is 0 days mature."""
        first = self._seen.get(domain.lower().rstrip("."))
        if first is None:
            return 0
        return min(MATURE_DAYS, int((self.clock() - first) // 86400))

    def flush(self) -> None:
        if not self._unwritten:
            return
        rows, self._unwritten = list(self._unwritten.items()), {}
        self._store.add(rows)
