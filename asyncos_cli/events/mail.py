"""Mail events, in the appliance's mail_logs wording."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from . import Event

#: The engines' verdict lines also go to their logs (antispam: the appliance's CASE log has only engine lines;
#: ours keeps the per-message verdicts there too). The antivirus log has its own layout (AntivirusScanned).
_ENGINE_LOGS = {"antispam": ("antispam",)}
#: The anti-virus engine's interim verdict words (the appliance's CLEAN, VIRAL, UNSCANNABLE, ENCRYPTED).
_AV_INTERIM = {"NEGATIVE": "CLEAN", "POSITIVE": "VIRAL", "UNSCANNABLE": "UNSCANNABLE", "ENCRYPTED": "ENCRYPTED"}


def quoted(text: str) -> str:
    """A value in double quotes whatever it holds, as the appliance writes subjects: a quote inside is \\",
    a backslash \\\\ (control characters are escaped when the line is written)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


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
class AliasExpanded(Event):
    """A recipient that is an alias (aliasconfig) became the addresses it stands for."""

    log_type: ClassVar[str | None] = "mail"
    mid: int
    alias: str
    targets: tuple[str, ...]

    def log_line(self) -> str:
        return f"MID {self.mid} alias <{self.alias}> expanded to {', '.join(f'<{t}>' for t in self.targets)}"


@dataclass(frozen=True)
class SenderMasqueraded(Event):
    """The listener's masquerading table rewrote the envelope sender and/or header addresses."""

    log_type: ClassVar[str | None] = "mail"
    mid: int
    sender: str
    new_sender: str
    headers: bool

    def log_line(self) -> str:
        parts = []
        if self.new_sender != self.sender:
            parts.append(f"envelope sender <{self.sender}> rewritten to <{self.new_sender}>")
        if self.headers:
            parts.append("header addresses rewritten")
        return f"MID {self.mid} masquerade: {'; '.join(parts)}"


@dataclass(frozen=True)
class DkimVerified(Event):
    """One DKIM signature's verification at reception, in the appliance's mail_logs words."""

    log_type: ClassVar[str | None] = "mail"
    mid: int
    result: str
    reason: str = ""
    domain: str = ""
    selector: str = ""
    identity: str = ""
    weak: bool = False

    def log_line(self) -> str:
        where = f"(d={self.domain} s={self.selector} i={self.identity})"
        if self.result == "none":
            return f"MID {self.mid} DKIM: no signature"
        if self.result == "pass":
            weak = " [weak: rsa-sha1]" if self.weak else ""
            return f"MID {self.mid} DKIM: pass signature verified {where}{weak}"
        word = "tempfail" if self.result == "temperror" else "permfail"
        return f"MID {self.mid} DKIM: {word} {self.reason or self.result} {where}"


@dataclass(frozen=True)
class SpfVerified(Event):
    """One SPF identity's result at reception, in the appliance's mail_logs words."""

    log_type: ClassVar[str | None] = "mail"
    mid: int
    scope: str  # helo or mailfrom
    identity: str
    result: str

    def log_line(self) -> str:
        word = {"temperror": "TempError", "permerror": "PermError", "softfail": "SoftFail"}.get(
            self.result, self.result.capitalize())
        version = " (v=spf1)" if self.result in ("pass", "fail", "softfail", "neutral") else ""
        return f"MID {self.mid} SPF: {self.scope} identity {self.identity} {word}{version}"


@dataclass(frozen=True)
class ArcVerified(Event):
    """The ARC chain of a message checked for DMARC (RFC 8617), and whether its trusted sealer overrode a failure."""

    log_type: ClassVar[str | None] = "mail"
    mid: int
    cv: str
    sealer: str
    reason: str = ""
    overridden: bool = False

    def log_line(self) -> str:
        by = f" (sealed by {self.sealer})" if self.sealer else ""
        why = f": {self.reason}" if self.cv != "pass" and self.reason else ""
        line = f"MID {self.mid} ARC: chain {self.cv}{by}{why}"
        return line + ("; trusted sealer: the DMARC failure is overridden" if self.overridden else "")


@dataclass(frozen=True)
class DmarcVerified(Event):
    """DMARC of one message at reception, in the appliance's mail_logs words."""

    log_type: ClassVar[str | None] = "mail"
    mid: int
    domain: str
    result: str
    spf_aligned: bool
    dkim_aligned: bool
    #: What the gateway did: none, quarantine, reject, tempfail.
    action: str = "none"
    #: For the aggregate reports: the client, the raw results (domain, result) and the policy as published
    #: (adkim, aspf, p, sp, pct, rua).
    source_ip: str = ""
    dkim: tuple[str, str] = ("", "none")
    spf: tuple[str, str] = ("", "none")
    policy: tuple = ()

    def log_lines(self) -> list[str]:
        if self.result == "none":
            return [f"MID {self.mid} DMARC: Message from domain {self.domain}, no DMARC record"]
        if self.result in ("temperror", "permerror"):
            return [f"MID {self.mid} DMARC: Message from domain {self.domain or '(none)'}, DMARC {self.result}"]
        lines = [f"MID {self.mid} DMARC: Message from domain {self.domain}, DMARC {self.result} (SPF aligned "
                 f"{self.spf_aligned}, DKIM aligned {self.dkim_aligned})"]
        if self.result == "fail":
            lines.append(f"MID {self.mid} DMARC: Verification failed, action: {self.action}")
        return lines


@dataclass(frozen=True)
class MessageAuthenticated(Event):
    """SPF, DKIM, ARC and DMARC of one message at reception: one event for what was several (each went through
    every subscriber), the appliance's lines of each part in order, and the verdicts tracking keeps."""

    log_type: ClassVar[str | None] = "mail"
    mid: int
    #: SpfVerified (helo, mailfrom), DkimVerified (one per signature), ArcVerified, DmarcVerified.
    parts: tuple[Event, ...]
    #: (stage, verdict, detail) for tracking and the Consolidated Event Log: spf, dkim, dmarc.
    verdicts: tuple[tuple[str, str, str], ...] = ()

    def log_lines(self) -> list[str]:
        return [line for part in self.parts for line in part.log_lines()]

    def part(self, kind: type) -> Event | None:
        return next((p for p in self.parts if isinstance(p, kind)), None)


@dataclass(frozen=True)
class DkimSigned(Event):
    """An outgoing message signed with DKIM (its domainkeysconfig signing profile)."""

    log_type: ClassVar[str | None] = "mail"
    mid: int
    domain: str
    selector: str
    identity: str

    def log_line(self) -> str:
        return f"MID {self.mid} DKIM: signed d={self.domain} s={self.selector} i={self.identity}"


@dataclass(frozen=True)
class SmtpAuthenticated(Event):
    """A client's SMTP AUTH, in the appliance's mail_logs words."""

    log_type: ClassVar[str | None] = "mail"
    icid: int
    user: str
    mechanism: str
    profile: str
    ok: bool

    def log_line(self) -> str:
        return (f"SMTP Auth: (ICID {self.icid}) {'succeeded' if self.ok else 'failed'} for user: {self.user} "
                f"using AUTH mechanism: {self.mechanism} with profile: {self.profile}")


@dataclass(frozen=True)
class AliasNotExpanded(Event):
    """An alias kept as addressed: a loop met at run time (refused whenever the table is written)."""

    log_type: ClassVar[str | None] = "mail"
    level: ClassVar[str] = "Warning"
    mid: int
    alias: str
    problem: str

    def log_line(self) -> str:
        return f"MID {self.mid} alias <{self.alias}> not expanded: {self.problem}"


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
    helo: str = ""
    from_header: str = ""
    reply_to: str = ""

    def log_lines(self) -> list[str]:
        lines = []
        if self.message_id:
            lines.append(f"MID {self.mid} Message-ID '{self.message_id}'")
        if self.subject:
            lines.append(f"MID {self.mid} Subject {quoted(self.subject)}")
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
        return f"Bounced: DCID {self.dcid} MID {self.mid} to RID {self.rid} - {self.status} - {bounce_reason(self)}"


def bounce_reason(b) -> str:
    """The appliance's reason: a description from the status class, then ('code', ['the reply'])."""
    m = re.match(r"\s*(\d{3})[ -]?(.*)", b.reason, re.S)
    code, text = (m.group(1), m.group(2).strip()) if m else ("", b.reason.strip())
    described = _STATUS_SUBJECTS.get(b.status.split(".")[1] if b.status.count(".") == 2 else "", "Delivery error")
    return f"{described} ({code!r}, [{text!r}])"


#: RFC 3463's subjects (the middle number of an enhanced status code), as the appliance words them.
_STATUS_SUBJECTS = {"1": "Unknown address error", "2": "Mailbox error", "3": "Mail system error",
                    "4": "Network error", "5": "Protocol error", "6": "Message content error", "7": "Security error",
                    "0": "Delivery error"}


@dataclass(frozen=True)
class BounceRecorded(Event):
    """A hard bounce as the bounce log writes it (the bounces log type), beside the mail_logs "Bounced:" line."""

    log_type: ClassVar[str | None] = "bounces"
    dcid: int
    mid: int
    rid: int
    sender: str
    recipient: str
    status: str
    reason: str

    def log_line(self) -> str:
        return (f"Bounced: DCID {self.dcid} MID {self.mid} From:<{self.sender}> To:<{self.recipient}> RID {self.rid} "
                f"- {self.status} - {bounce_reason(self)}")

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

    @property
    def also_logged_to(self) -> tuple[str, ...]:  # type: ignore[override]
        """The engines' verdicts also go to their own logs (antivirus, antispam), as the appliance's do."""
        return _ENGINE_LOGS.get(self.stage, ())

    def log_lines(self) -> list[str]:
        extra = f" {self.detail}" if self.detail else ""
        mid, verdict = self.mid, self.verdict
        # The engines' lines as the appliance writes them, naming the engine that answered (the appliance's
        # CASE or IMS is Rspamd here, its Sophos or McAfee is ClamAV): an interim verdict, then the verdict.
        if self.stage == "antispam":
            if verdict in ("SKIPPED", "UNSCANNABLE"):
                return [f"MID {mid} using engine: RSPAMD spam {verdict.lower()}{extra}"]
            return [f"MID {mid} interim verdict using engine: RSPAMD spam {verdict.lower()}",
                    f"MID {mid} using engine: RSPAMD spam {verdict.lower()}{extra}"]
        if self.stage == "antivirus":
            interim = _AV_INTERIM.get(verdict)
            if verdict == "POSITIVE" and self.detail:  # the threat's name quoted, what was done after it
                name, _, done = self.detail.partition(";")
                final = f"MID {mid} antivirus positive '{name.strip()}'" + (f" ({done.strip()})" if done.strip()
                                                                            else "")
            else:
                final = f"MID {mid} antivirus {verdict.lower()}{extra}"
            return ([f"MID {mid} interim AV verdict using ClamAV {interim}"] if interim else []) + [final]
        if self.stage == "sdr":
            return []  # SdrConsolidated writes the appliance's SDR lines; this verdict is for tracking
        if self.stage == "sdr_header_from":
            domain, _, category = self.detail.partition(" ")
            return [f"MID {mid} SDR: header-from {domain} Verdict: {verdict.capitalize()}"
                    + (f" Threat Category: {category}" if category else "")]
        if self.stage == "file_reputation":
            return [f"MID {mid} AMP file reputation verdict : {verdict}{extra}"]
        if self.stage == "url_scanning":
            return [f"MID {mid} URL scanning: verdict {verdict.lower()}{extra}"]
        if self.stage == "dlp":
            return [f"MID {mid} DLP no violation"] if verdict in ("NEGATIVE", "NO_TRIGGER") else \
                [f"MID {mid} DLP {verdict.lower()}{extra}"]
        if self.stage in ("content_filters", "message_filters"):
            which = "Content Filter" if self.stage == "content_filters" else "Message Filter"
            return [f"MID {mid} {which}: verdict {verdict.lower()}{extra}"]
        return [f"MID {mid} {self.stage.replace('_', ' ')}: verdict {verdict.lower()}{extra}"]

@dataclass(frozen=True)
class MessageFinished(Event):
    log_type: ClassVar[str | None] = "mail"
    mid: int
    action: str  # DELIVERED, BOUNCED, DROPPED, QUARANTINED
    detail: str = ""

    def log_lines(self) -> list[str]:
        # As the appliance pairs them: a message whose recipients were all delivered or bounced is "done"; one
        # stopped on the way is "aborted" (its reason first); a quarantined one finishes when it leaves.
        if self.action in ("DELIVERED", "BOUNCED"):
            return [f"Message finished MID {self.mid} done"]
        if self.action == "QUARANTINED":
            return [f"MID {self.mid} {self.detail}"]
        return [f"Message aborted MID {self.mid} {self.detail or self.action.capitalize()}",
                f"Message finished MID {self.mid} aborted"]


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
    score: float | None = None

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

    def log_lines(self) -> list[str]:
        # The appliance's sentence ends at the policy; the action and the (masked) matches get a line of their own.
        found = ", ".join(f"{c} {masked} in {where} ({conf})" for c, conf, masked, where in self.matches[:10])
        return [f"MID {self.mid} DLP violation. Severity: {self.severity.upper()} (Risk Factor: {self.risk_factor}). "
                f"DLP policy match: '{self.policy}'.",
                f"MID {self.mid} DLP violation details: Action: {self.action}. Matches: {found}"]


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
class SdrConsolidated(Event):
    """The message's Sender Domain Reputation, as the appliance logs it per MID: the domains asked about, then
    the consolidated verdict with the sender's maturity."""

    log_type: ClassVar[str | None] = "mail"
    also_logged_to: ClassVar[tuple[str, ...]] = ("reputation",)
    mid: int
    rdns_host: str
    helo: str
    env_from: str
    header_from: str
    reply_to: str
    verdict: str
    category: str = ""
    maturity_days: int | None = None

    def log_lines(self) -> list[str]:
        na = lambda v: v or "N/A"  # noqa: E731
        maturity = ("unknown" if self.maturity_days is None else "30 days (or greater)" if self.maturity_days >= 30
                    else f"{self.maturity_days} days")
        return [f"MID {self.mid} SDR: Domains for which SDR is requested: reverse DNS host: {na(self.rdns_host)}, "
                f"helo: {na(self.helo)}, env-from: {na(self.env_from)}, header-from: {na(self.header_from)}, "
                f"reply-to: {na(self.reply_to)}",
                f"MID {self.mid} SDR: Consolidated Sender Threat Level: {self.verdict.capitalize()}, Threat Category: "
                f"{na(self.category)}, Suspected Domain(s) : N/A (other reasons for verdict). Sender Maturity: "
                f"{maturity} for domain: {na(self.env_from)}"]


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

    log_type: ClassVar[str | None] = "mail"
    mid: int
    original: int

    def log_line(self) -> str:
        return f"MID {self.mid} was generated for bounce of MID {self.original}"


@dataclass(frozen=True)
class DelayWarningGenerated(Event):
    """A delay warning (a DSN saying "delayed") queued for the sender of ``original`` (its bounce profile)."""

    log_type: ClassVar[str | None] = "mail"
    mid: int
    original: int

    def log_line(self) -> str:
        return f"MID {self.mid} was generated for delay warning of MID {self.original}"


@dataclass(frozen=True)
class BounceNotSent(Event):
    """Recipients hard bounced under a bounce profile that sends no bounce messages."""

    log_type: ClassVar[str | None] = "mail"
    mid: int
    rids: tuple[int, ...]
    profile: str

    def log_line(self) -> str:
        rids = ", ".join(str(r) for r in self.rids)
        return f"MID {self.mid} RID [{rids}] no bounce message generated (bounce profile {self.profile})"
