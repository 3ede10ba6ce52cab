"""Report counters rolled up by hour and by day as tracking records are written, so a report over a week or a
month reads a few thousand counter rows instead of every message's JSON.

A counter is a (family, key) pair, for example ("actions", "incoming\\x1fDELIVERED"). Each family says how one
finished record counts (``of_record``) and how to count the same thing straight from the tracking tables
(``raw_sql``); a report asks ``counts(conn, family, since, until)``, which adds the whole days and whole hours
of the range from the roll-ups and counts the ragged ends (and the records still in flight, which are rolled
up only when they finish) from the tables. The two ways give the same numbers; a test holds them to it.

Roll-ups start with the database: a database that had finished records before them (an upgrade) is counted
from the tables up to the hour after the roll-ups began (``report_rollup_state``).
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterable

HOUR, DAY, WEEK = 3600, 86400, 7 * 86400
#: The roll-ups' spans, shortest first (weeks as the epoch counts them: a report's range need not start on one).
SPANS = (HOUR, DAY, WEEK)
#: How close before a whole hour a range's end may be to take that hour whole (a record received in the last
#: millisecond before it counts: an hour's bucket ends 1 µs before the next hour).
CLOSE_TO_THE_HOUR = 1e-3
#: Between the parts of a key (no domain, address, policy or verdict holds it).
SEP = "\x1f"

SCHEMA = """
CREATE TABLE IF NOT EXISTS report_rollups (
    family TEXT NOT NULL,
    span INTEGER NOT NULL,
    start INTEGER NOT NULL,
    key TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (family, span, start, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS report_rollup_state (covered_from REAL NOT NULL);
CREATE INDEX IF NOT EXISTS tracking_unfinished ON tracking_records(received) WHERE finished IS NULL;
"""


def direction_of(policies) -> str:
    """A record's direction, as tracking_meta writes it."""
    return "outgoing" if any(p.startswith("outgoing") for p in policies) else "incoming"


def _key(*parts) -> str:
    return SEP.join(map(str, parts))


@dataclass(frozen=True)
class Family:
    name: str
    #: The keys one finished record counts (a key may come more than once).
    of_record: Callable[[object, str], Iterable[str]]
    #: SELECT key, count(*) ... with {where} for the time condition on received (r.received) and {join} for
    #: the tracking_meta join (m.direction).
    raw_sql: str
    #: The time column of raw_sql ("r.received", or "at" for connection events).
    clock: str = "r.received"


_META = "JOIN tracking_meta m ON m.mid = r.mid"
_ACTION = "coalesce(r.final_action, 'IN FLIGHT')"


def _action(rec) -> str:
    return rec.final_action or "IN FLIGHT"


def _domain(sender: str) -> str:
    s = sender.lower()
    return s[s.find("@") + 1:]


def _content_filter(rec, d):
    v = rec.verdicts.get("content_filters")
    if v and v.get("verdict") == "MATCH":
        yield _key(d, v.get("detail") or "")


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("actions", lambda rec, d: [_key(d, _action(rec))],
           f"SELECT m.direction || char(31) || {_ACTION}, count(*) FROM tracking_records r {_META} "
           "WHERE {where} GROUP BY 1"),
    Family("verdicts", lambda rec, d: [_key(d, stage, v.get("verdict")) for stage, v in rec.verdicts.items()],
           "SELECT m.direction || char(31) || v.key || char(31) || json_extract(v.value, '$.verdict'), count(*) "
           f"FROM tracking_records r {_META}, json_each(r.record, '$.verdicts') v WHERE {{where}} GROUP BY 1"),
    Family("dlp_messages", lambda rec, d: [d] if rec.dlp else [],
           f"SELECT m.direction, count(*) FROM tracking_records r {_META} WHERE {{where}} AND "
           "json_array_length(json_extract(r.record, '$.dlp')) > 0 GROUP BY 1"),
    Family("domains", lambda rec, d: [_key(_domain(rec.sender), _action(rec))] if d == "incoming" else [],
           f"SELECT substr(r.sender, instr(r.sender, '@') + 1) || char(31) || {_ACTION}, count(*) "
           f"FROM tracking_records r {_META} WHERE {{where}} AND m.direction = 'incoming' GROUP BY 1"),
    Family("ips", lambda rec, d: [rec.remote_ip] if d == "incoming" else [],
           f"SELECT m.remote_ip, count(*) FROM tracking_records r {_META} WHERE {{where}} "
           "AND m.direction = 'incoming' GROUP BY 1"),
    Family("policies", lambda rec, d: [_key(*p.split(" ", 1), _action(rec)) for p in rec.policies],
           f"SELECT p.direction || char(31) || p.policy || char(31) || {_ACTION}, count(*) "
           "FROM tracking_policies p JOIN tracking_records r ON r.mid = p.mid WHERE {where} GROUP BY 1"),
    Family("sender_groups", lambda rec, d: [_key(rec.sender_group or "none", _action(rec))],
           "SELECT coalesce(nullif(json_extract(r.record, '$.sender_group'), ''), 'none') || char(31) || "
           f"{_ACTION}, count(*) FROM tracking_records r WHERE {{where}} GROUP BY 1"),
    Family("dlp_incidents", lambda rec, d: [_key(i.get("policy"), str(i.get("severity")).lower()) for i in rec.dlp],
           "SELECT json_extract(i.value, '$.policy') || char(31) || lower(json_extract(i.value, '$.severity')), "
           "count(*) FROM tracking_records r, json_each(r.record, '$.dlp') i WHERE {where} GROUP BY 1"),
    Family("amp", lambda rec, d: [str(a.get("verdict")).lower() for a in rec.amp],
           "SELECT lower(json_extract(a.value, '$.verdict')), count(*) FROM tracking_records r, "
           "json_each(r.record, '$.amp') a WHERE {where} GROUP BY 1"),
    Family("content_filters", _content_filter,
           "SELECT m.direction || char(31) || coalesce(json_extract(r.record, '$.verdicts.content_filters.detail'), "
           f"''), count(*) FROM tracking_records r {_META} WHERE {{where}} AND "
           "json_extract(r.record, '$.verdicts.content_filters.verdict') = 'MATCH' GROUP BY 1"),
    # Connections stopped by reputation: rows of connection_events, rolled up as they are written.
    Family("stops", lambda stop, d: [_key(stop[4], stop[2], stop[3])],
           "SELECT kind || char(31) || address || char(31) || domain, count(*) FROM connection_events "
           "WHERE {where} GROUP BY 1", clock="at"),
)}
RECORD_FAMILIES = tuple(f for f in FAMILIES.values() if f.name != "stops")


# ---------------------------------------------------------------- writing (inside the tracking writer's transaction)


def ensure(conn: sqlite3.Connection) -> None:
    """The roll-up tables; on a database with finished records and no roll-ups yet, roll-ups cover the hours
    from the next one on (the tables answer for the earlier ones)."""
    conn.executescript(SCHEMA)
    if conn.execute("SELECT 1 FROM report_rollup_state").fetchone() is None:
        had = conn.execute("SELECT 1 FROM tracking_records WHERE finished IS NOT NULL LIMIT 1").fetchone()
        covered = math.ceil(time.time() / HOUR) * HOUR if had else 0.0
        with conn:
            conn.execute("INSERT INTO report_rollup_state VALUES (?)", (covered,))


def add_records(conn: sqlite3.Connection, records) -> None:
    """Count the finished records (records in flight count when they finish: a record finishes once)."""
    counted: Counter = Counter()
    for rec in records:
        if rec.finished is None:
            continue
        d = direction_of(rec.policies)
        hour = int(rec.received // HOUR) * HOUR
        for family in RECORD_FAMILIES:
            for key in family.of_record(rec, d):
                counted[(family.name, hour, key)] += 1
    _store(conn, counted)


def add_stops(conn: sqlite3.Connection, stops) -> None:
    """Count connection stops: (at, icid, address, domain, kind) rows of connection_events."""
    counted: Counter = Counter()
    for stop in stops:
        for key in FAMILIES["stops"].of_record(stop, ""):
            counted[("stops", int(stop[0] // HOUR) * HOUR, key)] += 1
    _store(conn, counted)


def _store(conn: sqlite3.Connection, counted: Counter) -> None:
    if not counted:
        return
    rows = Counter()
    for (family, hour, key), n in counted.items():
        for span in SPANS:
            rows[(family, span, hour // span * span, key)] += n
    conn.executemany("INSERT INTO report_rollups VALUES (?, ?, ?, ?, ?) ON CONFLICT (family, span, start, key) "
                     "DO UPDATE SET n = n + excluded.n", [(*k, n) for k, n in rows.items()])


# ---------------------------------------------------------------- reading


def counts(conn: sqlite3.Connection, family: str, since: float, until: float) -> dict[str, int]:
    """{key: n} for records received (or connections stopped) from ``since`` to ``until``, both included.

    ``conn`` is this machine's tracking database, or another source of the same counts (a cluster's:
    services/cluster_reports.ClusterCounts)."""
    if not isinstance(conn, sqlite3.Connection):
        return conn.counts(family, since, until)
    fam = FAMILIES[family]
    out: Counter = Counter()
    try:
        covered = conn.execute("SELECT covered_from FROM report_rollup_state").fetchone()
    except sqlite3.OperationalError:  # a database the daemon has not opened since roll-ups came: tables only
        covered = None
    lo = max(since, covered[0]) if covered else math.inf
    # A range ending a hair before the hour (an hour's bucket: start + 3600 - 1e-6) takes that hour whole.
    h_lo = math.ceil(lo / HOUR) * HOUR if lo != math.inf else math.inf
    h_hi = math.floor((until + CLOSE_TO_THE_HOUR) / HOUR) * HOUR
    if h_lo >= h_hi:
        _raw(conn, fam, out, f"{fam.clock} BETWEEN ? AND ?", (since, until))
        return dict(out)
    pieces = whole_pieces(h_lo, h_hi)
    # One query for all pieces, so Python sees each key once (a UNION ALL: an OR of the ranges makes SQLite
    # gather and sort the matching keys of the table first).
    union = " UNION ALL ".join(["SELECT key, n FROM report_rollups WHERE family = ? AND span = ? AND start >= ? "
                                "AND start < ?"] * len(pieces))
    for key, n in conn.execute(f"SELECT key, sum(n) FROM ({union}) GROUP BY key",
                               tuple(v for piece in pieces for v in (family, *piece))):
        out[key] += n
    _raw(conn, fam, out, f"{fam.clock} >= ? AND {fam.clock} < ?", (since, h_lo))
    _raw(conn, fam, out, f"{fam.clock} >= ? AND {fam.clock} <= ?", (h_hi, until))
    if fam.clock == "r.received":  # what is still in flight is in no roll-up yet
        _raw(conn, fam, out, "r.finished IS NULL AND r.received >= ? AND r.received < ?", (h_lo, h_hi))
    return dict(out)


def first_received(conn) -> float | None:
    """When the first message tracked was received (None: none yet)."""
    if not isinstance(conn, sqlite3.Connection):
        return conn.first_received()
    return conn.execute("SELECT min(received) FROM tracking_records").fetchone()[0]


def whole_pieces(lo: int, hi: int) -> list[tuple[int, int, int]]:
    """Whole hours [lo, hi) as (span, start, end) pieces: the longest spans in the middle, shorter ones at the
    ends (a week and a half from a Tuesday 10:00: hours, then days, a week, days, hours)."""
    pieces = []
    for shorter, longer in zip(SPANS, SPANS[1:]):
        l_lo, l_hi = math.ceil(lo / longer) * longer, math.floor(hi / longer) * longer
        if l_lo >= l_hi:
            break
        pieces += [(shorter, lo, l_lo), (shorter, l_hi, hi)]
        lo, hi = l_lo, l_hi
    else:
        shorter = SPANS[-1]
    return [p for p in pieces + [(shorter, lo, hi)] if p[1] < p[2]]


def _raw(conn, fam: Family, out: Counter, where: str, args: tuple) -> None:
    if args[0] > args[1]:
        return
    for key, n in conn.execute(fam.raw_sql.format(where=where), args):
        out[key] += n


def split(counted: dict[str, int], *prefix: str) -> dict[str, int]:
    """The counters under a key prefix, keyed by the rest: split(c, "incoming") of "incoming\\x1fDELIVERED"."""
    head = SEP.join(prefix) + SEP
    return {k[len(head):]: n for k, n in counted.items() if k.startswith(head)}
