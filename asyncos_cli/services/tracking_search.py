"""Message tracking searches and reports: views of the tracking records and connection events, nothing else.

Every search filter has an index behind it (sender, recipient, subject words
in an FTS5 table, message ID, sender IP, mail policy, time), so a search
over a million tracked messages answers in milliseconds. The storage sits
behind these functions: a shared PostgreSQL store for several gateways
would replace this module, not its callers.
"""

from __future__ import annotations

import json
import sqlite3
import time

from asyncos_cli.config.statestores import TrackingStore

from . import rollups
from .rollups import counts, split

FILTERS = ("since", "until", "sender", "recipient", "subject", "mid", "message_id", "ip", "policy", "direction")


def search(conn: sqlite3.Connection, filters: dict, limit: int = 100) -> list[dict]:
    """Finished messages matching every filter given, newest first."""
    f = {k: v for k, v in filters.items() if v not in (None, "")}
    where = _Where()
    # With a time range the received index narrows the rows first and each filter below is an index probe
    # per row (EXISTS); without one, the filter's own index drives (IN): whichever set is smaller leads.
    timed = "since" in f or "until" in f
    for key, column, cast in (("mid", "r.mid", int), ("sender", "r.sender", lambda v: str(v).lower()),
                              ("message_id", "m.message_id", str), ("ip", "m.remote_ip", str)):
        if key in f:
            where.add(f"{column} = ?", cast(f[key]))
    if "recipient" in f:
        where.add("EXISTS (SELECT 1 FROM tracking_recipients t WHERE t.mid = r.mid AND t.address = ?)" if timed
                  else "r.mid IN (SELECT mid FROM tracking_recipients WHERE address = ?)", str(f["recipient"]).lower())
    if "subject" in f:
        _subject_clause(conn, where, f, timed)
    _policy_clause(where, f, timed)
    if "since" in f:
        where.add("r.received >= ?", float(f["since"]))
    if "until" in f:
        where.add("r.received <= ?", float(f["until"]))
    rows = conn.execute(
        "SELECT r.mid, r.received, r.sender, r.recipients, r.subject, r.final_action, m.direction, m.remote_ip, "
        "m.message_id FROM tracking_records r LEFT JOIN tracking_meta m ON m.mid = r.mid "
        f"WHERE {where.sql()} ORDER BY r.mid DESC LIMIT ?", (*where.params, int(limit))).fetchall()
    return [_found(conn, row) for row in rows]


class _Where:
    """The clauses of a search and their parameters."""

    def __init__(self):
        self.clauses: list[str] = []
        self.params: list = []

    def add(self, clause: str, *params) -> None:
        self.clauses.append(clause)
        self.params += params

    def sql(self) -> str:
        return " AND ".join(self.clauses) or "1"


def _subject_clause(conn, where: _Where, f: dict, timed: bool) -> None:
    # Full-text lookups are cheap as a set, dear one row at a time. MIDs grow with time, so a time range
    # becomes a rowid range the full-text index can use directly.
    words = " ".join(f'"{w}"' for w in str(f["subject"]).replace('"', " ").split())
    if timed:
        lo, hi = conn.execute("SELECT min(mid), max(mid) FROM tracking_records WHERE received BETWEEN ? AND ?",
                              (float(f.get("since", 0)), float(f.get("until", 1e12)))).fetchone()
        where.add("r.mid IN (SELECT rowid FROM tracking_subjects WHERE tracking_subjects MATCH ? "
                  "AND rowid BETWEEN ? AND ?)", words, lo or 0, hi or 0)
    else:
        where.add("r.mid IN (SELECT rowid FROM tracking_subjects WHERE tracking_subjects MATCH ?)", words)


def _policy_clause(where: _Where, f: dict, timed: bool) -> None:
    if "policy" not in f:
        if "direction" in f:
            where.add("m.direction = ?", str(f["direction"]))
        return
    cond, params = "policy = ?", [str(f["policy"])]
    if "direction" in f:
        cond += " AND direction = ?"
        params.append(str(f["direction"]))
    where.add(f"EXISTS (SELECT 1 FROM tracking_policies p WHERE p.mid = r.mid AND {cond})" if timed
              else f"r.mid IN (SELECT mid FROM tracking_policies WHERE {cond})", *params)


def _found(conn, row) -> dict:
    mid, received, sender, rcpts, subject, action, direction, ip, msgid = row
    policies = [f"{d} {p}" for d, p in conn.execute(
        "SELECT direction, policy FROM tracking_policies WHERE mid = ?", (mid,))]
    return {"mid": mid, "received": received, "sender": sender, "recipients": json.loads(rcpts),
            "subject": subject, "final_action": action, "direction": direction, "remote_ip": ip,
            "message_id": msgid, "policies": policies}


def history(conn: sqlite3.Connection, mid: int) -> dict | None:
    row = conn.execute("SELECT record FROM tracking_records WHERE mid = ?", (int(mid),)).fetchone()
    return json.loads(row[0]) if row else None


# ---------------------------------------------------------------- reports


def _range(since: float | None, until: float | None) -> tuple[float, float]:
    return (since or 0.0), (until or time.time() + 86400)


def _stops(conn, since, until) -> dict[str, int]:
    counted = counts(conn, "stops", since, until)
    return {kind: sum(split(counted, kind).values()) for kind in ("ip_reputation", "domain_reputation")}


def _actions(conn, since, until, direction: str) -> dict[str, int]:
    return split(counts(conn, "actions", since, until), direction)


class Verdicts:
    """Messages each stage gave each verdict, one direction (the Incoming Mail Summary counts incoming mail)."""

    def __init__(self, conn, since, until, direction: str = "incoming"):
        self._counted = split(counts(conn, "verdicts", since, until), direction)

    def __call__(self, stage: str, *verdicts: str) -> int:
        return sum(self._counted.get(rollups.SEP.join((stage, v)), 0) for v in verdicts)


def _dlp_messages(conn, since, until, *directions: str) -> int:
    counted = counts(conn, "dlp_messages", since, until)
    return sum(counted.get(d, 0) for d in directions)


def overview(conn, since=None, until=None) -> dict:
    """The Overview report: the incoming mail summary with IP and domain reputation stops apart."""
    since, until = _range(since, until)
    stops = _stops(conn, since, until)
    incoming = _actions(conn, since, until, "incoming")
    outgoing = _actions(conn, since, until, "outgoing")
    verdict = Verdicts(conn, since, until)
    summary = {
        "Stopped by IP Reputation Filtering": stops["ip_reputation"],
        "Stopped by Domain Reputation Filtering": stops["domain_reputation"],
        "Spam Detected": verdict("antispam", "POSITIVE", "SUSPECT"),
        "Virus Detected": verdict("antivirus", "POSITIVE"),
        "Detected by Advanced Malware Protection": verdict("file_reputation", "MALICIOUS"),
        "Messages with Malicious URLs": verdict("url_scanning", "POSITIVE"),
        "Stopped by Content Filter": verdict("content_filters", "MATCH"),
        "Quarantined": incoming.get("QUARANTINED", 0),
        "Dropped": incoming.get("DROPPED", 0),
        "Bounced": incoming.get("BOUNCED", 0),
        "Clean Messages (delivered)": incoming.get("DELIVERED", 0),
    }
    dlp = _dlp_messages(conn, since, until, "incoming", "outgoing")
    total = sum(incoming.values()) + stops["ip_reputation"] + stops["domain_reputation"]
    return {"report": "Overview", "since": since, "until": until, "Incoming Mail Summary": summary,
            "Total Attempted Messages": total, "Outgoing Messages": sum(outgoing.values()),
            "Outgoing DLP Incidents": dlp}


def incoming_details(conn, since=None, until=None, limit: int = 20) -> dict:
    """Incoming Mail Details: per sending domain and per sender IP, with the reputation stops apart."""
    since, until = _range(since, until)
    domains: dict[str, dict] = {}
    for key, n in counts(conn, "domains", since, until).items():
        domain, _, action = key.rpartition(rollups.SEP)
        row = domains.setdefault(domain or "(null sender)", _empty_row())
        row["Total Attempted"] += n
        row["Clean" if action == "DELIVERED" else "Other Verdicts"] += n
    ips: dict[str, dict] = {}
    for key, n in counts(conn, "stops", since, until).items():
        kind, address, domain = key.split(rollups.SEP)
        column = ("Stopped by IP Reputation Filtering" if kind == "ip_reputation"
                  else "Stopped by Domain Reputation Filtering")
        for name, table in ((address or "(unknown)", ips), (domain, domains)):
            if name:
                row = table.setdefault(name, _empty_row())
                row[column] += n
                row["Total Attempted"] += n
    for ip, n in counts(conn, "ips", since, until).items():
        row = ips.setdefault(ip or "(unknown)", _empty_row())
        row["Total Attempted"] += n
        row["Clean"] += n
    top = lambda t: dict(sorted(t.items(), key=lambda kv: -kv[1]["Total Attempted"])[:limit])  # noqa: E731
    return {"report": "Incoming Mail Details", "since": since, "until": until, "Sender Domains": top(domains),
            "Sender IP Addresses": top(ips), "DMARC Verification": dmarc_summary(conn, since, until)}


#: The DMARC results of incoming mail, as the report shows them.
DMARC_ROWS = {"Passed": ("PASS",), "Failed": ("FAIL",), "No DMARC record": ("NONE",),
              "Errors": ("TEMPERROR", "PERMERROR")}


def dmarc_summary(conn, since, until) -> dict[str, int]:
    verdict = Verdicts(conn, since, until)
    return {row: verdict("dmarc", *verdicts) for row, verdicts in DMARC_ROWS.items()}


def _empty_row() -> dict:
    return {"Stopped by IP Reputation Filtering": 0, "Stopped by Domain Reputation Filtering": 0, "Clean": 0,
            "Other Verdicts": 0, "Total Attempted": 0}


def mail_flow(conn, since=None, until=None) -> dict:
    """Mail Flow Summary: the Threat Detection Summary and the Threat Messages graph (hour by hour for two days
    or less, day by day beyond), with the reputation split."""
    report = overview(conn, since, until)
    since, until = report["since"], report["until"]
    threats = _threats(report)
    end = min(until, time.time())
    begin = since
    if not since:  # no start given: from the first message tracked
        first = rollups.first_received(conn)
        begin = first if first is not None else end
    span = 3600 if end - begin <= 2 * 86400 else 86400
    begin = max(begin, end - 400 * span)  # an unbounded range draws its last 400 days
    graph = {}
    start = begin // span * span
    while start <= end:
        label = time.strftime("%Y-%m-%d %H:00" if span == 3600 else "%Y-%m-%d", time.gmtime(start))
        graph[label] = _threats(overview(conn, max(since, start), min(until, start + span - 1e-6)))
        start += span
    return {"report": "Mail Flow Summary", "since": since, "until": until,
            "Threat Detection Summary": threats,
            "Clean Messages": report["Incoming Mail Summary"]["Clean Messages (delivered)"],
            "Total Threat Messages": sum(threats.values()), "Threat Messages": graph}


def _threats(report: dict) -> dict:
    return {k: v for k, v in report["Incoming Mail Summary"].items() if not k.startswith("Clean")}


def mail_policy_details(conn, since=None, until=None) -> dict:
    """The Mail Policy Details report (new in 14.0): messages matching each mail policy, in and out."""
    since, until = _range(since, until)
    out: dict = {"incoming": {}, "outgoing": {}}
    for key, n in counts(conn, "policies", since, until).items():
        direction, policy, action = key.split(rollups.SEP)
        row = out.setdefault(direction, {}).setdefault(policy, {"Messages": 0, "Delivered": 0, "Quarantined": 0,
                                                                "Dropped or Bounced": 0})
        row["Messages"] += n
        column = {"DELIVERED": "Delivered", "QUARANTINED": "Quarantined", "DROPPED": "Dropped or Bounced",
                  "BOUNCED": "Dropped or Bounced"}.get(action)
        if column:
            row[column] += n
    for direction in out:
        out[direction] = dict(sorted(out[direction].items(), key=lambda kv: -kv[1]["Messages"]))
    return {"report": "Mail Policy Details", "since": since, "until": until, **out}


def mail_flow_details(conn, since=None, until=None, limit: int = 20) -> dict:
    """Mail Flow Details: the threat categories per sender domain (incoming), with the reputation split."""
    since, until = _range(since, until)
    rows: dict[str, dict] = {}

    def row(key: str) -> dict:
        return rows.setdefault(key, {"Stopped by IP Reputation Filtering": 0,
                                     "Stopped by Domain Reputation Filtering": 0, "Quarantined": 0, "Dropped": 0,
                                     "Bounced": 0, "Clean": 0, "Total": 0})

    for key, n in counts(conn, "domains", since, until).items():
        domain, _, action = key.rpartition(rollups.SEP)
        r = row(domain or "(null sender)")
        column = {"DELIVERED": "Clean", "QUARANTINED": "Quarantined", "DROPPED": "Dropped",
                  "BOUNCED": "Bounced"}.get(action)
        if column:
            r[column] += n
        r["Total"] += n
    for key, n in counts(conn, "stops", since, until).items():
        kind, address, domain = key.split(rollups.SEP)
        r = row(domain or f"(address {address or 'unknown'})")
        r["Stopped by IP Reputation Filtering" if kind == "ip_reputation"
          else "Stopped by Domain Reputation Filtering"] += n
        r["Total"] += n
    top = dict(sorted(rows.items(), key=lambda kv: -kv[1]["Total"])[:limit])
    return {"report": "Mail Flow Details", "since": since, "until": until, "Senders": top}


#: The reports `report` prints and the web interface shows, by their shell names.
REPORT_VIEWS = {"overview": overview, "incoming": incoming_details, "mail-flow": mail_flow,
                "mail-flow-details": mail_flow_details, "mail-policy": mail_policy_details}


class SQLiteTrackingStore(TrackingStore):
    """The embedded backend of message tracking: the tracking tables of the data directory's database."""

    def __init__(self, conn: sqlite3.Connection):
        from .tracking import _SCHEMA

        self._conn = conn
        self._conn.executescript(_SCHEMA)
        # Tracking is state, not mail: it may lose the last fraction of a second in a
        # power cut, so it skips the per-commit fsync and is written in batches.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        rollups.ensure(self._conn)

    def write(self, records: list, connection_stops: list = ()) -> None:
        from .tracking import write_records

        with self._conn:
            self._conn.execute("BEGIN")
            write_records(self._conn, records)
            self._conn.executemany("INSERT INTO connection_events VALUES (?, ?, ?, ?, ?)", connection_stops)
            rollups.add_stops(self._conn, connection_stops)

    def stored(self, mid: int) -> dict | None:
        row = self._conn.execute("SELECT record FROM tracking_records WHERE mid = ?", (mid,)).fetchone()
        return None if row is None else json.loads(row[0])

    def stored_by_message_id(self, message_id: str) -> list[tuple[int, dict]]:
        return [(mid, json.loads(record)) for mid, record in self._conn.execute(
            "SELECT r.mid, r.record FROM tracking_records r JOIN tracking_meta m ON m.mid = r.mid "
            "WHERE m.message_id = ?", (message_id,))]

    def update(self, mid: int, data: dict) -> None:
        with self._conn:
            self._conn.execute("UPDATE tracking_records SET record = ? WHERE mid = ?",
                               (json.dumps(data, sort_keys=True), mid))

    def finished_count(self) -> int:
        """A scan of the table: on a connection of its own, so a thread may run it beside the writer."""
        path = self._conn.execute("PRAGMA database_list").fetchone()[2]
        if not path:  # an in-memory database (tests): there is only this connection
            return self._conn.execute("SELECT count(*) FROM tracking_records WHERE finished IS NOT NULL").fetchone()[0]
        conn = sqlite3.connect(path, timeout=15)
        try:
            return conn.execute("SELECT count(*) FROM tracking_records WHERE finished IS NOT NULL").fetchone()[0]
        finally:
            conn.close()

    def search(self, filters: dict, limit: int = 100) -> list[dict]:
        return search(self._conn, filters, limit)

    def history(self, mid: int) -> dict | None:
        return history(self._conn, mid)

    def report(self, kind: str, since: float | None = None, until: float | None = None) -> dict:
        return REPORT_VIEWS[kind](self._conn, since, until)

    def close(self) -> None:
        self._conn.close()


# ---------------------------------------------------------------- the API's search (operators, paging, counts)

#: Text matches the API offers: (SQL over a lower-cased column given as {c}, how the value is written).
_TEXT_OPS = {
    "is": ("{c} = ?", lambda v: v),
    "begins_with": ("({c} >= ? AND {c} < ?)", None),  # a range, so the column's index serves it
    "contains": ("instr({c}, ?) > 0", lambda v: v),
    "does_not_contain": ("instr({c}, ?) = 0", lambda v: v),
}


def _text_clause(column: str, op: str, value: str) -> tuple[str, list]:
    value = value.lower()
    template, form = _TEXT_OPS[op]
    params = [value, value + "\U0010ffff"] if form is None else [form(value)]
    return template.format(c=column), params


def api_search(conn: sqlite3.Connection, c: dict, offset: int = 0, limit: int = 20,
               newest_first: bool = True) -> tuple[list[dict], int]:
    """Tracked messages matching the criteria ``c`` (keys below), a page of them and how many match in all.

    ``c``: since, until, sender / recipient / subject / attachment as (operator, value), sha256, ip, message_id,
    policy, direction,
    mids, icids, quarantined (a quarantine name or "" for any), dlp_severities, sbrs_range (low, high).
    """
    where = _Where()
    if "since" in c:
        where.add("r.received >= ?", float(c["since"]))
    if "until" in c:
        where.add("r.received < ?", float(c["until"]))
    if "sender" in c:
        where.add(*_flat(_text_clause("r.sender", *c["sender"])))
    if "recipient" in c:
        op, value = c["recipient"]
        negate = op == "does_not_contain"  # no recipient contains it (not: some recipient lacks it)
        clause, params = _text_clause("t.address", "contains" if negate else op, value)
        if op in ("is", "begins_with"):
            # The address index gives the few MIDs at once; probing it row by row over a month is slow.
            where.add(f"r.mid IN (SELECT t.mid FROM tracking_recipients t WHERE {clause})", *params)
        else:
            where.add(f"{'NOT ' if negate else ''}EXISTS (SELECT 1 FROM tracking_recipients t WHERE "
                      f"t.mid = r.mid AND {clause})", *params)
    if "subject" in c:
        where.add(*_flat(_text_clause("lower(r.subject)", *c["subject"])))
    if "attachment" in c:  # top-level attachments: [name, decoded size, SHA-256]
        op, value = c["attachment"]
        negate = op == "does_not_contain"
        clause, params = _text_clause("lower(json_extract(a.value, '$[0]'))", "contains" if negate else op, value)
        where.add(f"{'NOT ' if negate else ''}EXISTS (SELECT 1 FROM json_each(r.record, '$.attachments') a "
                  f"WHERE {clause})", *params)
    if "sha256" in c:
        where.add("EXISTS (SELECT 1 FROM json_each(r.record, '$.attachments') a "
                  "WHERE lower(json_extract(a.value, '$[2]')) = ?)", c["sha256"])
    for key, column in (("ip", "m.remote_ip"), ("message_id", "m.message_id"), ("direction", "m.direction")):
        if key in c:
            where.add(f"{column} = ?", c[key])
    if "policy" in c:
        cond, params = "p.policy = ?", [c["policy"]]
        if "direction" in c:
            cond, params = cond + " AND p.direction = ?", params + [c["direction"]]
        where.add(f"EXISTS (SELECT 1 FROM tracking_policies p WHERE p.mid = r.mid AND {cond})", *params)
    for key, column in (("mids", "r.mid"), ("icids", "r.icid")):
        if c.get(key):
            where.add(f"{column} IN ({','.join('?' * len(c[key]))})", *[int(v) for v in c[key]])
    if "quarantined" in c:
        where.add("r.final_action = 'QUARANTINED'")
        if c["quarantined"]:
            where.add("instr(lower(json_extract(r.record, '$.final_detail')), ?) > 0", c["quarantined"].lower())
    if c.get("dlp_severities"):
        marks = ",".join("?" * len(c["dlp_severities"]))
        where.add(f"EXISTS (SELECT 1 FROM json_each(r.record, '$.dlp') d WHERE "
                  f"upper(json_extract(d.value, '$.severity')) IN ({marks}))", *[s.upper() for s in c["dlp_severities"]])
    if "sbrs_range" in c:
        low, high = c["sbrs_range"]
        where.add("CAST(json_extract(r.record, '$.sbrs') AS REAL) BETWEEN ? AND ? "
                  "AND json_extract(r.record, '$.sbrs') NOT IN ('None', '')", low, high)
    sql_from = f"FROM tracking_records r LEFT JOIN tracking_meta m ON m.mid = r.mid WHERE {where.sql()}"
    total = conn.execute(f"SELECT count(*) {sql_from}", where.params).fetchone()[0]
    order = "DESC" if newest_first else "ASC"
    # By time then MID: the received index holds both (a rowid ends every index), so a time range is read in
    # order from it; ordering by MID alone walks the whole table back from the newest message.
    rows = conn.execute(f"SELECT r.record, m.direction {sql_from} ORDER BY r.received {order}, r.mid {order} "
                        "LIMIT ? OFFSET ?",
                        (*where.params, int(limit), int(offset))).fetchall()
    found = []
    for record, direction in rows:
        data = json.loads(record)
        data["direction"] = direction or "incoming"
        found.append(data)
    return found, total


def _flat(pair: tuple[str, list]) -> tuple:
    clause, params = pair
    return (clause, *params)
