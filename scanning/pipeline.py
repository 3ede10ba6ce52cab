"""The pipeline: the appliance's stage order, one policy's copy of a message at a time.

message filters -> URL scanning of attachments -> anti-spam -> anti-virus ->
file reputation -> graymail -> content filters -> DLP (outgoing only).

A stage that a later issue fills (message filters, URL scanning, anti-spam,
anti-virus, file reputation, graymail, content filters, DLP) is a real
interface that answers NOT_CONFIGURED with the reason, never a made-up
result. The engine imports only the configuration and opens no socket:
clients (DNS, HTTP, reputation) are injected by the caller.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Protocol

from asyncos_cli.config.schema import Config, MailPolicy

from .message import ParsedMessage
from .policies import split

#: Stage names in the appliance's order.
STAGES = ("message_filters", "url_scanning", "antispam", "antivirus", "file_reputation", "graymail",
          "content_filters", "dlp")


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipients: tuple[str, ...]
    direction: str = "incoming"  # or "outgoing"
    remote_ip: str = ""
    mid: int = 0


@dataclass(frozen=True)
class StageResult:
    stage: str
    verdict: str  # NEGATIVE, POSITIVE, SKIPPED, NOT_CONFIGURED, UNSCANNABLE, MALFORMED
    detail: str = ""


@dataclass(frozen=True)
class PolicyVerdict:
    """The outcome for one policy's copy of the message."""

    policy: str
    direction: str
    recipients: tuple[str, ...]
    stages: tuple[StageResult, ...]
    action: str = "deliver"
    findings: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class StageContext:
    message: ParsedMessage
    envelope: Envelope
    policy: MailPolicy
    config: Config
    #: The message filters' decisions (filters.Outcome), when they ran.
    outcome: object = None


class Stage(Protocol):
    name: str

    def run(self, ctx: StageContext) -> StageResult: ...


class _Pending:
    """A stage whose engine a later issue builds: an honest NOT_CONFIGURED (or SKIPPED when off)."""

    def __init__(self, name: str, switch: str | None, why: str):
        self.name, self.switch, self.why = name, switch, why

    def run(self, ctx: StageContext) -> StageResult:
        if self.switch is not None and not getattr(ctx.policy, self.switch):
            return StageResult(self.name, "SKIPPED", f"off in mail policy {ctx.policy.name}")
        return StageResult(self.name, "NOT_CONFIGURED", self.why)


class _Dlp(_Pending):
    def run(self, ctx: StageContext) -> StageResult:
        if ctx.envelope.direction != "outgoing":
            return StageResult(self.name, "SKIPPED", "DLP scans outgoing mail only")
        return super().run(ctx)


class _ContentFilters(_Pending):
    def run(self, ctx: StageContext) -> StageResult:
        if not ctx.policy.content_filters:
            return StageResult(self.name, "SKIPPED", f"no content filters in mail policy {ctx.policy.name}")
        return super().run(ctx)


class MessageFilters:
    """The administrator's message filters, compiled once per script version."""

    name = "message_filters"

    def run(self, ctx: StageContext) -> StageResult:
        from .filters import Facts, run_filters

        entries = ctx.config.message_filters.filters
        if not entries:
            return StageResult(self.name, "SKIPPED", "no message filters")
        filters = _compiled(tuple((f.name, f.script, f.active) for f in entries))
        outcome = run_filters(filters, Facts(ctx.message, ctx.envelope, ctx.policy.name,
                                             ctx.config.system.hostname))
        ctx.outcome = outcome
        if not outcome.matched:
            return StageResult(self.name, "NO_MATCH", "")
        return StageResult(self.name, "MATCH", ", ".join(outcome.matched))


@lru_cache(maxsize=16)
def _compiled(entries: tuple) -> list:
    from .filters import parse_filters

    out = []
    for name, script, active in entries:
        for f in parse_filters(script):
            out.append(f.__class__(f.name, active, f.body, f.source))  # the stored switch decides (filters set)
    return out


def default_stages() -> list[Stage]:
    """The stages in order; later issues replace the pending ones with engines."""
    return [
        MessageFilters(),
        _Pending("url_scanning", None, "URL scanning of attachments is not supported yet"),
        _Pending("antispam", "antispam", "no anti-spam engine is configured (not supported yet)"),
        _Pending("antivirus", "antivirus", "no anti-virus engine is configured (not supported yet)"),
        _Pending("file_reputation", "file_reputation", "file reputation is not configured (not supported yet)"),
        _Pending("graymail", "graymail", "graymail detection is not supported yet"),
        _ContentFilters("content_filters", None, "content filters are not supported yet"),
        _Dlp("dlp", "dlp", "no DLP policy is configured (not supported yet)"),
    ]


def scan(message: ParsedMessage, envelope: Envelope, config: Config,
         stages: list[Stage] | None = None) -> list[PolicyVerdict]:
    """One verdict per mail policy the recipients fall under (the appliance's message splitting).

    Message filters run once, on the whole message, before the split (as on the
    appliance); every later stage runs per policy.
    """
    stages = stages if stages is not None else default_stages()
    groups = split(config.mail_policies, envelope.direction, envelope.sender, list(envelope.recipients))
    pre: list[StageResult] = []
    if message.malformed:
        pre.append(StageResult("mime", "MALFORMED", message.malformed))
    unscannable = [a for a in message.all_attachments() if a.unscannable]
    if unscannable:
        pre.append(StageResult("extraction", "UNSCANNABLE",
                               "; ".join(f"{a.filename or '(unnamed)'}: {a.unscannable}" for a in unscannable)))
    outcome = None
    if stages and stages[0].name == "message_filters":
        ctx = StageContext(message, envelope, groups[0][0], config)
        pre.append(_safely(stages[0], ctx))
        outcome = ctx.outcome
        stages = stages[1:]
    final = getattr(outcome, "final", None)
    out = []
    for policy, rcpts in groups:
        ctx = StageContext(message, envelope, policy, config, outcome)
        results = list(pre)
        if final not in ("drop", "bounce", "quarantine"):  # a final filter action: later stages never see it
            results += [_safely(stage, ctx) for stage in stages]
        findings = {
            "attachments": [
                {"name": a.filename, "type": a.detected_type, "declared": a.declared_type, "size": a.size,
                 "sha256": a.sha256, "path": list(a.path), "protected": a.protected,
                 "unscannable": a.unscannable}
                for a in message.all_attachments()
            ],
            "size": message.size,
        }
        action = "deliver"
        if outcome is not None:
            o = outcome
            action = o.final if o.final in ("drop", "bounce", "quarantine") else "deliver"
            findings["filters"] = {"matched": o.matched, "final_by": o.final_by, "log_entries": o.log_entries,
                                   "add_headers": o.add_headers, "strip_headers": o.strip_headers,
                                   "dropped_attachments": o.dropped_attachments, "quarantine": o.quarantine,
                                   "notify": o.notify, "bcc": o.bcc}
        out.append(PolicyVerdict(policy.name, envelope.direction, tuple(rcpts), tuple(results), action, findings))
    return out


def _safely(stage: Stage, ctx: StageContext) -> StageResult:
    try:
        return stage.run(ctx)
    except Exception as e:  # a stage's failure is that stage's verdict; the others still run
        return StageResult(stage.name, "UNSCANNABLE", f"{type(e).__name__}: {e}")


def render_json(verdicts: list[PolicyVerdict]) -> str:
    return json.dumps([v.to_json() for v in verdicts], ensure_ascii=False)
