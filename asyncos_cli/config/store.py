"""Versioned configuration store.

``ConfigStore`` is the interface every engine and the shell use; the
embedded backend is SQLite in WAL mode; config.postgres is the PostgreSQL
backend for cluster mode (the same tables, the same commit model).

Every commit is one SQLite transaction that writes a new version row and the
full set of its sections, so a process killed at any point leaves the old
version or the new one, never a mix. Each stored section remembers the
version it last changed in (``changed_in``); a commit names, per section it
changes, the ``changed_in`` it was based on, and is refused if another
session committed that section since.
"""

from __future__ import annotations

import abc
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .fields import ConfigError, from_data, to_data
from .schema import SECTION_BY_NAME, SECTIONS, Config, Section


@dataclass(frozen=True)
class VersionInfo:
    id: int
    created: float
    user: str
    comment: str
    rollback: bool = True

    def when(self) -> str:
        return time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(self.created))


@dataclass(frozen=True)
class Snapshot:
    """A committed version: the document and, per section, the version it last changed in."""

    version: VersionInfo
    config: Config
    changed_in: Mapping[str, int]


class CommitConflict(ConfigError):
    def __init__(self, section: str, version: VersionInfo):
        self.section = section
        self.version = version
        super().__init__(
            f"the section '{section}' was changed by {version.user} in version {version.id} "
            f"({version.when()}) after you started editing it"
        )


class NothingToCommit(ConfigError):
    def __init__(self):
        super().__init__("There is no data to commit.")


class StoreNotInitialised(ConfigError):
    pass


class ConfigStore(abc.ABC):
    #: True when reads cross a network (and may hang): the daemon then reads it off its event loop.
    remote = False
    #: Why the last read came from a local copy rather than the store itself (empty when it did not).
    unreachable = ""

    def not_configured_here(self, names) -> list[str]:
        """Of these sections, those the store's mode would start a copy of at its level (cluster mode only)."""
        return []

    @abc.abstractmethod
    def reopen(self) -> "ConfigStore":
        """Another connection to the same store (as another process would have)."""

    @abc.abstractmethod
    def head_id(self) -> int:
        """The newest version's number (0 before initialisation)."""

    @abc.abstractmethod
    def snapshot(self, version: int | None = None) -> Snapshot:
        """A committed version, the newest by default."""

    @abc.abstractmethod
    def commit(
        self,
        changes: Mapping[str, Section],
        bases: Mapping[str, int],
        user: str,
        comment: str,
        rollback: bool = True,
    ) -> VersionInfo:
        """Write a new version; raises CommitConflict or NothingToCommit."""

    @abc.abstractmethod
    def versions(self) -> list[VersionInfo]:
        """Every version, oldest first."""

    @abc.abstractmethod
    def initialise(self, config: Config, user: str, comment: str) -> VersionInfo:
        """Write version 1; refuses when the store has versions."""

    def migrate(self, keyring_factory) -> None:
        """Bring stored versions up to this release's way of keeping settings (a cluster's store is made from
        an embedded one that was brought up to date first)."""

    def listen(self, wake, stop) -> None:
        """Call ``wake()`` after commits made elsewhere, until ``stop`` (a threading.Event) is set. The embedded
        store has no channel for that: its readers poll ``head_id``, which costs nothing there."""


def decode_snapshot(info: VersionInfo, rows) -> Snapshot:
    """A version's (name, body, changed_in) rows as a Snapshot: what every backend stores, read the same way."""
    sections, changed_in, raw = {}, {}, {}
    for name, body, changed in rows:
        cls = SECTION_BY_NAME.get(name)
        try:
            raw[name] = json.loads(body)
            if cls is None:
                continue  # a section a newer release wrote; this one ignores it
            sections[name] = from_data(cls, raw[name], name)
        except (ConfigError, ValueError) as e:
            raise ConfigError(f"stored version {info.id} holds an unreadable section: {e}") from None
        changed_in[name] = changed
    for cls in SECTIONS:
        if cls.name not in sections:
            sections[cls.name] = cls.first_appearance(raw)  # a section this release added
            changed_in[cls.name] = 0
    return Snapshot(info, Config(sections), changed_in)


def section_body(section: Section) -> str:
    """A section as stored: the same text for the same settings, so that unchanged sections compare equal."""
    return json.dumps(to_data(section), sort_keys=True, separators=(",", ":"))


def changed_bodies(current: Mapping[str, tuple[str, int]], changes: Mapping[str, Section],
                   bases: Mapping[str, int], version_of, target=None) -> dict[str, str]:
    """The sections a commit writes, as stored text; CommitConflict when one changed since its base (``version_of``
    names the version that changed it), NothingToCommit when nothing differs. Inside the backend's transaction.
    ``target(name)``: the stored text a section is written over, when that is not the one read (a cluster
    machine's own copy of a setting it read from its group or cluster)."""
    bodies = {}
    for name, section in changes.items():
        body = section_body(section)
        stored_body, stored_changed = current.get(name, (None, 0))
        if stored_changed != bases.get(name, 0):
            raise CommitConflict(name, version_of(stored_changed))
        if target is not None:
            stored_body = target(name)
        if body != stored_body:
            bodies[name] = body
    if not bodies:
        raise NothingToCommit()
    return bodies


_SCHEMA = """
CREATE TABLE IF NOT EXISTS config_versions (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    user TEXT NOT NULL,
    comment TEXT NOT NULL,
    rollback INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS config_sections (
    version INTEGER NOT NULL REFERENCES config_versions(id),
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    changed_in INTEGER NOT NULL,
    PRIMARY KEY (version, name)
);
"""


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the settings every user of the database shares."""
    created = not path.exists()
    conn = sqlite3.connect(path, timeout=15, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit that returned is on disk, even if power fails right after.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=15000")
    if created:
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(path) + suffix)
            if p.exists():
                os.chmod(p, 0o600)
    return conn


class SQLiteStore(ConfigStore):
    def __init__(self, path: Path):
        self.path = path
        self._conn = connect(path)
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def reopen(self) -> "SQLiteStore":
        return SQLiteStore(self.path)

    def migrate(self, keyring_factory) -> None:
        """Bring every stored version up to this release's way of keeping settings (once)."""
        from . import migrations

        if migrations.pending(self._conn):
            migrations.run(self._conn, keyring_factory())

    def head_id(self) -> int:
        row = self._conn.execute("SELECT max(id) FROM config_versions").fetchone()
        return row[0] or 0

    def _version(self, vid: int) -> VersionInfo:
        row = self._conn.execute(
            "SELECT id, created, user, comment, rollback FROM config_versions WHERE id = ?", (vid,)
        ).fetchone()
        if row is None:
            raise ConfigError(f"there is no configuration version {vid}")
        return VersionInfo(row[0], row[1], row[2], row[3], bool(row[4]))

    def snapshot(self, version: int | None = None) -> Snapshot:
        # One read transaction, so the version row and its sections agree.
        self._conn.execute("BEGIN")
        try:
            vid = version if version is not None else self.head_id()
            if vid == 0:
                raise StoreNotInitialised(
                    "the configuration store is empty: run 'asyncos-cli init' first"
                )
            info = self._version(vid)
            rows = self._conn.execute(
                "SELECT name, body, changed_in FROM config_sections WHERE version = ?", (vid,)
            ).fetchall()
        finally:
            self._conn.execute("COMMIT")
        return decode_snapshot(info, rows)

    def commit(self, changes, bases, user, comment, rollback=True) -> VersionInfo:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            head = self.head_id()
            current = {
                name: (body, changed)
                for name, body, changed in conn.execute(
                    "SELECT name, body, changed_in FROM config_sections WHERE version = ?", (head,)
                )
            }
            bodies = changed_bodies(current, changes, bases, self._version)
            now = time.time()
            cur = conn.execute(
                "INSERT INTO config_versions (created, user, comment, rollback) VALUES (?, ?, ?, ?)",
                (now, user, comment, int(rollback)),
            )
            vid = cur.lastrowid
            for name, (body, changed) in current.items():
                if name not in bodies:
                    conn.execute(
                        "INSERT INTO config_sections VALUES (?, ?, ?, ?)", (vid, name, body, changed)
                    )
            for name, body in bodies.items():
                conn.execute("INSERT INTO config_sections VALUES (?, ?, ?, ?)", (vid, name, body, vid))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return VersionInfo(vid, now, user, comment, rollback)

    def versions(self) -> list[VersionInfo]:
        return [
            VersionInfo(r[0], r[1], r[2], r[3], bool(r[4]))
            for r in self._conn.execute(
                "SELECT id, created, user, comment, rollback FROM config_versions ORDER BY id"
            )
        ]

    def initialise(self, config: Config, user: str, comment: str) -> VersionInfo:
        if self.head_id():
            raise ConfigError("the configuration store is already initialised")
        changes = {s.name: s for s in config.sections()}
        return self.commit(changes, {}, user, comment)
