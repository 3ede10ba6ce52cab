"""The configuration store on PostgreSQL (psycopg 3): the backend of cluster mode, the SQLite store's twin.

The same two tables and the same commit model: a commit is one transaction that takes the store's lock
(``LOCK TABLE config_versions IN EXCLUSIVE MODE``: commits one after the other, readers never wait), checks each
changed section's base against the head, and writes the next version with the full set of its sections. A
process killed at any point leaves the old version or the new one. Numbers are consecutive (no sequence gaps
after a refused commit).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import astuple
from pathlib import Path

from .cluster import (
    GROUPS_ROW,
    MACHINE_SECTIONS,
    Groups,
    Mode,
    connect,
    create_tables,
    first_line,
)
from .datadir import write_private
from .fields import ConfigError
from .schema import Config
from .store import (
    ConfigStore,
    Snapshot,
    StoreNotInitialised,
    VersionInfo,
    changed_bodies,
    decode_snapshot,
    section_body,
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
#: The NOTIFY channel a commit announces its version on.
_CHANNEL = "asyncos_config"


class StoreUnreachable(ConfigError):
    pass


@contextlib.contextmanager
def _reachable():
    """psycopg's connection errors as the shell's sentence (mail keeps flowing on the version in effect)."""
    import psycopg

    try:
        yield
    except (psycopg.OperationalError, psycopg.InterfaceError) as e:
        raise StoreUnreachable(f"the cluster's configuration store is unreachable ({first_line(e)}); the "
                               "configuration in effect stays, and commits wait until the store is back") from None


class PostgresStore(ConfigStore):
    """``machine``: the cluster machine this store serves. Rows are the cluster's sections (``SECTION``), a
    group's (``group/NAME/SECTION``) and a machine's (``machine/NAME/SECTION``); a machine runs on the cluster's
    with its group's laid over them and its own over those. MACHINE_SECTIONS are always a machine's own.

    ``mode`` (config.cluster.Mode) is where a shell reads and writes: at the cluster's level it sees the
    cluster's rows (and this machine's MACHINE_SECTIONS), at a group's the group's over the cluster's, at a
    machine's what that machine runs on. None: what this machine runs on, written as the cluster's (the
    daemon's view; creating and joining write through it)."""

    remote = True

    def __init__(self, dsn: str, machine: str | None = None, cache: Path | None = None):
        """``cache``: a file that keeps the newest version read, so that while the server is unreachable
        reads (the shell's status, logs, alerts) still see the configuration in effect; commits are refused."""
        self.dsn = dsn
        self.machine = machine
        self.cache = cache
        self.mode: Mode | None = None
        self._conn = None
        self._cached_id = -1
        try:
            with _reachable():
                self._connect()
        except StoreUnreachable as e:
            self._fallback(e)

    @contextlib.contextmanager
    def _connected(self):
        """The connection, made again after the server restarted (the first query after it fails, the next
        reconnects); the tables made on the first connection."""
        with _reachable():
            self._connect()
            yield self._conn
        self.unreachable = ""

    def _connect(self) -> None:
        if self._conn is None or self._conn.closed or self._conn.broken:
            conn = connect(self.dsn)
            create_tables(conn, _SCHEMA)
            self._conn = conn

    def _fallback(self, e: StoreUnreachable) -> Snapshot:
        """The cached version in place of the unreachable store's answer (``e`` again when there is none)."""
        cached = self._from_cache()
        if cached is None:
            raise e
        self.unreachable = str(e)
        return cached

    def _from_cache(self) -> Snapshot | None:
        if self.cache is None:
            return None
        try:
            data = json.loads(self.cache.read_text())
            return decode_snapshot(VersionInfo(*data["version"]), data["rows"])
        except (OSError, ValueError, KeyError, TypeError, ConfigError):
            return None

    def _keep(self, info: VersionInfo, view: dict) -> None:
        if self.cache is None or info.id == self._cached_id or self.mode is not None:
            return
        cached = self._from_cache()
        if cached is None or cached.version.id != info.id:
            rows = [[name, body, changed] for name, (body, changed) in view.items()]
            write_private(self.cache, json.dumps({"version": list(astuple(info)), "rows": rows}).encode())
        self._cached_id = info.id

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def reopen(self) -> "PostgresStore":
        store = PostgresStore(self.dsn, self.machine, self.cache)
        store.mode = self.mode
        return store

    def head_id(self) -> int:
        try:
            with self._connected() as conn:
                return conn.execute("SELECT coalesce(max(id), 0) FROM config_versions").fetchone()[0]
        except StoreUnreachable as e:
            return self._fallback(e).version.id

    def _version(self, vid: int) -> VersionInfo:
        with self._connected() as conn:
            row = conn.execute('SELECT id, created, "user", comment, rollback FROM config_versions WHERE id = %s',
                               (vid,)).fetchone()
        if row is None:
            raise ConfigError(f"there is no configuration version {vid}")
        return VersionInfo(row[0], row[1], row[2], row[3], bool(row[4]))

    def _own(self, name: str) -> str:
        """The row a section is written to at the store's mode."""
        if not self.machine:
            return name
        mode = self.mode
        if name in MACHINE_SECTIONS:
            return f"machine/{mode.name if mode and mode.level == 'machine' else self.machine}/{name}"
        return mode.prefix() + name if mode else name

    def _view(self, rows) -> dict[str, tuple[str, int]]:
        """The sections as the store's mode sees them in a version's rows (the class says which)."""
        by_name = {name: (body, changed) for name, body, changed in rows}
        view = {name: row for name, row in by_name.items() if "/" not in name}
        if not self.machine:
            return view
        mode, groups = self.mode, Groups.decode(by_name.get(GROUPS_ROW, (None,))[0])
        if mode is None or mode.level == "machine":
            machine = mode.name if mode else self.machine
            layers = [(f"group/{groups.of(machine)}/", None), (f"machine/{machine}/", None)]
        else:
            layers = [(mode.prefix(), None)] if mode.level == "group" else []
            layers.append((f"machine/{self.machine}/", MACHINE_SECTIONS))
        for prefix, only in layers:
            view.update({name[len(prefix):]: row for name, row in by_name.items()
                         if name.startswith(prefix) and (only is None or name[len(prefix):] in only)})
        return view

    def _rows(self, conn, vid: int) -> dict[str, tuple[str, int]]:
        return {name: (body, changed) for name, body, changed in conn.execute(
            "SELECT name, body, changed_in FROM config_sections WHERE version = %s", (vid,))}

    def groups(self) -> Groups:
        with self._connected() as conn:
            return Groups.decode(self._rows(conn, self.head_id()).get(GROUPS_ROW, (None,))[0])

    def levels(self, name: str) -> list[Mode]:
        """The modes a section is configured at in the newest version (the cluster's first)."""
        with self._connected() as conn:
            rows = self._rows(conn, self.head_id())
        found = [Mode("cluster", "")] if name in rows else []
        for row in sorted(rows):
            level, _, rest = row.partition("/")
            if level in ("group", "machine") and rest.endswith(f"/{name}") and rest.count("/") == 1:
                found.append(Mode(level, rest.split("/")[0]))
        return found

    def own_rows_changed_since(self, vid: int) -> list[str]:
        """Groups' and machines' own settings (but this machine's host name and interfaces) that differ between
        version ``vid`` and the newest, as ``Group NAME: section`` (what a rollback of the cluster's leaves)."""
        with self._connected() as conn:
            then, now = self._rows(conn, vid), self._rows(conn, self.head_id())
        mine = {f"machine/{self.machine}/{name}" for name in MACHINE_SECTIONS}
        changed = sorted(name for name in set(then) | set(now) if name.count("/") == 2 and name not in mine
                         and then.get(name, (None,))[0] != now.get(name, (None,))[0])
        return [f"{Mode(*name.split('/')[:2])}: {name.split('/')[2]}" for name in changed]

    def not_configured_here(self, names) -> list[str]:
        mode = self.mode
        if mode is None or mode.level == "cluster":
            return []
        names = [n for n in names if n not in MACHINE_SECTIONS]
        with self._connected() as conn:
            rows = self._rows(conn, self.head_id())
        return [n for n in names if mode.prefix() + n not in rows]

    def connection(self):
        """The store's connection (the cluster's tables live in the same database)."""
        with self._connected() as conn:
            return conn

    def adopt(self, history: list[Snapshot]) -> None:
        """Write another store's versions, oldest first, into this empty one (a cluster's creation)."""
        with self._connected() as conn, conn.transaction():
            conn.execute("LOCK TABLE config_versions IN EXCLUSIVE MODE")
            if self.head_id():
                raise ConfigError("the cluster's store already holds configuration versions")
            with conn.cursor() as cur:
                for snap in history:
                    v = snap.version
                    cur.execute('INSERT INTO config_versions (id, created, "user", comment, rollback) '
                                "VALUES (%s, %s, %s, %s, %s)", (v.id, v.created, v.user, v.comment, v.rollback))
                    cur.executemany("INSERT INTO config_sections VALUES (%s, %s, %s, %s)",
                                    [(v.id, self._own(name), section_body(snap.config[name]),
                                      snap.changed_in.get(name, 0)) for name in snap.config])

    def listen(self, wake, stop) -> None:
        """Call ``wake()`` (from a thread) after each commit anywhere in the cluster, and once on each
        (re)connection so that what was committed while the link was down is caught up."""
        import psycopg

        def run():
            while not stop.is_set():
                try:
                    with connect(self.dsn) as conn:
                        conn.execute(f"LISTEN {_CHANNEL}")
                        wake()
                        while not stop.is_set():
                            for _ in conn.notifies(timeout=1.0):
                                wake()
                except psycopg.Error:
                    stop.wait(1.0)

        threading.Thread(target=run, name="config-listen", daemon=True).start()

    def snapshot(self, version: int | None = None) -> Snapshot:
        try:
            with self._connected() as conn, conn.transaction():  # a version's rows never change once written
                vid = version if version is not None else self.head_id()
                if vid == 0:
                    raise StoreNotInitialised("the configuration store is empty: run 'asyncos-cli init' first")
                info = self._version(vid)
                rows = conn.execute("SELECT name, body, changed_in FROM config_sections WHERE version = %s",
                                    (vid,)).fetchall()
        except StoreUnreachable as e:
            cached = self._fallback(e)
            if version not in (None, cached.version.id):
                raise
            return cached
        view = self._view(rows)
        if version is None:
            self._keep(info, view)
        return decode_snapshot(info, [(name, body, changed) for name, (body, changed) in view.items()])

    def commit(self, changes, bases, user, comment, rollback=True) -> VersionInfo:
        def change(rows):
            bodies = changed_bodies(self._view((n, b, c) for n, (b, c) in rows.items()), changes, bases,
                                    self._version, lambda name: rows.get(self._own(name), (None,))[0])
            return {self._own(name): body for name, body in bodies.items()}, ()

        return self.write_rows(change, user, comment, rollback)

    def write_rows(self, change, user: str, comment: str, rollback: bool = True) -> VersionInfo:
        """A version with rows changed at will: ``change(rows)`` returns (rows to write, row names to drop)
        from the newest version's rows (a commit; groups; settings copied, moved or deleted between modes)."""
        with self._connected() as conn, conn.transaction():
            conn.execute("LOCK TABLE config_versions IN EXCLUSIVE MODE")
            head = self.head_id()
            rows = self._rows(conn, head)
            bodies, drop = change(rows)
            now, vid = time.time(), head + 1
            conn.execute('INSERT INTO config_versions (id, created, "user", comment, rollback) '
                         "VALUES (%s, %s, %s, %s, %s)", (vid, now, user, comment, bool(rollback)))
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO config_sections VALUES (%s, %s, %s, %s)",
                                [(vid, name, body, changed) for name, (body, changed) in rows.items()
                                 if name not in bodies and name not in drop]
                                + [(vid, name, body, vid) for name, body in bodies.items()])
            # Delivered to every listening machine when this transaction commits.
            conn.execute("SELECT pg_notify(%s, %s)", (_CHANNEL, str(vid)))
        return VersionInfo(vid, now, user, comment, rollback)

    def versions(self) -> list[VersionInfo]:
        with self._connected() as conn:
            return [VersionInfo(r[0], r[1], r[2], r[3], bool(r[4])) for r in conn.execute(
                'SELECT id, created, "user", comment, rollback FROM config_versions ORDER BY id')]

    def initialise(self, config: Config, user: str, comment: str) -> VersionInfo:
        if self.head_id():
            raise ConfigError("the configuration store is already initialised")
        return self.commit({s.name: s for s in config.sections()}, {}, user, comment)
