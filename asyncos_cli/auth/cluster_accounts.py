"""Account state shared by a cluster's machines: the same tables as the embedded ``Accounts`` in the cluster's
PostgreSQL, so a passphrase set, a lock or an unlock on one machine holds on every machine at once (users and
roles are already cluster configuration).
"""

from __future__ import annotations

import threading

from asyncos_cli.config.cluster import connect, create_tables, first_line

from .accounts import TABLES, Accounts

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state_passphrases (
    "user" TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS state_accounts (
    "user" TEXT PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    locked_at DOUBLE PRECISION,
    must_change INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS state_passphrase_history (
    "user" TEXT NOT NULL,
    hash TEXT NOT NULL,
    set_at DOUBLE PRECISION NOT NULL
);
"""


class PostgresAccounts(Accounts):
    def __init__(self, dsn: str):
        self._conn = connect(dsn)
        create_tables(self._conn, _SCHEMA)
        self._lock = threading.RLock()

    def _hash_of(self, user: str) -> tuple[str | None, float | None]:
        with self._lock:
            row = self._conn.execute('SELECT hash, updated FROM state_passphrases WHERE "user" = %s',
                                     (user,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def _history(self, user: str, count: int) -> list[str]:
        with self._lock:
            return [h for (h,) in self._conn.execute('SELECT hash FROM state_passphrase_history WHERE "user" = %s '
                                                     "ORDER BY set_at DESC LIMIT %s", (user, count))]

    def _store_hash(self, user: str, hashed: str, now: float, must_change: bool) -> None:
        with self._lock, self._conn.transaction():
            c = self._conn
            c.execute('INSERT INTO state_passphrases ("user", hash, updated) VALUES (%s, %s, %s) '
                      'ON CONFLICT ("user") DO UPDATE SET hash = excluded.hash, updated = excluded.updated',
                      (user, hashed, now))
            c.execute("INSERT INTO state_passphrase_history VALUES (%s, %s, %s)", (user, hashed, now))
            c.execute('DELETE FROM state_passphrase_history WHERE "user" = %s AND ctid NOT IN (SELECT ctid FROM '
                      'state_passphrase_history WHERE "user" = %s ORDER BY set_at DESC LIMIT 20)', (user, user))
            self._ensure_row(user)
            c.execute('UPDATE state_accounts SET must_change = %s WHERE "user" = %s', (int(must_change), user))

    def forget(self, user: str) -> None:
        with self._lock, self._conn.transaction():
            for table in TABLES:
                self._conn.execute(f'DELETE FROM {table} WHERE "user" = %s', (user,))

    def _ensure_row(self, user: str) -> None:
        self._conn.execute('INSERT INTO state_accounts ("user") VALUES (%s) ON CONFLICT DO NOTHING', (user,))

    def _clear_failures(self, user: str) -> bool:
        with self._lock:
            return self._conn.execute('UPDATE state_accounts SET failures = 0 WHERE "user" = %s AND locked = 0 '
                                      'RETURNING "user"', (user,)).fetchone() is not None

    def _count_failure(self, user, policy) -> tuple[int, bool]:
        import time

        with self._lock, self._conn.transaction():
            self._ensure_row(user)
            failures, locked = self._conn.execute(
                'UPDATE state_accounts SET failures = failures + 1 WHERE "user" = %s RETURNING failures, locked',
                (user,)).fetchone()
            lock = policy.lockout_enabled and not locked and failures >= policy.lockout_attempts
            if lock:
                self._conn.execute('UPDATE state_accounts SET locked = 1, locked_at = %s WHERE "user" = %s',
                                   (time.time(), user))
        return failures, lock

    def _account_row(self, user: str):
        with self._lock:
            return self._conn.execute('SELECT failures, locked, must_change FROM state_accounts WHERE "user" = %s',
                                      (user,)).fetchone()

    def set_locked(self, user: str, locked: bool) -> None:
        import time

        with self._lock:
            self._ensure_row(user)
            self._conn.execute('UPDATE state_accounts SET locked = %s, failures = 0, locked_at = %s WHERE "user" = %s',
                               (int(locked), time.time() if locked else None, user))

    def replace_all(self, rows: dict[str, list[tuple]]) -> None:
        """Every account's state from another store (a cluster's creation)."""
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            for table in TABLES:
                cur.execute(f"DELETE FROM {table}")
                if rows.get(table):
                    marks = ", ".join(["%s"] * len(rows[table][0]))
                    cur.executemany(f"INSERT INTO {table} VALUES ({marks})", rows[table])


def open_accounts(datadir) -> Accounts:
    """The account state this data directory uses: its cluster's (shared), or its own.

    A cluster machine whose store cannot be reached when a service starts falls back to the account state it
    had before joining, so that the administrator can still log in to see why (a warning says so)."""
    import logging

    from asyncos_cli.config.cluster import Membership

    member = Membership.load(datadir)
    if member is not None:
        import psycopg

        try:
            return PostgresAccounts(member.store)
        except psycopg.OperationalError as e:
            logging.getLogger("asyncos.auth").warning(
                "the cluster's store is unreachable (%s): logins use this machine's own account state", first_line(e))
    return Accounts(datadir.database)
