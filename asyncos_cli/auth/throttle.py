"""Login throttling shared by every door (SSH, and the API, web interface and SMTP AUTH to come).

Failed logins are state in the database, counted per account and per client
address, and so are the attempts in flight (reserved, not yet answered). An
attempt reserves the next free slot of its account and of its address and
waits for it, so the pace holds however many connections or addresses an
attacker uses. A key without failures lets ``BURST`` attempts run at once (an
administrator's parallel scripts), then spaces further ones by 0.25 s; a key
with failures spaces every attempt, doubling with each failure (0.25 s, 0.5 s,
... up to 8 s). An attempt that would have to wait longer than ``MAX_WAIT`` is
refused without its passphrase being checked. A successful login clears its
own account's failures, never another account's or the address's, which decay
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
    next_slot REAL NOT NULL,
    in_flight INTEGER NOT NULL DEFAULT 0
);
"""

#: Failures (and stuck in-flight counts of a process that died) older than this are forgotten.
WINDOW = 600.0
FIRST_SPACING = 0.25
MAX_SPACING = 8.0
#: Attempts on one key without failures that may run at once before they are spaced.
BURST = 16
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

    def _row(self, key: str, now: float) -> tuple[int, float, int]:
        """(failures, next slot, attempts in flight) of a key, (0, now, 0) when it has no recent record."""
        row = self._conn.execute(
            "SELECT failures, last, next_slot, in_flight FROM state_login_failures WHERE key = ?", (key,)
        ).fetchone()
        if row is None or now - row[1] >= WINDOW:
            return 0, now, 0
        return row[0], row[2], row[3]

    def _put(self, key: str, failures: int, now: float, next_slot: float, in_flight: int) -> None:
        self._conn.execute(
            "INSERT INTO state_login_failures (key, failures, last, next_slot, in_flight) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, last = excluded.last, "
            "next_slot = excluded.next_slot, in_flight = excluded.in_flight",
            (key, failures, now, next_slot, in_flight))

    def _transaction(self, work):
        conn = self._conn
        with self._lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work()
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return result

    def reserve(self, user: str, address: str, now: float | None = None) -> Slot:
        """Take the next slot for an attempt on ``user`` from ``address``; the caller waits ``wait`` seconds,
        then reports the outcome with :meth:`failed` or :meth:`succeeded` (a refused slot needs neither)."""
        now = time.time() if now is None else now

        def work() -> Slot:
            rows = {key: self._row(key, now) for key in _keys(user, address)}
            if all(f == 0 and n < BURST for f, _, n in rows.values()):
                at = now
            else:
                at = max(max(now, slot) for _, slot, _ in rows.values())
                if at - now > MAX_WAIT:
                    return Slot(at - now, refused=True)
            for key, (f, slot, n) in rows.items():
                step = spacing(f) if f else (FIRST_SPACING if n >= BURST else 0.0)
                self._put(key, f, now, max(slot, at + step), n + 1)
            return Slot(at - now)

        return self._transaction(work)

    def failed(self, user: str, address: str, now: float | None = None, reserved: bool = True) -> int:
        """Count a failure against the account and the address; returns the account's recent failures."""
        now = time.time() if now is None else now

        def work() -> int:
            counts = []
            for key in _keys(user, address):
                f, slot, n = self._row(key, now)
                self._put(key, f + 1, now, max(slot, now + FIRST_SPACING), max(0, n - 1) if reserved else n)
                counts.append(f + 1)
            # Keys of names that do not exist would otherwise pile up under a spraying attack.
            self._conn.execute("DELETE FROM state_login_failures WHERE last < ?", (now - WINDOW,))
            return counts[0]

        return self._transaction(work)

    def succeeded(self, user: str, address: str = "", now: float | None = None) -> None:
        """The account's own failures end; the address keeps its record until it decays."""
        now = time.time() if now is None else now

        def work() -> None:
            self._conn.execute("DELETE FROM state_login_failures WHERE key = ?", (f"user:{user}",))
            if address:
                self._conn.execute("UPDATE state_login_failures SET in_flight = max(0, in_flight - 1) "
                                   "WHERE key = ?", (f"addr:{address}",))

        self._transaction(work)

    def failures(self, user: str = "", address: str = "", now: float | None = None) -> int:
        now = time.time() if now is None else now
        key = f"user:{user}" if user else f"addr:{address}"
        with self._lock:
            return self._row(key, now)[0]
