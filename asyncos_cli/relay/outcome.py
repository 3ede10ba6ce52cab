"""What a message's ScanOutcome says, in the forms the queue manager needs to carry it out.

``report`` says what the scan found (tracking, mail_logs, consolidated
events); ``rewrite`` puts a policy copy's rewritten content on the message;
``retry_seconds`` and ``notices`` give a deferral's wait and the notification
messages the engines' actions asked for. Nothing here writes the queue: the
queue manager splits, delivers, drops, bounces, quarantines and requeues.
"""

from __future__ import annotations

from asyncos_cli.config.schema import Config
from asyncos_cli.events.engines import AntivirusScanned
from asyncos_cli.events.mail import (
    AttachmentsFound,
    AttachmentUnlocked,
    AttachmentUrl,
    CustomLogEntry,
    DlpViolation,
    PolicyMatched,
    StageVerdict,
)
from scanning.verdict import Action, PolicyOutcome, ScanOutcome

from .fates import Emit
from .notify import build as build_notice
from .spool import QueuedMessage

#: The threat engines' stages: their SKIPPED verdicts are logged (the others' are noise).
ENGINE_STAGES = ("antispam", "antivirus", "file_reputation")

#: How long a message waits for an unavailable engine without a retry setting of its own.
DEFAULT_RETRY_SECONDS = 60


def simple(outcome: ScanOutcome) -> bool:
    """One copy, delivered, nobody to notify: the common case, carried out without a task."""
    first = outcome.copies[0]
    return len(outcome.copies) == 1 and first.action is Action.DELIVER and not first.notifications


def report(emit: Emit, msg: QueuedMessage, outcome: ScanOutcome) -> None:
    if outcome.failure:
        emit(StageVerdict(msg.mid, "scanning", "UNSCANNABLE", outcome.failure))
        return
    seen: set = set()

    def once(event) -> None:
        if event not in seen:
            seen.add(event)
            emit(event)

    copies = outcome.copies
    if copies[0].attachments:
        emit(AttachmentsFound(msg.mid, copies[0].attachments))
    # The first policy's recipients stay on this MID; the others get their line with their new MID.
    emit(PolicyMatched(msg.mid, copies[0].policy, outcome.direction, len(copies) == 1))
    for c in copies:
        for name, label, protection in c.unlocked:
            once(AttachmentUnlocked(msg.mid, name, label, protection))
        for u in c.urls:
            once(AttachmentUrl(msg.mid, u.url, u.attachment, u.verdict, u.source, u.score))
        for d in c.dlp:
            once(DlpViolation(msg.mid, d.policy, d.severity, d.risk_factor, d.action, d.matches))
        for s in c.stages:
            # An engine that is on but passed this message by (its size, the policy) says so in the log.
            if s.verdict != "NOT_CONFIGURED" and (s.verdict != "SKIPPED" or s.stage in ENGINE_STAGES):
                once(StageVerdict(msg.mid, s.stage, s.verdict, s.detail))
                if s.stage == "antivirus" and s.verdict != "SKIPPED":
                    once(AntivirusScanned(msg.mid, s.verdict, s.detail))
        for text in c.log_entries:
            once(CustomLogEntry(msg.mid, text))
        for kind, addresses in c.not_sent:
            once(StageVerdict(msg.mid, kind, "NOT_SUPPORTED", f"{kind}() to {', '.join(addresses)} "
                              "is not supported yet: nothing was sent"))


def rewrite(msg: QueuedMessage, result: PolicyOutcome) -> None:
    if result.content is not None:
        msg.content = result.content
        msg.size = len(msg.content)


def retry_seconds(config: Config, result: PolicyOutcome) -> int:
    """A deferred copy waits for its engine's retry interval."""
    return getattr(getattr(config, result.deferred_stage, None), "retry_seconds", DEFAULT_RETRY_SECONDS)


def notices(msg: QueuedMessage, result: PolicyOutcome, hostname: str) -> list[tuple[list[str], bytes]]:
    """(recipients, content) of each notification the engines' actions asked for."""
    out = []
    for note in result.notifications:
        to = {"sender": [msg.sender] if msg.sender else [],
              "recipients": [r.address for r in msg.recipients]}.get(note.to, [note.to])
        if to:
            out.append((to, build_notice(msg, note.stage, note.verdict, result.policy, hostname)))
    return out
