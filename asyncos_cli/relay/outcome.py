"""The outcome stage: a message's ScanOutcome carried out.

What the scan found is reported (tracking, mail_logs, consolidated events);
then the message splits into one copy per mail policy and each copy gets its
policy's action through the queue manager: delivered, dropped, bounced,
quarantined, or kept queued to be scanned again.
"""

from __future__ import annotations

import asyncio
from typing import Callable

from asyncos_cli.config.schema import Config
from asyncos_cli.events.engines import MessageDeferred
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
from .qmgr import QueueManager
from .spool import QueuedMessage

#: The threat engines' stages: their SKIPPED verdicts are logged (the others' are noise).
ENGINE_STAGES = ("antispam", "antivirus", "file_reputation")

#: How long a message waits for an unavailable engine without a retry setting of its own.
DEFAULT_RETRY_SECONDS = 60


class OutcomeStage:
    def __init__(self, queue: QueueManager, emit: Emit, config: Callable[[], Config]):
        self.queue = queue
        self.emit = emit
        self.config = config
        self._tasks: set[asyncio.Task] = set()

    def apply(self, msg: QueuedMessage, outcome: ScanOutcome) -> None:
        if outcome.failure:
            self.emit(StageVerdict(msg.mid, "scanning", "UNSCANNABLE", outcome.failure))
            self.queue.submit(msg)
            return
        self._report(msg, outcome)
        first = outcome.copies[0]
        if len(outcome.copies) == 1 and first.action is Action.DELIVER and not first.notifications:
            # The common case costs no task: a rewrite at most, then the active queue.
            _rewrite(msg, first)
            self.queue.submit(msg)
            return
        task = asyncio.get_running_loop().create_task(self._apply_copies(msg, outcome))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _apply_copies(self, msg: QueuedMessage, outcome: ScanOutcome) -> None:
        copies = await self.queue.split(msg, [(c.policy, c.recipients) for c in outcome.copies[1:]])
        for copy, result in zip(copies[1:], outcome.copies[1:]):
            self.emit(PolicyMatched(copy.mid, result.policy, outcome.direction, True))
        for copy, result in zip(copies, outcome.copies):
            await self._apply_one(copy, result)

    async def _apply_one(self, msg: QueuedMessage, result: PolicyOutcome) -> None:
        _rewrite(msg, result)
        by = result.decided_by
        if result.action is Action.DROP:
            await self.queue.drop_now(msg, by)
        elif result.action is Action.BOUNCE:
            await self.queue.bounce_now(msg, f"550 5.7.1 Bounced by {by}")
        elif result.action is Action.QUARANTINE:
            await self.queue.quarantine(msg, result.quarantine or "Policy", by, result.policy)
        elif result.action is Action.DEFER:
            self._defer(msg, result)
        else:
            self.queue.submit(msg)
        await self._notify(msg, result)

    def _defer(self, msg: QueuedMessage, result: PolicyOutcome) -> None:
        """An engine was unavailable: the message stays queued (durable already) and is scanned again later."""
        stage = result.deferred_stage
        section = getattr(self.config(), stage, None)
        retry = getattr(section, "retry_seconds", DEFAULT_RETRY_SECONDS)
        self.emit(MessageDeferred(msg.mid, f"{stage} engine unavailable", retry))
        self.queue.requeue_later(msg, retry)

    async def _notify(self, msg: QueuedMessage, result: PolicyOutcome) -> None:
        """The notifications the engines' actions asked for: a short message, queued like a DSN."""
        hostname = self.config().system.hostname
        for note in result.notifications:
            to = {"sender": [msg.sender] if msg.sender else [],
                  "recipients": [r.address for r in msg.recipients]}.get(note.to, [note.to])
            if to:
                await self.queue.generate("", to, build_notice(msg, note.stage, note.verdict, result.policy, hostname),
                                          "(notify)", "Message notification")

    def _report(self, msg: QueuedMessage, outcome: ScanOutcome) -> None:
        seen: set = set()

        def once(event) -> None:
            if event not in seen:
                seen.add(event)
                self.emit(event)

        copies = outcome.copies
        if copies[0].attachments:
            self.emit(AttachmentsFound(msg.mid, copies[0].attachments))
        # The first policy's recipients stay on this MID; the others get their line with their new MID.
        self.emit(PolicyMatched(msg.mid, copies[0].policy, outcome.direction, len(copies) == 1))
        for c in copies:
            for name, label, protection in c.unlocked:
                once(AttachmentUnlocked(msg.mid, name, label, protection))
            for u in c.urls:
                once(AttachmentUrl(msg.mid, u.url, u.attachment, u.verdict, u.source))
            for d in c.dlp:
                once(DlpViolation(msg.mid, d.policy, d.severity, d.risk_factor, d.action, d.matches))
            for s in c.stages:
                # An engine that is on but passed this message by (its size, the policy) says so in the log.
                if s.verdict != "NOT_CONFIGURED" and (s.verdict != "SKIPPED" or s.stage in ENGINE_STAGES):
                    once(StageVerdict(msg.mid, s.stage, s.verdict, s.detail))
            for text in c.log_entries:
                once(CustomLogEntry(msg.mid, text))
            for kind, addresses in c.not_sent:
                once(StageVerdict(msg.mid, kind, "NOT_SUPPORTED", f"{kind}() to {', '.join(addresses)} "
                                  "is not supported yet: nothing was sent"))


def _rewrite(msg: QueuedMessage, result: PolicyOutcome) -> None:
    if result.content is not None:
        msg.content = result.content
        msg.size = len(msg.content)
