"""The interfaces of run-time state, beside the configuration's ``ConfigStore``.

State changes while the appliance runs and is never rolled back (DESIGN §4). Each kind of state is reached
through one of these interfaces, so a second backend (cluster mode on PostgreSQL) plugs in under them and
nothing above knows which backend it runs on. The embedded backend is SQLite, in the data directory's
database: ``SQLiteStateStore`` here; the tracking, alert, remediation and first-seen stores beside the
services that own their tables (``services.tracking_search.SQLiteTrackingStore``,
``services.alerts.SQLiteAlertLog``, ``services.remediation.SQLiteRemediationJobs``,
``services.maturity.SQLiteFirstSeen``).
"""

from __future__ import annotations

import abc
import json
import sqlite3
import time
from pathlib import Path
from typing import Iterable

from .store import connect


class KeyValueState(abc.ABC):
    """Small named values: the appliance's identity, registrations, downloaded lists."""

    @abc.abstractmethod
    def get(self, key: str, default=None): ...

    @abc.abstractmethod
    def put(self, key: str, value) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...


class TrackingStore(abc.ABC):
    """Message tracking records: written by the daemon, searched by findevent, report and remediate."""

    @abc.abstractmethod
    def write(self, records: list, connection_stops: list = ()) -> None:
        """Finished records (with their search indexes) and ended connections, in one transaction."""

    @abc.abstractmethod
    def stored(self, mid: int) -> dict | None:
        """A finished record's data."""

    @abc.abstractmethod
    def stored_by_message_id(self, message_id: str) -> list[tuple[int, dict]]: ...

    @abc.abstractmethod
    def update(self, mid: int, data: dict) -> None: ...

    @abc.abstractmethod
    def finished_count(self) -> int: ...

    @abc.abstractmethod
    def search(self, filters: dict, limit: int = 100) -> list[dict]: ...

    @abc.abstractmethod
    def history(self, mid: int) -> dict | None: ...

    @abc.abstractmethod
    def report(self, kind: str, since: float | None = None, until: float | None = None) -> dict:
        """One of the appliance's reports (REPORTS) over the records finished in the time range."""


#: The reports TrackingStore.report makes.
REPORTS = ("overview", "incoming", "mail-flow", "mail-flow-details", "mail-policy")


class AlertLog(abc.ABC):
    """Alerts as they were raised and sent (displayalerts reads them)."""

    @abc.abstractmethod
    def recent(self, limit: int = 50) -> list[dict]: ...


class RemediationJobs(abc.ABC):
    """Search-and-remediate jobs: queued by the shell, claimed and run by the daemon."""

    @abc.abstractmethod
    def queue(self, user: str, action: str, forward_to: str, items: list[dict]) -> int: ...

    @abc.abstractmethod
    def jobs(self, job_id: int | None = None, limit: int = 20) -> list[dict]: ...

    @abc.abstractmethod
    def claim_pending(self) -> list[dict]: ...

    @abc.abstractmethod
    def requeue_interrupted(self) -> int: ...

    @abc.abstractmethod
    def save(self, job: dict) -> None: ...


class FirstSeenStore(abc.ABC):
    """When each sender domain was first seen (sender maturity)."""

    @abc.abstractmethod
    def load(self) -> dict[str, float]: ...

    @abc.abstractmethod
    def add(self, rows: Iterable[tuple[str, float]]) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS state_values (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated REAL NOT NULL
);
"""


class SQLiteStateStore(KeyValueState):
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
