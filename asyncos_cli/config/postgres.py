"""The configuration store on PostgreSQL (psycopg 3): the backend of cluster mode, the SQLite store's twin.

The same two tables and the same commit model: a commit is one transaction that takes the store's lock
(``LOCK TABLE config_versions IN EXCLUSIVE MODE``: commits one after the other, readers never wait), checks each
changed section's base against the head, and writes the next version with the full set of its sections. A
process killed at any point leaves the old version or the new one. Numbers are consecutive (no sequence gaps
after a refused commit).
"""

from __future__ import annotations

import time

from .fields import ConfigError
from .schema import Config
from .store import (
    ConfigStore,
    Snapshot,
    StoreNotInitialised,
    VersionInfo,
    changed_bodies,
    decode_snapshot,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS config_versions (
    id BIGINT PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL,
    "user" TEXT NOT NULL,
    comment TEXT NOT NULL,
    rollback BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE IF NOT EXISTS config_sections (
    version BIGINT NOT NULL REFERENCES config_versions(id),
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    changed_in BIGINT NOT NULL,
    PRIMARY KEY (version, name)
);
"""
#: pg_advisory_xact_lock key for creating the tables (two machines joining at once must not race).
_SCHEMA_LOCK = 0x61737963


class PostgresStore(ConfigStore):
    def __init__(self, dsn: str):
        import psycopg

        self.dsn = dsn
        self._conn = psycopg.connect(dsn, autocommit=True)
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            self._conn.execute(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def reopen(self) -> "PostgresStore":
        return PostgresStore(self.dsn)

    def head_id(self) -> int:
        return self._conn.execute("SELECT coalesce(max(id), 0) FROM config_versions").fetchone()[0]

    def _version(self, vid: int) -> VersionInfo:
        row = self._conn.execute('SELECT id, created, "user", comment, rollback FROM config_versions WHERE id = %s',
                                 (vid,)).fetchone()
        if row is None:
            raise ConfigError(f"there is no configuration version {vid}")
        return VersionInfo(row[0], row[1], row[2], row[3], bool(row[4]))

    def snapshot(self, version: int | None = None) -> Snapshot:
        with self._conn.transaction():  # REPEATABLE READ is not needed: a version's rows never change
            vid = version if version is not None else self.head_id()
            if vid == 0:
                raise StoreNotInitialised("the configuration store is empty: run 'asyncos-cli init' first")
            info = self._version(vid)
            rows = self._conn.execute("SELECT name, body, changed_in FROM config_sections WHERE version = %s",
                                      (vid,)).fetchall()
        return decode_snapshot(info, rows)

    def commit(self, changes, bases, user, comment, rollback=True) -> VersionInfo:
        with self._conn.transaction():
            self._conn.execute("LOCK TABLE config_versions IN EXCLUSIVE MODE")
            head = self.head_id()
            current = {name: (body, changed) for name, body, changed in self._conn.execute(
                "SELECT name, body, changed_in FROM config_sections WHERE version = %s", (head,))}
            bodies = changed_bodies(current, changes, bases, self._version)
            now, vid = time.time(), head + 1
            self._conn.execute('INSERT INTO config_versions (id, created, "user", comment, rollback) '
                               "VALUES (%s, %s, %s, %s, %s)", (vid, now, user, comment, bool(rollback)))
            with self._conn.cursor() as cur:
                cur.executemany("INSERT INTO config_sections VALUES (%s, %s, %s, %s)",
                                [(vid, name, body, changed) for name, (body, changed) in current.items()
                                 if name not in bodies] + [(vid, name, body, vid) for name, body in bodies.items()])
        return VersionInfo(vid, now, user, comment, rollback)

    def versions(self) -> list[VersionInfo]:
        return [VersionInfo(r[0], r[1], r[2], r[3], bool(r[4])) for r in self._conn.execute(
            'SELECT id, created, "user", comment, rollback FROM config_versions ORDER BY id')]

    def initialise(self, config: Config, user: str, comment: str) -> VersionInfo:
        if self.head_id():
            raise ConfigError("the configuration store is already initialised")
        return self.commit({s.name: s for s in config.sections()}, {}, user, comment)
