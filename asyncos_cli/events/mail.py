"""Mail events, in the appliance's mail_logs wording."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import Event


@dataclass(frozen=True)
class SmtpConnected(Event):
    log_type: ClassVar[str | None] = "mail"
    icid: int
    listener: str
    interface: str  # the interface's name (interfaceconfig)
    interface_ip: str
    address: str
    host: str = "(unverified)"
    verified: bool = False

    def log_line(self) -> str:
        return (f"New SMTP ICID {self.icid} interface {self.interface} ({self.interface_ip}) address {self.address} "
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
class SmtpTlsFailed(Event):
    log_type: ClassVar[str | None] = "mail"
    level: ClassVar[str] = "Warning"
    icid: int
    reason: str

    def log_line(self) -> str:
        return f"ICID {self.icid} TLS failed: {self.reason}"

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

    def log_lines(self) -> list[str]:
        return [f"Start MID {self.mid} ICID {self.icid}", f"MID {self.mid} ICID {self.icid} From: <{self.sender}>"]

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
    remote_ip: str = ""

    def log_lines(self) -> list[str]:
        lines = []
        if self.message_id:
            lines.append(f"MID {self.mid} Message-ID '{self.message_id}'")
        if self.subject:
            lines.append(f"MID {self.mid} Subject {self.subject!r}")
        lines.append(f"MID {self.mid} ready {self.size} bytes from <{self.sender}>")
        lines.append(f"MID {self.mid} queued for delivery")
        return lines

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

    def log_lines(self) -> list[str]:
        return [f"MID {self.mid} RID {list(self.rids)} Response {self.response!r}",
                f"Message done DCID {self.dcid} MID {self.mid} to RID {list(self.rids)}"]

@dataclass(frozen=True)
class DeliveryTls(Event):
    log_type: ClassVar[str | None] = "mail"
    dcid: int
    protocol: str
    cipher: str

    def log_line(self) -> str:
        return f"DCID {self.dcid} TLS success protocol {self.protocol} cipher {self.cipher}"

@dataclass(frozen=True)
class DeliveryTlsRefused(Event):
    """The peer offered STARTTLS and refused it (454): under "preferred" the message goes in clear."""

    log_type: ClassVar[str | None] = "mail"
    level: ClassVar[str] = "Warning"
    dcid: int
    host: str
    reply: str

    def log_line(self) -> str:
        return (f"DCID {self.dcid} TLS not available from {self.host} ({self.reply}): "
                "delivering in clear (TLS preferred)")

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
        # The engines' lines as the appliance writes them (with the engine that answered).
        if self.stage == "antispam":
            return f"MID {self.mid} using engine: RSPAMD spam {self.verdict.lower()}{extra}"
        if self.stage == "antivirus":
            return f"MID {self.mid} antivirus {self.verdict.lower()}{extra}"
        if self.stage == "file_reputation":
            return f"MID {self.mid} AMP file reputation verdict : {self.verdict}{extra}"
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
        if self.action == "QUARANTINED":
            return f"MID {self.mid} {self.detail}"
        return f"Message aborted MID {self.mid} {self.detail or self.action}"


@dataclass(frozen=True)
class CustomLogEntry(Event):
    """A message filter's log-entry() action."""

    log_type: ClassVar[str | None] = "mail"
    mid: int
    text: str

    def log_line(self) -> str:
        return f"MID {self.mid} Custom Log Entry: {self.text}"


@dataclass(frozen=True)
class PolicyMatched(Event):
    log_type: ClassVar[str | None] = "mail"
    mid: int
    policy: str
    direction: str
    all_recipients: bool

    def log_line(self) -> str:
        which = "all recipients" if self.all_recipients else "some recipients"
        table = "inbound" if self.direction == "incoming" else "outbound"
        return f"MID {self.mid} matched {which} for per-recipient policy {self.policy} in the {table} table"


@dataclass(frozen=True)
class MessageSplit(Event):
    """Recipients under another mail policy go on as a new message (the appliance's per-policy split)."""

    log_type: ClassVar[str | None] = "mail"
    mid: int
    new_mid: int
    policy: str
    recipients: tuple[str, ...]

    def log_line(self) -> str:
        return f"MID {self.mid} was split creating MID {self.new_mid} due to a per-recipient policy {self.policy}"


@dataclass(frozen=True)
class AttachmentUrl(Event):
    """A URL found in an attachment, with its reputation verdict (tracking shows it too)."""

    log_type: ClassVar[str | None] = "mail"
    also_logged_to: ClassVar[tuple[str, ...]] = ("content_scanner",)
    mid: int
    url: str
    attachment: str
    verdict: str
    source: str = ""

    def log_line(self) -> str:
        by = f" ({self.source})" if self.source else ""
        return f"MID {self.mid} URL {self.url} in attachment '{self.attachment}' reputation {self.verdict}{by}"


@dataclass(frozen=True)
class AttachmentUnlocked(Event):
    """A protected attachment was opened; the log names the passphrase's priority, never the passphrase."""

    log_type: ClassVar[str | None] = "mail"
    also_logged_to: ClassVar[tuple[str, ...]] = ("content_scanner",)
    mid: int
    attachment: str
    unlocked_by: str
    protection: str

    def log_line(self) -> str:
        return (f"MID {self.mid} attachment '{self.attachment}' ({self.protection}) decrypted with the "
                f"passphrase of {self.unlocked_by}")


@dataclass(frozen=True)
class QuarantineReleased(Event):
    log_type: ClassVar[str | None] = "mail"
    quarantine: str
    mid: int
    new_mid: int
    user: str = ""

    def log_line(self) -> str:
        by = f" by {self.user}" if self.user else ""
        return f"MID {self.mid} released from quarantine {self.quarantine} as MID {self.new_mid}{by}"


@dataclass(frozen=True)
class QuarantineDeleted(Event):
    log_type: ClassVar[str | None] = "mail"
    quarantine: str
    mid: int
    user: str

    def log_line(self) -> str:
        return f"MID {self.mid} deleted from quarantine {self.quarantine} by {self.user}"


@dataclass(frozen=True)
class QuarantineExpired(Event):
    log_type: ClassVar[str | None] = "mail"
    quarantine: str
    mid: int
    days: int

    def log_line(self) -> str:
        return f"MID {self.mid} deleted from quarantine {self.quarantine} (retention of {self.days} days ended)"


@dataclass(frozen=True)
class DlpViolation(Event):
    """A DLP policy matched (the DLP incident): the appliance's mail_logs line; matches masked."""

    log_type: ClassVar[str | None] = "mail"
    also_logged_to: ClassVar[tuple[str, ...]] = ("content_scanner",)
    mid: int
    policy: str
    severity: str
    risk_factor: int
    action: str
    #: (classifier, confidence, masked value, where)
    matches: tuple = ()

    def log_line(self) -> str:
        found = ", ".join(f"{c} {masked} in {where} ({conf})" for c, conf, masked, where in self.matches[:10])
        return (f"MID {self.mid} DLP violation. Severity: {self.severity.upper()} (Risk Factor: {self.risk_factor}). "
                f"DLP policy match: '{self.policy}'. Action: {self.action}. Matches: {found}")


@dataclass(frozen=True)
class SdrVerdict(Event):
    """The sender domain reputation verdict at MAIL FROM (and whether it refused the sender)."""

    log_type: ClassVar[str | None] = "mail"
    also_logged_to: ClassVar[tuple[str, ...]] = ("reputation",)
    icid: int
    domain: str
    verdict: str
    category: str = ""
    refused: bool = False

    def log_line(self) -> str:
        cat = f" Threat Category: {self.category}" if self.category else ""
        end = " REJECT (Stopped by Domain Reputation Filtering)" if self.refused else ""
        return f"ICID {self.icid} SDR: env-from {self.domain} Verdict: {self.verdict.capitalize()}{cat}{end}"



@dataclass(frozen=True)
class AttachmentsFound(Event):
    """The top-level attachments of a message as scanning saw them (name, decoded size, SHA-256)."""

    log_type: ClassVar[str | None] = None
    mid: int
    attachments: tuple = ()


@dataclass(frozen=True)
class RecipientsDropped(Event):
    """Recipients dropped without delivery (a filter's drop(), a /dev/null route, deleterecipients).

    Not a log line of its own: the message's "Message aborted" line says it. Counted by the relay's counters.
    """

    mid: int
    rids: tuple[int, ...]
    by: str


@dataclass(frozen=True)
class BounceGenerated(Event):
    """A delivery status notification queued for the sender of ``original`` (the Gen. Bounce counter)."""

    mid: int
    original: int
