"""Login throttling shared by every door (SSH, and the API, web interface and SMTP AUTH to come).

Failed logins are state in the database, counted per account and per client
address. Each key with recent failures spaces the attempts made against it:
an attempt reserves the next free slot of its account and of its address and
waits for it, so the pace holds however many connections or addresses an
attacker uses. The spacing doubles with each failure (0.25 s, 0.5 s, ... up to
8 s); an attempt that would have to wait longer than ``MAX_WAIT`` is refused
without its passphrase being checked. A successful login clears its own
account's failures, never another account's or the address's, which decay
after ``WINDOW`` seconds.

Every change is one ``BEGIN IMMEDIATE`` transaction: concurrent failures, in
one process or several, all count.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from asyncos_cli.config.store import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state_login_failures (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last REAL NOT NULL,
    next_slot REAL NOT NULL
);
"""

#: Failures older than this are forgotten.
WINDOW = 600.0
FIRST_SPACING = 0.25
MAX_SPACING = 8.0
#: Longer than this in the queue of one account or address: refused at once.
MAX_WAIT = 20.0


@dataclass(frozen=True)
class Slot:
    #: Seconds to wait before the passphrase may be checked.
    wait: float
    #: True when the attempt is refused without a check (the queue is too long).
    refused: bool = False


def _keys(user: str, address: str) -> tuple[str, str]:
    return f"user:{user}", f"addr:{address}"


def spacing(failures: int) -> float:
    return 0.0 if failures <= 0 else min(MAX_SPACING, FIRST_SPACING * 2 ** (failures - 1))


class LoginThrottle:
    def __init__(self, database: Path):
        self._conn = connect(database)
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()  # the doors call from several threads; one transaction at a time

    def close(self) -> None:
        self._conn.close()

    def _rows(self, keys, now: float) -> dict[str, tuple[int, float]]:
        rows = {}
        for key in keys:
            row = self._conn.execute(
                "SELECT failures, last, next_slot FROM state_login_failures WHERE key = ?", (key,)
            ).fetchone()
            if row and now - row[1] < WINDOW:
                rows[key] = (row[0], row[2])
        return rows

    def reserve(self, user: str, address: str, now: float | None = None) -> Slot:
        """Take the next slot for an attempt on ``user`` from ``address``."""
        now = time.time() if now is None else now
        with self._lock:
            return self._reserve(_keys(user, address), now)

    def _reserve(self, keys, now: float) -> Slot:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = self._rows(keys, now)
            if not rows:
                conn.execute("COMMIT")
                return Slot(0.0)
            at = max(max(now, next_slot) for _, next_slot in rows.values())
            if at - now > MAX_WAIT:
                conn.execute("COMMIT")
                return Slot(at - now, refused=True)
            for key, (failures, _) in rows.items():
                conn.execute("UPDATE state_login_failures SET next_slot = ? WHERE key = ?",
                             (at + spacing(failures), key))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return Slot(at - now)

    def failed(self, user: str, address: str, now: float | None = None) -> int:
        """Count a failure against the account and the address; returns the account's recent failures."""
        now = time.time() if now is None else now
        with self._lock:
            return self._failed(user, address, now)

    def _failed(self, user: str, address: str, now: float) -> int:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            counts = []
            for key in _keys(user, address):
                conn.execute(
                    "INSERT INTO state_login_failures (key, failures, last, next_slot) VALUES (?, 1, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET "
                    "failures = CASE WHEN ? - last < ? THEN failures + 1 ELSE 1 END, "
                    "last = excluded.last, next_slot = max(next_slot, excluded.next_slot)",
                    (key, now, now + FIRST_SPACING, now, WINDOW),
                )
                counts.append(conn.execute("SELECT failures FROM state_login_failures WHERE key = ?",
                                           (key,)).fetchone()[0])
            # Keys of names that do not exist would otherwise pile up under a spraying attack.
            conn.execute("DELETE FROM state_login_failures WHERE last < ?", (now - WINDOW,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return counts[0]

    def succeeded(self, user: str) -> None:
        """The account's own failures end; the address keeps its record until it decays."""
        with self._lock:
            self._conn.execute("DELETE FROM state_login_failures WHERE key = ?", (f"user:{user}",))

    def failures(self, user: str = "", address: str = "", now: float | None = None) -> int:
        now = time.time() if now is None else now
        key = f"user:{user}" if user else f"addr:{address}"
        with self._lock:
            row = self._rows((key,), now).get(key)
        return row[0] if row else 0
