"""Reports across a cluster: each machine ships its hourly report roll-ups (services/rollups) into the cluster's
PostgreSQL (``cluster_rollups``: one row per machine, family, span (hour, day, week), start and key), and a
report on any machine adds every machine's up.

A cluster-wide report counts whole hours (its range is widened to the hours it touches, as the appliance's
reports are), and counts messages once they are finished: one still in a machine's queue counts when it is
delivered, bounced or dropped. A machine's hour rows hold absolute counts, written again whole for each hour
that changed, and its days and weeks move by the same difference, so shipping twice counts nothing twice.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections import Counter
from typing import Iterable

from asyncos_cli.config.cluster import ClusterTable

from .rollups import HOUR, SPANS, whole_pieces

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cluster_rollups (
    machine TEXT NOT NULL,
    family TEXT NOT NULL,
    span INTEGER NOT NULL,
    start BIGINT NOT NULL,
    key TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (machine, family, span, start, key)
);
CREATE INDEX IF NOT EXISTS cluster_rollups_family_span_start ON cluster_rollups (family, span, start);
"""


def whole_hours(since: float, until: float) -> tuple[float, float]:
    """The range widened to the whole hours it touches: (first hour's start, last hour's last microsecond)."""
    return math.floor(since / HOUR) * HOUR, math.ceil((until + 1e-6) / HOUR) * HOUR - 1e-6


class ClusterReports(ClusterTable):
    SCHEMA = _SCHEMA

    # ------------------------------------------------------------ shipping

    def has_shipped(self, machine: str) -> bool:
        return self.conn.execute("SELECT 1 FROM cluster_rollups WHERE machine = %s LIMIT 1",
                                 (machine,)).fetchone() is not None

    def ship(self, machine: str, local: sqlite3.Connection, hours: Iterable[float] | None = None) -> int:
        """This machine's roll-ups of the given hours (every one, of every span, when None); returns the rows.

        An hour's rows are written whole; the days and weeks holding it change by the hour's difference from
        its last round, so a round costs the keys of the hours that changed, never a week's. One machine's
        rounds are taken one at a time (the daemon's and a report's may meet)."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('cluster_rollups/' || %s))", (machine,))
            if hours is None:
                try:
                    rows = local.execute("SELECT family, span, start, key, n FROM report_rollups").fetchall()
                except sqlite3.OperationalError:  # a database the daemon has not opened since roll-ups came
                    return 0
                cur.execute("DELETE FROM cluster_rollups WHERE machine = %s", (machine,))
                self._copy(cur, machine, rows)
                return len(rows)
            starts = sorted({int(h // HOUR) * HOUR for h in hours})
            marks = ",".join("?" * len(starts))
            try:
                new = local.execute(f"SELECT family, start, key, n FROM report_rollups WHERE span = {HOUR} AND "
                                    f"start IN ({marks})", starts).fetchall()
            except sqlite3.OperationalError:
                return 0
            delta: Counter = Counter({(f, start, k): n for f, start, k, n in new})
            delta.subtract({(f, start, k): n for f, start, k, n in cur.execute(
                "SELECT family, start, key, n FROM cluster_rollups WHERE machine = %s AND span = %s AND "
                "start = ANY(%s)", (machine, HOUR, starts))})
            cur.execute("DELETE FROM cluster_rollups WHERE machine = %s AND span = %s AND start = ANY(%s)",
                        (machine, HOUR, starts))
            self._copy(cur, machine, [(f, HOUR, start, k, n) for f, start, k, n in new])
            longer: Counter = Counter()
            for (family, start, key), n in delta.items():
                for span in SPANS[1:]:
                    longer[(family, span, start // span * span, key)] += n
            cur.executemany("INSERT INTO cluster_rollups VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (machine, "
                            "family, span, start, key) DO UPDATE SET n = cluster_rollups.n + excluded.n",
                            [(machine, *k, n) for k, n in longer.items() if n])
        return len(new)

    @staticmethod
    def _copy(cur, machine: str, rows) -> None:
        with cur.copy("COPY cluster_rollups FROM STDIN") as copy:
            for family, span, start, key, n in rows:
                copy.write_row((machine, family, span, start, key, n))

    # ------------------------------------------------------------ reading (the report views' count source)

    def source(self, machine: str | None = None) -> "ClusterCounts":
        return ClusterCounts(self.conn, machine)

    def machines(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT machine FROM cluster_rollups ORDER BY 1")]


class ClusterCounts:
    """What the report views ask of their counts (services/rollups.counts), answered from every machine's
    shipped hours, or one machine's."""

    def __init__(self, conn, machine: str | None = None):
        self.conn = conn
        self.machine = machine

    def _where(self) -> tuple[str, tuple]:
        return ("AND machine = %s", (self.machine,)) if self.machine else ("", ())

    def counts(self, family: str, since: float, until: float) -> dict[str, int]:
        """The whole hours from the one holding ``since`` to the one holding ``until``: the longest spans
        in the middle, shorter ones at the ends (services/rollups.whole_pieces)."""
        extra, args = self._where()
        pieces = whole_pieces(math.floor(since / HOUR) * HOUR, math.floor(until / HOUR) * HOUR + HOUR)
        if not pieces:
            return {}
        union = " UNION ALL ".join([f"SELECT key, n FROM cluster_rollups WHERE family = %s AND span = %s AND "
                                    f"start >= %s AND start < %s {extra}"] * len(pieces))
        return {key: int(n) for key, n in self.conn.execute(
            f"SELECT key, sum(n) FROM ({union}) AS pieces GROUP BY key",
            [v for piece in pieces for v in (family, *piece, *args)])}

    def first_received(self) -> float | None:
        extra, args = self._where()
        row = self.conn.execute(f"SELECT min(start) FROM cluster_rollups WHERE family = 'actions' AND span = 3600 "
                                f"{extra}",
                                args).fetchone()
        return None if row[0] is None else float(row[0])


class TrackingShipper:
    """One machine's tracking on its way to the cluster's store, a round at a time."""

    def __init__(self, conn):
        from .cluster_tracking import ClusterTracking

        self.tracking, self.reports = ClusterTracking(conn), ClusterReports(conn)

    def ship(self, machine: str, local: sqlite3.Connection) -> None:
        """The records finished since the last round (for findevent), then the report hours that changed:
        those of the records just shipped (a message received at 10:59 and delivered at 11:02 changes 10:00)
        and this hour and the last (connection stops); on the first round of a machine new to the cluster,
        every hour."""
        received = self.tracking.ship(machine, local)
        now = time.time()
        first = not self.reports.has_shipped(machine)
        self.reports.ship(machine, local, None if first else [*received, now, now - HOUR])


def view_everywhere(member, kind: str, since: float, until: float, machine: str | None = None,
                    ship_from: sqlite3.Connection | None = None) -> dict:
    """A report view (tracking_search.REPORT_VIEWS) over every machine's shipped hours, or ``machine``'s
    (LookupError: none of that name has shipped any), over the whole hours the range touches, with a
    ``Machines`` line; ``ship_from``: this machine's tracking, shipped first so its newest mail counts.
    psycopg's OperationalError when the cluster's store is unreachable."""
    from .tracking_search import REPORT_VIEWS

    since, until = whole_hours(since, until)
    with member.connect() as conn:
        reports = ClusterReports(conn)
        if ship_from is not None:
            TrackingShipper(conn).ship(member.machine, ship_from)
        shipped = reports.machines()
        if machine is not None and machine not in shipped:
            raise LookupError(machine)
        data = REPORT_VIEWS[kind](reports.source(machine), since, until)
    return {**data, "Machines": machine or ", ".join(sorted({*shipped, member.machine}))}
