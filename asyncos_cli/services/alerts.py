"""Alerts: events that carry an alert class become mail to alertconfig's recipients.

Every alert is saved (``displayalerts`` shows the recent ones) before it is
sent, so an alert that cannot be sent (no STARTTLS where TLS is required, a
server down) stays queued across restarts and is retried with a growing
pause. A repeated alert (same class, severity and text) within the
duplicate interval is counted, not sent; the interval doubles with each
repeat up to alertconfig's maximum, as on the appliance.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sqlite3
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from asyncos_cli import __version__
from asyncos_cli.config.statestores import AlertLog
from asyncos_cli.events import Event
from asyncos_cli.events.system import AlertSendFailed, AlertSent

log = logging.getLogger("asyncos.alerts")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    class TEXT NOT NULL,
    severity TEXT NOT NULL,
    text TEXT NOT NULL,
    recipients TEXT NOT NULL,      -- JSON: everyone it was meant for
    pending TEXT NOT NULL,         -- JSON: those it has not reached yet
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    duplicates INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS alerts_pending ON alerts(next_attempt) WHERE pending != '[]';
"""
RETRY_FIRST_SECONDS = 30
RETRY_MAX_SECONDS = 3600


def severity_of(event: Event) -> str:
    return {"Critical": "Critical", "Warning": "Warning"}.get(event.level, "Information")


def subject(severity: str, alert_class: str, hostname: str, text: str) -> str:
    first = text.splitlines()[0] if text else ""
    return f"{severity} <{alert_class}> {hostname}: {first[:120]}"


def recent(conn: sqlite3.Connection, limit: int = 50) -> list[dict]:
    """The newest alerts first (displayalerts)."""
    conn.executescript(_SCHEMA)
    rows = conn.execute("SELECT id, at, class, severity, text, recipients, pending, attempts, last_error, duplicates "
                        "FROM alerts ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    keys = ("id", "at", "class", "severity", "text", "recipients", "pending", "attempts", "last_error", "duplicates")
    out = []
    for row in rows:
        d = dict(zip(keys, row))
        d["recipients"], d["pending"] = json.loads(d["recipients"]), json.loads(d["pending"])
        out.append(d)
    return out


class SQLiteAlertLog(AlertLog):
    """The embedded backend of the alert log."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def recent(self, limit: int = 50) -> list[dict]:
        return recent(self._conn, limit)

    def close(self) -> None:
        self._conn.close()


class AlertService:
    def __init__(self, bus, conn: sqlite3.Connection, keyring, clock=time.time):
        self.bus = bus
        self.conn = conn
        self.keyring = keyring
        self.clock = clock
        self.config = None
        self.conn.executescript(_SCHEMA)
        #: (class, severity, text) -> (alert id, last sent, current interval)
        self._recent: dict[tuple, tuple[int, float, float]] = {}
        self._task: asyncio.Task | None = None
        self.sent = 0
        bus.subscribe(Event, self._on_event)

    def configure(self, config) -> None:
        changed = self.config is not None and config.alerts != self.config.alerts
        self.config = config
        if changed:  # the administrator changed the settings: waiting alerts are tried again at once
            self.conn.execute("UPDATE alerts SET next_attempt = 0 WHERE pending != '[]'")

    # ------------------------------------------------------------ raising

    def _on_event(self, event: Event) -> None:
        # Only a class-level declaration makes an event an alert (a field of that name would not).
        alert_class = getattr(type(event), "alert_class", None)
        if alert_class is None or self.config is None:
            return
        self.raise_alert(alert_class, severity_of(event), event.log_line())

    def raise_alert(self, alert_class: str, severity: str, text: str) -> int | None:
        a = self.config.alerts
        now = self.clock()
        key = (alert_class, severity, text)
        previous = self._recent.get(key)
        if previous is not None and a.initial_interval_seconds:
            alert_id, last, interval = previous
            if now - last < interval:
                self.conn.execute("UPDATE alerts SET duplicates = duplicates + 1 WHERE id = ?", (alert_id,))
                return None
            quiet = now - last > a.max_interval_seconds
            interval = a.initial_interval_seconds if quiet else min(interval * 2, a.max_interval_seconds)
        else:
            interval = a.initial_interval_seconds
        recipients = [r.address for r in a.recipients if r.wants(alert_class, severity)]
        cur = self.conn.execute(
            "INSERT INTO alerts (at, class, severity, text, recipients, pending) VALUES (?, ?, ?, ?, ?, ?)",
            (now, alert_class, severity, text, json.dumps(recipients), json.dumps(recipients)))
        alert_id = cur.lastrowid
        self._recent[key] = (alert_id, now, interval)
        self._trim(a.max_saved)
        return alert_id

    def _trim(self, keep: int) -> None:
        # Sent alerts beyond the newest ``keep`` go; one still waiting to be sent is never dropped.
        self.conn.execute("DELETE FROM alerts WHERE pending = '[]' AND id NOT IN "
                          "(SELECT id FROM alerts ORDER BY id DESC LIMIT ?)", (keep,))

    # ------------------------------------------------------------ sending

    def tick(self) -> None:
        """Start sending what is due, unless a round is under way (called from the daemon's loop)."""
        if self.config is None or (self._task is not None and not self._task.done()):
            return
        due = self.conn.execute("SELECT 1 FROM alerts WHERE pending != '[]' AND next_attempt <= ? LIMIT 1",
                                (self.clock(),)).fetchone()
        if due:
            self._task = asyncio.get_running_loop().create_task(self._send_due(self.config))

    async def _send_due(self, config) -> None:
        from .mailer import SendFailed, send

        rows = self.conn.execute(
            "SELECT id, at, class, severity, text, pending, attempts FROM alerts "
            "WHERE pending != '[]' AND next_attempt <= ? ORDER BY id", (self.clock(),)).fetchall()
        a = config.alerts
        sender = a.sender(config.system.hostname)
        for alert_id, at, alert_class, severity, text, pending_json, attempts in rows:
            pending = json.loads(pending_json)
            subj = subject(severity, alert_class, config.system.hostname, text)
            failure = ""
            for address in list(pending):
                content = self._message(config, sender, address, subj, alert_class, severity, text, at)
                try:
                    sent = await send(config, sender, [address], content, "required" if a.tls else "off")
                except SendFailed as e:
                    failure = str(e)
                    retry = min(RETRY_FIRST_SECONDS * 2 ** attempts, RETRY_MAX_SECONDS)
                    self.bus.emit(AlertSendFailed(alert_id, address, failure, retry))
                    continue
                except Exception as e:  # an unexpected failure is kept for retry like any other
                    failure = f"{type(e).__name__}: {e}"
                    log.exception("alert %d to %s failed", alert_id, address)
                    continue
                pending.remove(address)
                self.sent += 1
                self.bus.emit(AlertSent(alert_class, severity, address, subj, sent[0].describe()))
            if pending:
                retry = min(RETRY_FIRST_SECONDS * 2 ** attempts, RETRY_MAX_SECONDS)
                self.conn.execute("UPDATE alerts SET pending = ?, attempts = attempts + 1, next_attempt = ?, "
                                  "last_error = ? WHERE id = ?",
                                  (json.dumps(pending), self.clock() + retry, failure, alert_id))
            else:
                self.conn.execute("UPDATE alerts SET pending = '[]', attempts = attempts + 1, last_error = '' "
                                  "WHERE id = ?", (alert_id,))

    @staticmethod
    def _message(config, sender, address, subj, alert_class, severity, text, at) -> bytes:
        m = EmailMessage()
        m["From"] = sender
        m["To"] = address
        m["Subject"] = subj
        m["Date"] = formatdate(at, localtime=True)
        m["Message-ID"] = make_msgid(domain=config.system.hostname)
        m["X-Alert-Class"] = alert_class
        m["X-Alert-Severity"] = severity
        m.set_content(
            f"The {severity} message is:\n\n{text}\n\n"
            f"Version: {__version__}\nHost name: {config.system.hostname}\n"
            f"Timestamp: {formatdate(at, localtime=True)}\n"
            f"Sent by: {socket.gethostname()}\n")
        return bytes(m)

    # ------------------------------------------------------------ state

    def waiting(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM alerts WHERE pending != '[]'").fetchone()[0]

    def status(self) -> str:
        if self.config is None:
            return "starting"
        a = self.config.alerts
        tls = "STARTTLS required" if a.tls else "plain SMTP"
        return f"{len(a.recipients)} recipients ({tls}); {self.sent} sent, {self.waiting()} waiting"

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
