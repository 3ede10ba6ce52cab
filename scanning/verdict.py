"""The typed outcome of scanning: what each stage found, and what each mail policy's copy gets.

The stages (scanning.pipeline, scanning.engines) make these; the relay applies them. Kept apart from both so
that neither imports the other for its result types.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum


@dataclass(frozen=True)
class StageResult:
    stage: str
    verdict: str  # NEGATIVE, POSITIVE, SKIPPED, NOT_CONFIGURED, UNSCANNABLE, MALFORMED
    detail: str = ""


@dataclass(frozen=True)
class PolicyVerdict:
    """The outcome for one policy's copy of the message (what `trace` shows)."""

    policy: str
    direction: str
    recipients: tuple[str, ...]
    stages: tuple[StageResult, ...]
    action: str = "deliver"
    findings: dict = field(default_factory=dict)
    #: What took the final action (a filter's name, url_scanning, unscannable), and the quarantine.
    final_by: str = ""
    quarantine: str = ""
    #: The stage that took the final action; "" for a message filter (or no final action).
    final_stage: str = ""

    def to_json(self) -> dict:
        return asdict(self)


class Action(str, Enum):
    """What the relay does with one policy's copy."""

    DELIVER = "deliver"
    DROP = "drop"
    BOUNCE = "bounce"
    QUARANTINE = "quarantine"
    #: An engine was unavailable and its settings say to keep the message queued and scan it again.
    DEFER = "defer"


@dataclass(frozen=True)
class UrlFinding:
    url: str
    attachment: str
    verdict: str
    source: str
    score: float | None = None  # the web reputation score (WBRS), when a provider gave one


@dataclass(frozen=True)
class DlpFinding:
    policy: str
    severity: str
    risk_factor: int
    action: str
    #: (classifier, confidence, masked match, where) per match.
    matches: tuple[tuple, ...]


@dataclass(frozen=True)
class Notification:
    #: "sender", "recipients" or an address.
    to: str
    stage: str
    verdict: str


@dataclass(frozen=True)
class PolicyOutcome:
    """One mail policy's copy of a message, as the relay applies it."""

    policy: str
    recipients: tuple[str, ...]
    action: Action = Action.DELIVER
    stages: tuple[StageResult, ...] = ()
    #: What took the final action, as mail_logs names it: "filter drop_exe", "antivirus (VIRAL)", "url_scanning".
    decided_by: str = ""
    #: For DEFER: the engine whose retry interval applies.
    deferred_stage: str = ""
    quarantine: str = ""
    #: The copy's rewritten content (headers, stripped attachments); None: the original.
    content: bytes | None = None
    log_entries: tuple[str, ...] = ()
    #: Filter actions asked for but not carried out yet: (action, addresses).
    not_sent: tuple[tuple[str, tuple[str, ...]], ...] = ()
    urls: tuple[UrlFinding, ...] = ()
    dlp: tuple[DlpFinding, ...] = ()
    notifications: tuple[Notification, ...] = ()
    #: (attachment name, passphrase label, protection) of each protected attachment opened.
    unlocked: tuple[tuple[str, str, str], ...] = ()
    #: (name, size, sha256) of each top-level attachment.
    attachments: tuple[tuple[str, int, str], ...] = ()


@dataclass(frozen=True)
class ScanOutcome:
    """Everything the scan decided for one message: the first copy keeps the MID, the others are split off."""

    direction: str
    copies: tuple[PolicyOutcome, ...] = ()
    #: The scan itself failed ("TypeName: text"): the message goes on unscanned and says so.
    failure: str = ""
