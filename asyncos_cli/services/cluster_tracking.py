"""Message tracking across a cluster: each machine ships its finished tracking records into the cluster's
PostgreSQL (``cluster_tracking``, one row per machine and MID), and `findevent` on any machine searches them all,
each result naming its machine.

Every machine keeps its own records too (reports and the web interface read those); the shipped copy is what a
cluster-wide search reads. Every filter has an index (sender, recipients and policies as arrays under GIN, the
subject's words under a full-text GIN index, message ID, sender IP, time).
"""

from __future__ import annotations

import json
import sqlite3

from asyncos_cli.config.cluster import ClusterTable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cluster_tracking (
    machine TEXT NOT NULL,
    mid BIGINT NOT NULL,
    received DOUBLE PRECISION NOT NULL,
    finished DOUBLE PRECISION NOT NULL,
    sender TEXT NOT NULL,
    recipients TEXT[] NOT NULL,
    subject TEXT NOT NULL,
    final_action TEXT,
    direction TEXT,
    remote_ip TEXT,
    message_id TEXT,
    policies TEXT[] NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (machine, mid)
);
CREATE INDEX IF NOT EXISTS cluster_tracking_received ON cluster_tracking (received);
CREATE INDEX IF NOT EXISTS cluster_tracking_sender ON cluster_tracking (sender);
CREATE INDEX IF NOT EXISTS cluster_tracking_sender_prefix ON cluster_tracking (sender text_pattern_ops);
CREATE INDEX IF NOT EXISTS cluster_tracking_message_id ON cluster_tracking (message_id);
CREATE INDEX IF NOT EXISTS cluster_tracking_ip ON cluster_tracking (remote_ip);
CREATE INDEX IF NOT EXISTS cluster_tracking_recipients ON cluster_tracking USING gin (recipients);
CREATE INDEX IF NOT EXISTS cluster_tracking_policies ON cluster_tracking USING gin (policies);
CREATE INDEX IF NOT EXISTS cluster_tracking_subject ON cluster_tracking USING gin (to_tsvector('simple', subject));
"""
#: Records shipped per round (a machine that was away catches up over several rounds).
SHIP_BATCH = 2000


class ClusterTracking(ClusterTable):
    SCHEMA = _SCHEMA

    # ------------------------------------------------------------ shipping

    def shipped_until(self, machine: str) -> float:
        return self.conn.execute("SELECT coalesce(max(finished), 0) FROM cluster_tracking WHERE machine = %s",
                                 (machine,)).fetchone()[0]

    def ship(self, machine: str, local: sqlite3.Connection) -> list[float]:
        """This machine's records finished since the last round (and those finished at that same moment again:
        the upsert makes that harmless). Returns when each shipped record was received."""
        since = self.shipped_until(machine)
        rows = local.execute(
            "SELECT r.mid, r.received, r.finished, r.sender, r.recipients, r.subject, r.final_action, m.direction, "
            "m.remote_ip, m.message_id, r.record FROM tracking_records r LEFT JOIN tracking_meta m ON m.mid = r.mid "
            "WHERE r.finished IS NOT NULL AND r.finished >= ? ORDER BY r.finished LIMIT ?",
            (since, SHIP_BATCH)).fetchall()
        if not rows:
            return []
        policies: dict[int, list[str]] = {}
        marks = ",".join("?" * len(rows))
        for mid, direction, policy in local.execute(
                f"SELECT mid, direction, policy FROM tracking_policies WHERE mid IN ({marks})", [r[0] for r in rows]):
            policies.setdefault(mid, []).append(f"{direction} {policy}")
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO cluster_tracking VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (machine, mid) DO UPDATE SET finished = EXCLUDED.finished, "
                "final_action = EXCLUDED.final_action, policies = EXCLUDED.policies, record = EXCLUDED.record",
                [(machine, mid, received, finished, sender, [a.lower() for a in json.loads(rcpts)], subject, action,
                  direction, ip, msgid, policies.get(mid, []), record)
                 for mid, received, finished, sender, rcpts, subject, action, direction, ip, msgid, record in rows])
        return [r[1] for r in rows]

    # ------------------------------------------------------------ searching

    def search(self, filters: dict, limit: int = 100) -> list[dict]:
        """Finished messages of every machine matching every filter given (findevent's, and ``machine`` or
        ``other_than`` a machine), newest first."""
        f = {k: v for k, v in filters.items() if v not in (None, "")}
        clauses, params = [], []

        def add(clause: str, *values) -> None:
            clauses.append(clause)
            params.extend(values)

        for key, column, cast in (("mid", "mid", int), ("sender", "sender", lambda v: str(v).lower()),
                                  ("message_id", "message_id", str), ("ip", "remote_ip", str),
                                  ("direction", "direction", str), ("machine", "machine", str)):
            if key in f:
                add(f"{column} = %s", cast(f[key]))
        if "other_than" in f:
            add("machine <> %s", str(f["other_than"]))
        if "recipient" in f:
            add("recipients @> ARRAY[%s]::text[]", str(f["recipient"]).lower())
        if "subject" in f:
            add("to_tsvector('simple', subject) @@ plainto_tsquery('simple', %s)", str(f["subject"]))
        if "policy" in f:
            wanted = [f"{d} {f['policy']}" for d in ((f["direction"],) if "direction" in f
                                                    else ("incoming", "outgoing"))]
            add("policies && %s::text[]", wanted)
        if "since" in f:
            add("received >= %s", float(f["since"]))
        if "until" in f:
            add("received <= %s", float(f["until"]))
        rows = self.conn.execute(
            "SELECT machine, mid, received, sender, recipients, subject, final_action, direction, remote_ip, "
            f"message_id, policies FROM cluster_tracking WHERE {' AND '.join(clauses) or 'true'} "
            "ORDER BY received DESC LIMIT %s", (*params, int(limit))).fetchall()
        return [{"machine": r[0], "mid": r[1], "received": r[2], "sender": r[3], "recipients": list(r[4]),
                 "subject": r[5], "final_action": r[6], "direction": r[7], "remote_ip": r[8], "message_id": r[9],
                 "policies": list(r[10])} for r in rows]

    def history(self, machine: str, mid: int) -> dict | None:
        row = self.conn.execute("SELECT record FROM cluster_tracking WHERE machine = %s AND mid = %s",
                                (machine, int(mid))).fetchone()
        return json.loads(row[0]) if row else None

    # ------------------------------------------------------------ the API's search

    def api_search(self, c: dict, offset: int, limit: int, newest_first: bool,
                   machines: list[str]) -> tuple[list[dict], int]:
        """services.tracking_search.api_search over these machines' shipped records: a page of records, each with
        its ``machine`` and ``direction``, and how many match in all."""
        clauses, params = ["machine = ANY(%s)"], [list(machines)]

        def add(clause: str, *values) -> None:
            clauses.append(clause)
            params.extend(values)

        if "since" in c:
            add("received >= %s", float(c["since"]))
        if "until" in c:
            add("received < %s", float(c["until"]))
        if "sender" in c:  # stored in lower case (as each machine's tracking keeps it): its indexes serve
            add(*_text("sender", *c["sender"]))
        if "subject" in c:
            add(*_text("lower(subject)", *c["subject"]))
        if "recipient" in c:
            op, value = c["recipient"]
            negate = op == "does_not_contain"
            if op == "is":
                add("recipients @> ARRAY[%s]::text[]", value.lower())  # the GIN index
            else:
                clause, *values = _text("a", "contains" if negate else op, value)
                add(f"{'NOT ' if negate else ''}EXISTS (SELECT 1 FROM unnest(recipients) a WHERE {clause})",
                    *values)
        if "attachment" in c:
            op, value = c["attachment"]
            negate = op == "does_not_contain"
            clause, *values = _text("lower(a->>0)", "contains" if negate else op, value)
            add(f"{'NOT ' if negate else ''}EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(record::jsonb->"
                f"'attachments', '[]')) a WHERE {clause})", *values)
        if "sha256" in c:
            add("EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(record::jsonb->'attachments', '[]')) a "
                "WHERE lower(a->>2) = %s)", c["sha256"])
        for key, column in (("ip", "remote_ip"), ("message_id", "message_id"), ("direction", "direction")):
            if key in c:
                add(f"{column} = %s", c[key])
        if "policy" in c:
            directions = (c["direction"],) if "direction" in c else ("incoming", "outgoing")
            add("policies && %s::text[]", [f"{d} {c['policy']}" for d in directions])
        if c.get("mids"):
            add("mid = ANY(%s)", [int(v) for v in c["mids"]])
        if c.get("icids"):
            add("(record::jsonb->>'icid')::bigint = ANY(%s)", [int(v) for v in c["icids"]])
        if "quarantined" in c:
            add("final_action = 'QUARANTINED'")
            if c["quarantined"]:
                add("strpos(lower(record::jsonb->>'final_detail'), %s) > 0", c["quarantined"].lower())
        if c.get("dlp_severities"):
            add("EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(record::jsonb->'dlp', '[]')) d "
                "WHERE upper(d->>'severity') = ANY(%s))", [s.upper() for s in c["dlp_severities"]])
        if "sbrs_range" in c:
            add("CASE WHEN record::jsonb->>'sbrs' ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN (record::jsonb->>'sbrs')::float "
                "END BETWEEN %s AND %s", *c["sbrs_range"])
        where = " AND ".join(clauses)
        total = self.conn.execute(f"SELECT count(*) FROM cluster_tracking WHERE {where}", params).fetchone()[0]
        order = "DESC" if newest_first else "ASC"
        rows = self.conn.execute(
            f"SELECT machine, direction, record FROM cluster_tracking WHERE {where} "
            f"ORDER BY received {order}, mid {order} LIMIT %s OFFSET %s", (*params, int(limit), int(offset)))
        found = []
        for machine, direction, record in rows:
            data = json.loads(record)
            data.update(machine=machine, direction=direction or "incoming")
            found.append(data)
        return found, total


def _text(column: str, op: str, value: str) -> tuple:
    """The API's text operators (services.tracking_search._TEXT_OPS) in PostgreSQL: (clause, value)."""
    value = value.lower()
    prefix = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return {"is": (f"{column} = %s", value), "begins_with": (f"{column} LIKE %s", prefix),
            "contains": (f"strpos({column}, %s) > 0", value),
            "does_not_contain": (f"strpos({column}, %s) = 0", value)}[op]
