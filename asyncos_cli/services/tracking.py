"""The per-message tracking record: one record that every stage adds to.

Logs, tracking search, reports and the consolidated event log are all views
of this record. The service builds records from events on the bus; a record
is persisted (state, not configuration) when the message's fate is known.
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass, field

from asyncos_cli.events import Event, EventBus
from asyncos_cli.events.engines import AmpFileVerdict
from asyncos_cli.events.mail import (
    AttachmentsFound,
    AttachmentUnlocked,
    AttachmentUrl,
    DeliveryStarted,
    DeliveryTls,
    DlpViolation,
    MessageAuthenticated,
    MessageFinished,
    MessageReceived,
    MessageSplit,
    PolicyMatched,
    QuarantineDeleted,
    QuarantineReleased,
    SdrConsolidated,
    SdrVerdict,
    SmtpConnected,
    SmtpPolicyApplied,
    SmtpTls,
    StageVerdict,
)

from . import rollups

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tracking_records (
    mid INTEGER PRIMARY KEY,
    icid INTEGER,
    received REAL NOT NULL,
    finished REAL,
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    final_action TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tracking_received ON tracking_records(received);
CREATE INDEX IF NOT EXISTS tracking_sender ON tracking_records(sender);
CREATE TABLE IF NOT EXISTS tracking_meta (
    mid INTEGER PRIMARY KEY,
    direction TEXT NOT NULL,
    remote_ip TEXT NOT NULL,
    message_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tracking_meta_ip ON tracking_meta(remote_ip);
CREATE INDEX IF NOT EXISTS tracking_meta_msgid ON tracking_meta(message_id);
CREATE TABLE IF NOT EXISTS tracking_recipients (mid INTEGER NOT NULL, address TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tracking_recipients_address ON tracking_recipients(address, mid);
CREATE INDEX IF NOT EXISTS tracking_recipients_mid ON tracking_recipients(mid);
CREATE TABLE IF NOT EXISTS tracking_policies (mid INTEGER NOT NULL, direction TEXT NOT NULL, policy TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tracking_policies_policy ON tracking_policies(policy, direction, mid);
CREATE INDEX IF NOT EXISTS tracking_policies_mid ON tracking_policies(mid);
CREATE VIRTUAL TABLE IF NOT EXISTS tracking_subjects USING fts5(subject, content='');
CREATE TABLE IF NOT EXISTS connection_events (
    at REAL NOT NULL,
    icid INTEGER NOT NULL,
    address TEXT NOT NULL,
    domain TEXT NOT NULL,
    kind TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS connection_events_at ON connection_events(at);
""" + rollups.SCHEMA


@dataclass
class TrackingRecord:
    mid: int
    icid: int
    received: float
    sender: str
    recipients: tuple[str, ...]
    size: int
    subject: str = ""
    message_id: str = ""
    #: stage name -> {"verdict": ..., "detail": ...}, in pipeline order.
    verdicts: dict = field(default_factory=dict)
    final_action: str | None = None
    final_detail: str = ""
    finished: float | None = None
    #: URLs found in attachments: {"url", "attachment", "verdict", "source"}.
    urls: list = field(default_factory=list)
    #: Protected attachments opened: {"attachment", "by", "protection"} (never the passphrase).
    unlocked: list = field(default_factory=list)
    #: Set on a message that the per-policy split created: the MID it came from.
    split_from: int | None = None
    #: DLP incidents (ESADLPVerdict): policy, severity, risk factor, action, masked matches.
    dlp: list = field(default_factory=list)
    #: The mail policies the recipients matched: "incoming DEFAULT", "incoming CLICKERS", ...
    policies: list = field(default_factory=list)
    #: Top-level attachments: [name, decoded size, SHA-256].
    attachments: list = field(default_factory=list)
    #: The connection's sender group and IP reputation score (SBRS), from the host access table.
    sender_group: str = ""
    sbrs: str = "None"
    remote_ip: str = ""
    #: File reputation answers: {"file", "sha256", "verdict", "threat"} (ESAAttachmentDetails' AMP entries).
    amp: list = field(default_factory=list)
    #: Web Interaction Tracking: {"recipient", "url", "at", "action"} for clicks on the message's rewritten URLs.
    clicks: list = field(default_factory=list)
    #: Releases and deletions from a quarantine: {"action", "quarantine", "at", "by"[, "new_mid"]}.
    quarantine_actions: list = field(default_factory=list)
    #: Where it came from, for the Consolidated Event Log: the listener, the interface's address, the reverse
    #: DNS host, the mail flow policy's action, the HELO name, the From and Reply-To headers, TLS in
    #: ({"protocol", "cipher"}), the sender domain's maturity in days.
    listener: str = ""
    interface_ip: str = ""
    rdns_host: str = ""
    mail_flow_policy: str = ""
    helo: str = ""
    friendly_from: str = ""
    reply_to: str = ""
    tls_in: dict = field(default_factory=dict)
    sender_maturity: int | None = None
    #: The last delivery connection that carried it, and its TLS ({"protocol", "cipher"}).
    dcid: int | None = None
    tls_out: dict = field(default_factory=dict)

    def to_json(self) -> str:
        # The fields hold JSON's own types already: no dataclasses.asdict deep copy (a sixth of a message's
        # cost in the relay's loop under load).
        return json.dumps(vars(self), sort_keys=True)


#: What a record knows of the connection that brought it (a split copy has the same).
_CONNECTION_FACTS = ("sender_group", "sbrs", "remote_ip", "listener", "interface_ip", "rdns_host", "mail_flow_policy",
                     "helo", "friendly_from", "reply_to", "tls_in", "sender_maturity", "attachments")


class TrackingService:
    """Keeps records of messages in flight in memory and writes finished ones to the database."""

    def __init__(self, store, in_flight_limit: int = 100_000):
        from .tracking_search import SQLiteTrackingStore

        #: The records' store (config.statestores.TrackingStore); a SQLite connection gets the embedded one.
        self._store = SQLiteTrackingStore(store) if isinstance(store, sqlite3.Connection) else store
        self._live: OrderedDict[int, TrackingRecord] = OrderedDict()
        self._finished_total: int | None = None
        self._finished_since_count = 0
        self._unwritten: dict[int, TrackingRecord] = {}
        self._limit = in_flight_limit
        #: ICID -> (sender group, SBRS), for the records of the messages those connections bring.
        self._connections: dict[int, tuple[str, str]] = {}
        self._addresses: dict[int, str] = {}
        #: ICID -> what the connection says of itself (listener, interface address, host, policy action, TLS).
        self._sessions: dict[int, dict] = {}
        #: DCID -> its TLS, and the MIDs it carries (a delivery's TLS may be logged before or after its start).
        self._deliveries: dict[int, tuple[dict, list[int]]] = {}
        #: Connections and senders stopped by IP or domain reputation, for the reports (written on flush).
        self._stops: list[tuple] = []

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(MessageReceived, self._received)
        bus.subscribe(StageVerdict, self._verdict)
        bus.subscribe(MessageAuthenticated, self._authenticated)
        bus.subscribe(MessageFinished, self._finished)
        bus.subscribe(AttachmentUrl, self._url)
        bus.subscribe(AttachmentUnlocked, self._unlocked)
        bus.subscribe(MessageSplit, self._split)
        bus.subscribe(DlpViolation, self._dlp)
        bus.subscribe(PolicyMatched, self._policy)
        bus.subscribe(AttachmentsFound, self._attachments)
        bus.subscribe(QuarantineReleased, self._quarantine_action)
        bus.subscribe(QuarantineDeleted, self._quarantine_action)
        bus.subscribe(SmtpPolicyApplied, self._connection)
        bus.subscribe(SmtpConnected, self._connected)
        bus.subscribe(SdrVerdict, self._sdr)
        bus.subscribe(AmpFileVerdict, self._amp)
        bus.subscribe(SmtpTls, self._tls_in)
        bus.subscribe(DeliveryStarted, self._delivery)
        bus.subscribe(DeliveryTls, self._tls_out)
        bus.subscribe(SdrConsolidated, self._maturity)

    def _session(self, icid: int) -> dict:
        info = self._sessions.get(icid)
        if info is None:
            info = self._sessions[icid] = {}
            while len(self._sessions) > 10_000:
                self._sessions.pop(next(iter(self._sessions)))
        return info

    def _tls_in(self, e: Event) -> None:
        assert isinstance(e, SmtpTls)
        self._session(e.icid)["tls"] = {"protocol": e.protocol, "cipher": e.cipher}

    def _delivery(self, e: Event) -> None:
        assert isinstance(e, DeliveryStarted)
        tls, mids = self._deliveries.setdefault(e.dcid, ({}, []))
        mids.append(e.mid)
        while len(self._deliveries) > 10_000:
            self._deliveries.pop(next(iter(self._deliveries)))
        rec = self._live.get(e.mid)
        if rec is not None:
            rec.dcid, rec.tls_out = e.dcid, dict(tls)

    def _tls_out(self, e: Event) -> None:
        assert isinstance(e, DeliveryTls)
        tls, mids = self._deliveries.setdefault(e.dcid, ({}, []))
        tls.update({"protocol": e.protocol, "cipher": e.cipher})
        for mid in mids:
            rec = self._live.get(mid)
            if rec is not None and rec.dcid == e.dcid:
                rec.tls_out = dict(tls)

    def _maturity(self, e: Event) -> None:
        assert isinstance(e, SdrConsolidated)
        rec = self._live.get(e.mid)
        if rec is not None:
            rec.sender_maturity = e.maturity_days

    def _amp(self, e: Event) -> None:
        assert isinstance(e, AmpFileVerdict)
        rec = self._live.get(e.mid)
        if rec is not None:
            rec.amp.append({"file": e.name, "sha256": e.sha256, "verdict": e.verdict, "threat": e.threat})

    def _connected(self, e: Event) -> None:
        assert isinstance(e, SmtpConnected)
        self._addresses[e.icid] = e.address
        self._session(e.icid).update(listener=e.listener, interface_ip=e.interface_ip,
                                     host=e.host if e.verified else "unknown")
        while len(self._addresses) > 10_000:
            self._addresses.pop(next(iter(self._addresses)))

    def _sdr(self, e: Event) -> None:
        assert isinstance(e, SdrVerdict)
        if e.refused:
            self._stops.append((e.at, e.icid, self._addresses.get(e.icid, ""), e.domain, "domain_reputation"))

    def _connection(self, e: Event) -> None:
        assert isinstance(e, SmtpPolicyApplied)
        self._connections[e.icid] = (e.group, e.sbrs)
        self._session(e.icid)["policy"] = e.action.upper()
        if e.action in ("reject", "tcprefuse") and e.match.startswith("SBRS"):
            self._stops.append((e.at, e.icid, self._addresses.get(e.icid, ""), "", "ip_reputation"))
        while len(self._connections) > 10_000:
            self._connections.pop(next(iter(self._connections)))

    def _attachments(self, e: Event) -> None:
        assert isinstance(e, AttachmentsFound)
        rec = self._live.get(e.mid)
        if rec is not None:
            rec.attachments = [list(a) for a in e.attachments]

    def _policy(self, e: Event) -> None:
        assert isinstance(e, PolicyMatched)
        rec = self._live.get(e.mid)
        if rec is not None and f"{e.direction} {e.policy}" not in rec.policies:
            rec.policies.append(f"{e.direction} {e.policy}")

    def _dlp(self, e: Event) -> None:
        assert isinstance(e, DlpViolation)
        rec = self._live.get(e.mid)
        if rec is not None:
            rec.dlp.append({"policy": e.policy, "severity": e.severity.upper(), "risk_factor": e.risk_factor,
                            "action": e.action, "ESADLPVerdict": "VIOLATION",
                            "matches": [{"classifier": c, "confidence": conf, "masked": m, "where": w}
                                        for c, conf, m, w in e.matches]})

    def _url(self, e: Event) -> None:
        assert isinstance(e, AttachmentUrl)
        rec = self._live.get(e.mid)
        if rec is not None:
            rec.urls.append({"url": e.url, "attachment": e.attachment, "verdict": e.verdict, "source": e.source,
                             "score": e.score})

    def _unlocked(self, e: Event) -> None:
        assert isinstance(e, AttachmentUnlocked)
        rec = self._live.get(e.mid)
        if rec is not None:
            rec.unlocked.append({"attachment": e.attachment, "by": e.unlocked_by, "protection": e.protection})

    def _split(self, e: Event) -> None:
        assert isinstance(e, MessageSplit)
        parent = self._live.get(e.mid)
        if parent is not None:
            self._live[e.new_mid] = TrackingRecord(
                e.new_mid, parent.icid, parent.received, parent.sender, e.recipients, parent.size, parent.subject,
                parent.message_id, dict(parent.verdicts), urls=list(parent.urls), unlocked=list(parent.unlocked),
                split_from=e.mid)  # its own policy comes with its PolicyMatched event
            child = self._live[e.new_mid]
            for name in _CONNECTION_FACTS:  # the same connection brought both copies
                value = getattr(parent, name)
                setattr(child, name, dict(value) if isinstance(value, dict) else value)

    def _received(self, e: Event) -> None:
        assert isinstance(e, MessageReceived)
        rec = self._live[e.mid] = TrackingRecord(
            e.mid, e.icid, e.at, e.sender, e.recipients, e.size, e.subject, e.message_id
        )
        rec.sender_group, rec.sbrs = self._connections.get(e.icid, ("", "None"))
        rec.remote_ip = e.remote_ip
        info = self._sessions.get(e.icid, {})
        rec.listener, rec.interface_ip = info.get("listener", ""), info.get("interface_ip", "")
        rec.rdns_host, rec.mail_flow_policy = info.get("host", ""), info.get("policy", "")
        rec.tls_in = dict(info.get("tls", {}))
        rec.helo, rec.friendly_from, rec.reply_to = e.helo, e.from_header, e.reply_to
        while len(self._live) > self._limit:
            # Never silently forget: persist the oldest as still in flight.
            _, oldest = self._live.popitem(last=False)
            self._persist(oldest)

    def _verdict(self, e: Event) -> None:
        assert isinstance(e, StageVerdict)
        rec = self._live.get(e.mid)
        if rec is not None:
            rec.verdicts[e.stage] = {"verdict": e.verdict, "detail": e.detail}

    def _authenticated(self, e: Event) -> None:
        assert isinstance(e, MessageAuthenticated)
        rec = self._live.get(e.mid)
        if rec is not None:
            for stage, verdict, detail in e.verdicts:
                rec.verdicts[stage] = {"verdict": verdict, "detail": detail}

    def _finished(self, e: Event) -> None:
        assert isinstance(e, MessageFinished)
        rec = self._live.pop(e.mid, None)
        if rec is None:
            return
        rec.final_action, rec.final_detail, rec.finished = e.action, e.detail, e.at
        self._persist(rec)

    def _quarantine_action(self, e: Event) -> None:
        """A held message released or deleted: its record says so (the release's new MID has its own)."""
        assert isinstance(e, (QuarantineReleased, QuarantineDeleted))
        action = {"quarantine": e.quarantine, "at": e.at, "by": e.user,
                  "action": "released" if isinstance(e, QuarantineReleased) else "deleted"}
        if isinstance(e, QuarantineReleased):
            action["new_mid"] = e.new_mid
        rec = self._live.get(e.mid) or self._unwritten.get(e.mid)
        if rec is not None:
            rec.quarantine_actions.append(action)
            return
        data = self._store.stored(e.mid)
        if data is not None:
            data.setdefault("quarantine_actions", []).append(action)
            self._store.update(e.mid, data)

    def _persist(self, rec: TrackingRecord) -> None:
        self._unwritten[rec.mid] = rec
        if len(self._unwritten) >= 500:
            self.flush()

    def flush(self, in_flight: bool = False) -> None:
        """Write the finished records and their search indexes in one transaction (every daemon poll).
        ``in_flight``: the messages still in the gateway too, as they stand (findevent finds queued mail)."""
        if not self._unwritten and not self._stops and not (in_flight and self._live):
            return
        finished = len(self._unwritten)
        records = list(self._unwritten.values()) + (list(self._live.values()) if in_flight else [])
        self._unwritten.clear()
        stops, self._stops = self._stops, []
        self._store.write(records, stops)
        if self._finished_total is None:
            self._finished_since_count += finished
        else:
            self._finished_total += finished

    def get(self, mid: int) -> TrackingRecord | None:
        if mid in self._live:
            return self._live[mid]
        if mid in self._unwritten:
            return self._unwritten[mid]
        data = self._store.stored(mid)
        if data is None:
            return None
        data["recipients"] = tuple(data["recipients"])
        return TrackingRecord(**data)

    def add_click(self, message_id: str, recipient: str, click: dict) -> list[int]:
        """Add a click to the record of the copy it came in: same Message-ID and, when known, the recipient's
        copy (after a per-policy split the child, not the parent that also lists the recipient). Returns the MIDs."""
        self.flush()
        wanted = recipient.lower()
        found: dict[int, tuple] = {}  # mid -> (split_from, live record or stored data)
        for rec in self._live.values():
            if rec.message_id == message_id:
                found[rec.mid] = (rec.split_from, rec, rec.recipients)
        for mid, data in self._store.stored_by_message_id(message_id):
            if mid not in found:
                found[mid] = (data.get("split_from"), data, data["recipients"])
        matching = {mid for mid, (_, _, rcpts) in found.items()
                    if not wanted or wanted in (a.lower() for a in rcpts)}
        matching -= {found[mid][0] for mid in matching}  # a parent gives way to its child copy
        for mid in sorted(matching):
            holder = found[mid][1]
            if isinstance(holder, TrackingRecord):
                holder.clicks.append(click)
            else:
                holder.setdefault("clicks", []).append(click)
                self._store.update(mid, holder)
        return sorted(matching)

    @property
    def in_flight(self) -> int:
        return len(self._live)

    def finished_count(self) -> int | None:
        """Finished messages tracked, or None until the first count is made (count_finished: a scan of the whole
        table, so a thread's job at start, never the status request's): after it, each flush adds its own."""
        return self._finished_total

    def count_finished(self) -> int:
        """Count the finished records once (blocking: call from a thread). What flushes write while the scan runs
        is added after it (a record written in the very moment the scan starts may count twice: a status figure)."""
        self._finished_since_count = 0
        total = self._store.finished_count()
        if self._finished_total is None:
            self._finished_total = total + self._finished_since_count
        return self._finished_total




def write_records(conn: sqlite3.Connection, records: list[TrackingRecord]) -> None:
    """Records and their indexes (recipients, policies, subject words), inside the caller's transaction."""
    if not records:
        return
    mids = [(r.mid,) for r in records]
    for table in ("tracking_recipients", "tracking_policies"):
        conn.executemany(f"DELETE FROM {table} WHERE mid = ?", mids)  # a record written twice (in flight, then done)
    conn.executemany("INSERT OR REPLACE INTO tracking_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        (r.mid, r.icid, r.received, r.finished, r.sender.lower(), json.dumps(list(r.recipients)), r.subject,
         r.final_action, r.to_json()) for r in records])
    conn.executemany("INSERT OR REPLACE INTO tracking_meta VALUES (?, ?, ?, ?)", [
        (r.mid, rollups.direction_of(r.policies), r.remote_ip, r.message_id) for r in records])
    conn.executemany("INSERT INTO tracking_recipients VALUES (?, ?)",
                     [(r.mid, a.lower()) for r in records for a in r.recipients])
    conn.executemany("INSERT INTO tracking_policies VALUES (?, ?, ?)",
                     [(r.mid, *p.split(" ", 1)) for r in records for p in r.policies])
    # The subject index takes a record once, when it is finished: a contentless FTS table cannot take a row
    # back, and in-flight records are written again at every search (findevent) until then.
    conn.executemany("INSERT INTO tracking_subjects(rowid, subject) VALUES (?, ?)",
                     [(r.mid, r.subject) for r in records if r.subject and r.finished is not None])
    rollups.add_records(conn, records)
