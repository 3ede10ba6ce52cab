"""Account state: passphrases, their history, failed logins, locks, expiry.

Accounts and roles are configuration (the ``users`` section, committed);
everything here is state and takes effect at once, as on the appliance:
a passphrase change, a lock after failed attempts, an unlock.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from asyncos_cli.config.schema import Config, PassphrasePolicySection
from asyncos_cli.config.store import connect

from .passphrases import DUMMY_HASH, hash_passphrase, verify_passphrase
from .policy import violations

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state_passphrases (
    user TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS state_accounts (
    user TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    locked_at REAL,
    must_change INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS state_passphrase_history (
    user TEXT NOT NULL,
    hash TEXT NOT NULL,
    set_at REAL NOT NULL
);
"""

TABLES = ("state_passphrases", "state_accounts", "state_passphrase_history")
DAY = 86400.0


class PolicyViolation(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(" ".join(problems))


@dataclass(frozen=True)
class AuthResult:
    ok: bool
    reason: str = ""  # "", "unknown", "bad passphrase", "locked", "expired"
    role: str = ""
    locked_now: bool = False
    must_change: bool = False
    #: Days until the passphrase expires, when a reminder is due.
    expires_in_days: int | None = None


@dataclass(frozen=True)
class AccountStatus:
    user: str
    locked: bool
    failures: int
    passphrase_set: float | None
    must_change: bool

    @property
    def label(self) -> str:
        if self.locked:
            return "Locked"
        if self.passphrase_set is None:
            return "Pending (no passphrase)"
        if self.must_change:
            return "Active (passphrase change required)"
        return "Active"


class Accounts:
    def __init__(self, database: Path):
        self._conn = connect(database)
        self._conn.executescript(_SCHEMA)
        # One connection may serve several threads (the SSH server's logins): one transaction at a time.
        self._lock = threading.RLock()

    def close(self) -> None:
        self._conn.close()

    # ------------------------------------------------------------ passphrases

    def _hash_of(self, user: str) -> tuple[str | None, float | None]:
        with self._lock:
            row = self._conn.execute("SELECT hash, updated FROM state_passphrases WHERE user = ?",
                                     (user,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def verify(self, user: str, passphrase: str) -> bool:
        stored, _ = self._hash_of(user)
        return verify_passphrase(passphrase, stored or DUMMY_HASH) and stored is not None

    def recently_used(self, user: str, passphrase: str, count: int) -> bool:
        if count <= 0:
            return False
        return any(verify_passphrase(passphrase, h) for h in self._history(user, count))

    def _history(self, user: str, count: int) -> list[str]:
        return [h for (h,) in self._conn.execute(
            "SELECT hash FROM state_passphrase_history WHERE user = ? ORDER BY set_at DESC LIMIT ?", (user, count))]

    def check(self, user: str, passphrase: str, policy: PassphrasePolicySection) -> list[str]:
        return violations(passphrase, policy, user, self.recently_used(user, passphrase, policy.history_count))

    def set_passphrase(
        self, user: str, passphrase: str, policy: PassphrasePolicySection, by_admin: bool = False
    ) -> None:
        """Check the policy, then store the hash at once (state: never rolled back)."""
        problems = self.check(user, passphrase, policy)
        if problems:
            raise PolicyViolation(problems)
        self._store_hash(user, hash_passphrase(passphrase), time.time(), by_admin and policy.reset_after_admin_set)

    def _store_hash(self, user: str, hashed: str, now: float, must_change: bool) -> None:
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT INTO state_passphrases (user, hash, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(user) DO UPDATE SET hash = excluded.hash, updated = excluded.updated",
                (user, hashed, now),
            )
            self._conn.execute("INSERT INTO state_passphrase_history VALUES (?, ?, ?)", (user, hashed, now))
            # Keep only what the largest history setting can ask for.
            self._conn.execute(
                "DELETE FROM state_passphrase_history WHERE user = ? AND rowid NOT IN "
                "(SELECT rowid FROM state_passphrase_history WHERE user = ? ORDER BY set_at DESC LIMIT 20)",
                (user, user),
            )
            self._ensure_row(user)
            self._conn.execute("UPDATE state_accounts SET must_change = ? WHERE user = ?", (int(must_change), user))
            self._conn.execute("COMMIT")

    def forget(self, user: str) -> None:
        """A deleted account leaves no passphrase behind."""
        for table in TABLES:
            self._conn.execute(f"DELETE FROM {table} WHERE user = ?", (user,))

    # ------------------------------------------------------------ logins

    def _ensure_row(self, user: str) -> None:
        self._conn.execute("INSERT OR IGNORE INTO state_accounts (user) VALUES (?)", (user,))

    def authenticate(self, user: str, passphrase: str, config: Config) -> AuthResult:
        account = config.users.get(user)
        stored, set_at = self._hash_of(user) if account else (None, None)
        good = verify_passphrase(passphrase, stored or DUMMY_HASH) and stored is not None
        if account is None:
            return AuthResult(False, "unknown")
        st = self.status(user)
        policy = config.passphrase_policy
        if st.locked:
            self._count_failure(user, policy)  # every attempt counts, also against a locked account
            return AuthResult(False, "locked", account.role)
        if not good:
            failures, lock = self._count_failure(user, policy)
            return AuthResult(False, "bad passphrase", account.role, locked_now=lock)
        # A lock taken by a concurrent failure between the check above and now still holds.
        if not self._clear_failures(user) and self.status(user).locked:
            return AuthResult(False, "locked", account.role)
        must_change, expires_in = st.must_change, None
        if policy.expiry_enabled and set_at is not None:
            age_days = (time.time() - set_at) / DAY
            left = policy.expiry_days - age_days
            if left <= 0:
                if policy.grace_enabled and -left <= policy.grace_days:
                    must_change = True
                else:
                    return AuthResult(False, "expired", account.role)
            elif left <= policy.reminder_days:
                expires_in = math.ceil(left)
        return AuthResult(True, "", account.role, must_change=must_change, expires_in_days=expires_in)

    def _clear_failures(self, user: str) -> bool:
        """Failures back to 0 unless the account is locked; False when it is."""
        with self._lock:
            return self._conn.execute("UPDATE state_accounts SET failures = 0 WHERE user = ? AND locked = 0 "
                                      "RETURNING user", (user,)).fetchone() is not None

    def _count_failure(self, user: str, policy: PassphrasePolicySection) -> tuple[int, bool]:
        """One failure, counted atomically (concurrent failures all count); True when this one locks."""
        conn = self._conn
        with self._lock, conn:
            conn.execute("BEGIN IMMEDIATE")
            self._ensure_row(user)
            failures, locked = conn.execute(
                "UPDATE state_accounts SET failures = failures + 1 WHERE user = ? RETURNING failures, locked",
                (user,),
            ).fetchone()
            lock = policy.lockout_enabled and not locked and failures >= policy.lockout_attempts
            if lock:
                conn.execute("UPDATE state_accounts SET locked = 1, locked_at = ? WHERE user = ?", (time.time(), user))
        return failures, lock

    def status(self, user: str) -> AccountStatus:
        row = self._account_row(user)
        _, set_at = self._hash_of(user)
        failures, locked, must_change = row if row else (0, 0, 0)
        return AccountStatus(user, bool(locked), failures, set_at, bool(must_change))

    def _account_row(self, user: str):
        with self._lock:
            return self._conn.execute("SELECT failures, locked, must_change FROM state_accounts WHERE user = ?",
                                      (user,)).fetchone()

    def export(self) -> dict[str, list[tuple]]:
        """Every account's state, table by table (copied into a cluster's store, and back when leaving it)."""
        with self._lock:
            return {t: [tuple(r) for r in self._conn.execute(f"SELECT * FROM {t}")] for t in TABLES}

    def replace_all(self, rows: dict[str, list[tuple]]) -> None:
        with self._lock, self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            for table in TABLES:
                self._conn.execute(f"DELETE FROM {table}")
                if rows.get(table):
                    marks = ", ".join("?" * len(rows[table][0]))
                    self._conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows[table])
            self._conn.execute("COMMIT")

    def set_locked(self, user: str, locked: bool) -> None:
        with self._lock:
            self._ensure_row(user)
            self._conn.execute(
                "UPDATE state_accounts SET locked = ?, failures = 0, locked_at = ? WHERE user = ?",
                (int(locked), time.time() if locked else None, user),
            )
