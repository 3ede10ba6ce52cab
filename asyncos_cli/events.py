"""Typed events and the bus that carries them to logs, tracking and counters.

Components emit events; subscribers turn them into log lines, tracking
records, counters, traps and alert mails. No component writes a log file or
a counter itself. Each event class names the log it belongs in and how it
reads there (``log_line``), so the log subscriber stays one small loop.

Handlers run synchronously in the emitting thread; a failing handler is
logged and the others still run (mitmproxy's safecall).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, ClassVar

@dataclass(frozen=True)
class Event:
    #: The log type this event is written to (None: not logged).
    log_type: ClassVar[str | None] = None
    level: ClassVar[str] = "Information"
    at: float = field(default_factory=time.time, kw_only=True)

    def log_line(self) -> str:
        return ""


# ------------------------------------------------------------ system


@dataclass(frozen=True)
class DaemonStarted(Event):
    log_type: ClassVar[str | None] = "system"
    pid: int
    version: int

    def log_line(self) -> str:
        return f"PID {self.pid}: gateway started with configuration version {self.version}"


@dataclass(frozen=True)
class DaemonStopping(Event):
    log_type: ClassVar[str | None] = "system"
    pid: int
    reason: str

    def log_line(self) -> str:
        return f"PID {self.pid}: gateway stopping ({self.reason})"


@dataclass(frozen=True)
class ConfigCommitted(Event):
    """Written by the shell process that committed (the appliance's system log line)."""

    log_type: ClassVar[str | None] = "system"
    pid: int
    user: str
    comment: str
    version: int

    def log_line(self) -> str:
        return f"PID {self.pid}: User {self.user} commit changes: {self.comment}"


@dataclass(frozen=True)
class ConfigReloaded(Event):
    log_type: ClassVar[str | None] = "system"
    version: int
    previous: int
    user: str
    sections: tuple[str, ...]

    def log_line(self) -> str:
        changed = ", ".join(self.sections) or "none"
        return (
            f"Configuration version {self.version} (committed by {self.user}) is now in effect; "
            f"was {self.previous}; sections changed: {changed}"
        )


@dataclass(frozen=True)
class ConfigReloadFailed(Event):
    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Warning"
    version: int
    reason: str

    def log_line(self) -> str:
        return f"Configuration version {self.version} could not be applied: {self.reason}; the previous version stays in effect"


@dataclass(frozen=True)
class DemoCertificateInUse(Event):
    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Warning"
    subject: str

    def log_line(self) -> str:
        return f"The demonstration certificate ({self.subject}) is in use: import a certificate with certconfig"


# ------------------------------------------------------------ shell


@dataclass(frozen=True)
class CliInput(Event):
    """A line entered at a shell prompt (secrets already redacted)."""

    log_type: ClassVar[str | None] = "cli_audit"
    pid: int
    user: str
    line: str
    prompt: str

    def log_line(self) -> str:
        return f"PID {self.pid}: User {self.user} entered {self.line!r}; prompt was {self.prompt!r}"


@dataclass(frozen=True)
class CliBatchCommand(Event):
    log_type: ClassVar[str | None] = "cli_audit"
    pid: int
    user: str
    command: str
    origin: str

    def log_line(self) -> str:
        return f"PID {self.pid}: User {self.user} from {self.origin} executed batch command: {self.command}"


@dataclass(frozen=True)
class CliLogin(Event):
    log_type: ClassVar[str | None] = "cli_audit"
    pid: int
    user: str
    origin: str
    local: str

    def log_line(self) -> str:
        return f"PID {self.pid}: User {self.user} login from {self.origin} on {self.local}"


# ------------------------------------------------------------ authentication (the appliance's wording)


@dataclass(frozen=True)
class LoginSucceeded(Event):
    log_type: ClassVar[str | None] = "authentication"
    user: str
    origin: str
    privilege: str  # the role's keyword: admin, operator, readonly, ...
    via: str = "SSH"

    def log_line(self) -> str:
        return (
            f"The user {self.user} successfully logged on from {self.origin} with privilege "
            f"{self.privilege} using an {self.via} connection."
        )


@dataclass(frozen=True)
class LoginFailed(Event):
    log_type: ClassVar[str | None] = "authentication"
    level: ClassVar[str] = "Warning"
    user: str
    origin: str
    reason: str
    via: str = "SSH"

    def log_line(self) -> str:
        return (
            f"An authentication attempt by the user {self.user} from {self.origin} failed using an "
            f"{self.via} connection ({self.reason})."
        )


@dataclass(frozen=True)
class AccountLocked(Event):
    log_type: ClassVar[str | None] = "authentication"
    level: ClassVar[str] = "Warning"
    user: str
    origin: str
    attempts: int

    def log_line(self) -> str:
        return (
            f"The account of the user {self.user} has been locked after {self.attempts} failed login "
            f"attempts; the last one came from {self.origin}."
        )


@dataclass(frozen=True)
class AccountLockChanged(Event):
    log_type: ClassVar[str | None] = "authentication"
    user: str
    locked: bool
    by: str
    origin: str

    def log_line(self) -> str:
        what = "locked" if self.locked else "unlocked"
        return f"The account of the user {self.user} was {what} by {self.by} from {self.origin}."


@dataclass(frozen=True)
class LoggedOut(Event):
    log_type: ClassVar[str | None] = "authentication"
    user: str
    origin: str
    reason: str = ""

    def log_line(self) -> str:
        why = f" because of {self.reason}" if self.reason else ""
        return f"CLI: User {self.user} logged out from {self.origin}{why}"


# ------------------------------------------------------------ mail (mail_logs wording of the appliance)


@dataclass(frozen=True)
class SmtpConnected(Event):
    log_type: ClassVar[str | None] = "mail"
    icid: int
    listener: str
    interface: str
    address: str
    host: str = "(unverified)"
    verified: bool = False

    def log_line(self) -> str:
        return (f"New SMTP ICID {self.icid} interface {self.listener} ({self.interface}) address {self.address} "
                f"reverse dns host {self.host} verified {'yes' if self.verified else 'no'}")


@dataclass(frozen=True)
class SmtpPolicyApplied(Event):
    log_type: ClassVar[str | None] = "mail"
    icid: int
    action: str
    group: str
    match: str
    sbrs: str = "None"

    def log_line(self) -> str:
        return f"ICID {self.icid} {self.action.upper()} SG {self.group} match {self.match} SBRS {self.sbrs}"


@dataclass(frozen=True)
class SmtpTls(Event):
    log_type: ClassVar[str | None] = "mail"
    icid: int
    protocol: str
    cipher: str

    def log_line(self) -> str:
        return f"ICID {self.icid} TLS success protocol {self.protocol} cipher {self.cipher}"


@dataclass(frozen=True)
class SmtpRefused(Event):
    """A command refused in the SMTP conversation (relaying denied, bare LF, size...)."""

    log_type: ClassVar[str | None] = "mail"
    icid: int
    what: str
    reply: str

    def log_line(self) -> str:
        return f"ICID {self.icid} {self.what} rejected: {self.reply}"


@dataclass(frozen=True)
class SmtpClosed(Event):
    log_type: ClassVar[str | None] = "mail"
    icid: int

    def log_line(self) -> str:
        return f"ICID {self.icid} close"


@dataclass(frozen=True)
class MessageStarted(Event):
    log_type: ClassVar[str | None] = "mail"
    mid: int
    icid: int
    sender: str

    def log_line(self) -> str:
        return f"Start MID {self.mid} ICID {self.icid}\x00MID {self.mid} ICID {self.icid} From: <{self.sender}>"


@dataclass(frozen=True)
class RecipientAccepted(Event):
    log_type: ClassVar[str | None] = "mail"
    mid: int
    icid: int
    rid: int
    recipient: str

    def log_line(self) -> str:
        return f"MID {self.mid} ICID {self.icid} RID {self.rid} To: <{self.recipient}>"


@dataclass(frozen=True)
class MessageReceived(Event):
    log_type: ClassVar[str | None] = "mail"
    mid: int
    icid: int
    sender: str
    recipients: tuple[str, ...]
    size: int
    subject: str = ""
    message_id: str = ""

    def log_line(self) -> str:
        lines = []
        if self.message_id:
            lines.append(f"MID {self.mid} Message-ID '{self.message_id}'")
        if self.subject:
            lines.append(f"MID {self.mid} Subject {self.subject!r}")
        lines.append(f"MID {self.mid} ready {self.size} bytes from <{self.sender}>")
        lines.append(f"MID {self.mid} queued for delivery")
        return "\x00".join(lines)


@dataclass(frozen=True)
class DeliveryConnected(Event):
    log_type: ClassVar[str | None] = "mail"
    dcid: int
    address: str
    port: int

    def log_line(self) -> str:
        return f"New SMTP DCID {self.dcid} interface 127.0.0.1 address {self.address} port {self.port}"


@dataclass(frozen=True)
class DeliveryStarted(Event):
    log_type: ClassVar[str | None] = "mail"
    dcid: int
    mid: int
    rids: tuple[int, ...]

    def log_line(self) -> str:
        return f"Delivery start DCID {self.dcid} MID {self.mid} to RID {list(self.rids)}"


@dataclass(frozen=True)
class DeliveryDone(Event):
    log_type: ClassVar[str | None] = "mail"
    dcid: int
    mid: int
    rids: tuple[int, ...]
    response: str

    def log_line(self) -> str:
        return (f"MID {self.mid} RID {list(self.rids)} Response {self.response!r}\x00"
                f"Message done DCID {self.dcid} MID {self.mid} to RID {list(self.rids)}")


@dataclass(frozen=True)
class DeliveryDelayed(Event):
    log_type: ClassVar[str | None] = "mail"
    dcid: int
    mid: int
    rids: tuple[int, ...]
    reason: str

    def log_line(self) -> str:
        return f"Delayed: DCID {self.dcid} MID {self.mid} to RID {list(self.rids)} - {self.reason}"


@dataclass(frozen=True)
class RecipientBounced(Event):
    log_type: ClassVar[str | None] = "mail"
    level: ClassVar[str] = "Information"
    dcid: int
    mid: int
    rid: int
    status: str
    reason: str

    def log_line(self) -> str:
        return f"Bounced: DCID {self.dcid} MID {self.mid} to RID {self.rid} - {self.status} - {self.reason}"


@dataclass(frozen=True)
class DeliveryClosed(Event):
    log_type: ClassVar[str | None] = "mail"
    dcid: int

    def log_line(self) -> str:
        return f"DCID {self.dcid} close"


@dataclass(frozen=True)
class StageVerdict(Event):
    """One pipeline stage's verdict on a message (anti-spam, anti-virus, filters...)."""

    log_type: ClassVar[str | None] = "mail"
    mid: int
    stage: str
    verdict: str
    detail: str = ""

    def log_line(self) -> str:
        extra = f" {self.detail}" if self.detail else ""
        return f"MID {self.mid} {self.stage} verdict {self.verdict}{extra}"


@dataclass(frozen=True)
class MessageFinished(Event):
    log_type: ClassVar[str | None] = "mail"
    mid: int
    action: str  # DELIVERED, BOUNCED, DROPPED, QUARANTINED
    detail: str = ""

    def log_line(self) -> str:
        if self.action == "DELIVERED":
            return f"Message finished MID {self.mid} done"
        return f"Message aborted MID {self.mid} {self.detail or self.action}"


Handler = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)
        self.emitted = 0
        self.handler_failures = 0

    def subscribe(self, event_type: type[Event], handler: Handler) -> None:
        """``event_type`` may be a base class: ``Event`` receives everything."""
        self._handlers[event_type].append(handler)

    def emit(self, event: Event) -> None:
        self.emitted += 1
        for cls in type(event).__mro__:
            for handler in self._handlers.get(cls, ()):
                try:
                    handler(event)
                except Exception:  # one broken subscriber must not stop the others
                    import logging

                    self.handler_failures += 1
                    logging.getLogger("asyncos.events").exception("event handler %r failed on %r", handler, event)


def log_subscriber(logs) -> Handler:
    """The subscriber that writes every loggable event to its log type."""

    def write(event: Event) -> None:
        if event.log_type is not None:
            # An event may stand for several appliance log lines, joined by NUL.
            for line in event.log_line().split("\x00"):
                logs.write(event.log_type, event.level, line)

    return write
