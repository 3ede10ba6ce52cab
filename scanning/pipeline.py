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
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from asyncos_cli.config.schema import Config, MailPolicy

from .engines import AntiSpam, AntiVirus, EngineResults, FileReputation
from .message import ParsedMessage
from .policies import split
from .verdict import PolicyVerdict, StageResult

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
    #: Days the sender's domain has been known as a sender, 0 to 90 (None: not known, as in trace).
    sender_maturity: int | None = None
    #: The envelope sender's domain reputation at MAIL FROM (SDR), and its threat category.
    sdr_verdict: str = ""
    sdr_category: str = ""
    #: DKIM verification at reception: pass, fail, temperror, permerror, none ("" when not verified).
    dkim: str = ""
    #: SPF of the MAIL FROM identity at reception: pass, fail, softfail, neutral, none, temperror, permerror.
    spf: str = ""
    #: DMARC at reception: pass, fail, none, temperror, permerror ("" when the policy does not check it).
    dmarc: str = ""
    #: SPF of the HELO identity and Sender ID of the PRA at reception ("" when not checked).
    spf_helo: str = ""
    spf_pra: str = ""


@dataclass(frozen=True)
class Clients:
    """What the caller injects: nothing here opens a socket or reads a key file itself."""

    #: (label, passphrase) in priority order, already revealed by the caller (it holds the keyring).
    passphrases: tuple[tuple[str, str], ...] = ()
    #: Remote URL reputation providers (scanning.urls.UrlReputationProvider), after the local table.
    url_providers: tuple = ()
    #: The awareness service's repeat clickers (lower-case addresses), for the policies that match them.
    repeat_clickers: frozenset = frozenset()

    @classmethod
    def for_config(cls, config: Config, reveal) -> "Clients":
        """Clients for a configuration; ``reveal`` turns a stored Secret into its text (Keyring.reveal)."""
        passphrases = tuple((f"priority {p.priority}", reveal(p.passphrase))
                            for p in config.protected_attachments.ordered())
        return cls(passphrases)

    def with_clickers(self, addresses) -> "Clients":
        from dataclasses import replace

        return replace(self, repeat_clickers=frozenset(a.lower() for a in addresses))


NO_CLIENTS = Clients()


@dataclass
class StageContext:
    message: ParsedMessage
    envelope: Envelope
    policy: MailPolicy
    config: Config
    #: The decisions so far (filters.Outcome): message filters' first, then the stages'.
    outcome: object = None
    url_reputation: object = None
    hash_lists: dict = field(default_factory=dict)
    findings: dict = field(default_factory=dict)
    #: The engines' answers for this message (scanning.engines.EngineResults).
    engines: object = None
    #: Put in front of the subject of this policy's copy, in stage order.
    subject_tags: list = field(default_factory=list)
    #: Notifications the stages asked for: {"to", "stage", "verdict"}.
    notifications: list = field(default_factory=list)

    def facts(self):
        from .filters import Facts

        return Facts(self.message, self.envelope, self.policy.name, self.config.system.hostname,
                     hash_lists=self.hash_lists, url_reputation=self.url_reputation)

    def decide(self, stage: str, action: str, by: str, quarantine: str = "") -> None:
        """``stage`` takes the final ``action`` for this copy; ``by`` is how the logs name it. A quarantine does
        not stop the DLP stage (its incident is still recorded after a blocked URL), so a later decision replaces
        an earlier one only when it is stronger (drop or bounce over quarantine; the first quarantine stays)."""
        if _STRENGTH.get(action, 0) <= _STRENGTH.get(self.outcome.final or "", 0):
            return
        self.outcome.final, self.outcome.final_by, self.outcome.final_stage = action, by, stage
        if action == "quarantine":
            self.outcome.quarantine = quarantine


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


class DlpStage:
    """DLP on outgoing mail: the mail policy's DLP policies over the body and every attachment's text."""

    name = "dlp"

    def run(self, ctx: StageContext) -> StageResult:
        from .dlp.engine import evaluate, strongest

        if ctx.envelope.direction != "outgoing":
            return StageResult(self.name, "SKIPPED", "DLP scans outgoing mail only")
        if not ctx.policy.dlp:
            return StageResult(self.name, "SKIPPED", f"off in mail policy {ctx.policy.name}")
        if not ctx.policy.dlp_policies:
            return StageResult(self.name, "SKIPPED", f"no DLP policy in mail policy {ctx.policy.name}")
        sources = [("body", ctx.message.body_text)]
        sources += [("/".join(a.path + (a.filename or "(unnamed)",)), a.text) for a in ctx.message.all_attachments()
                    if a.text]
        results = evaluate(sources, ctx.policy.dlp_policies, ctx.config.dlp)
        ctx.findings["dlp"] = [r.to_json() for r in results]
        worst = strongest(results)
        if worst is None:
            return StageResult(self.name, "NEGATIVE", "no DLP policy matched")
        notes = []
        for r in results:
            if r.action in ("add-header", "encrypt"):
                ctx.outcome.add_headers.append(("X-DLP-Violation", f"{r.policy}; severity {r.severity.upper()}; "
                                                                   f"risk factor {r.risk}"))
            if r.action == "encrypt":
                ctx.outcome.add_headers.append(("X-DLP-Encrypt", r.policy))
                notes.append("encryption is not supported yet: flagged with X-DLP-Encrypt, delivered")
            if r.action == "notify":
                notes.append("notify is not supported yet: no notification sent")
        if worst.action in ("drop", "quarantine"):
            ctx.decide("dlp", worst.action, f"DLP policy {worst.policy}", "Policy")
        summary = "; ".join(f"{r.policy}: severity {r.severity.upper()} (risk factor {r.risk}), "
                            f"{len(r.matches)} matches, action {r.action}" for r in results)
        return StageResult(self.name, "POSITIVE", summary + ("; " + "; ".join(notes) if notes else ""))


class MessageFilters:
    """The administrator's message filters, compiled once per script version."""

    name = "message_filters"

    def run(self, ctx: StageContext) -> StageResult:
        from .filters import run_filters

        entries = ctx.config.message_filters.filters
        if not entries:
            return StageResult(self.name, "SKIPPED", "no message filters")
        filters = _compiled(tuple((f.name, f.script, f.active) for f in entries))
        run_filters(filters, ctx.facts(), ctx.outcome)
        if not ctx.outcome.matched:
            return StageResult(self.name, "NO_MATCH", "")
        return StageResult(self.name, "MATCH", ", ".join(ctx.outcome.matched))


class UrlScanning:
    """URLs in attachments (documents, archives, decrypted files) against the reputation providers."""

    name = "url_scanning"

    def run(self, ctx: StageContext) -> StageResult:
        settings = ctx.config.scanning
        if not settings.url_scanning:
            return StageResult(self.name, "SKIPPED", "URL scanning of attachments is off (scanconfig)")
        found = []
        for a in ctx.message.all_attachments():
            for url in a.urls:
                v = ctx.url_reputation.verdict(url)
                found.append({"url": url, "attachment": "/".join(a.path + (a.filename,)), "verdict": v.verdict,
                              "score": v.score, "source": v.source})
        ctx.findings["urls"] = found
        if not found:
            return StageResult(self.name, "NEGATIVE", "no URLs in attachments")
        blocked = [f["url"] for f in found if f["verdict"] == "blocked"]
        if not blocked:
            return StageResult(self.name, "NEGATIVE", f"{len(found)} URLs, none blocked")
        action = settings.url_blocked_action
        if action != "deliver":
            ctx.decide("url_scanning", action, "url_scanning", settings.url_quarantine)
        return StageResult(self.name, "POSITIVE", f"blocked URL in attachment: {', '.join(blocked[:5])}; "
                                                  f"action {action}")


class ContentFilters:
    """The content filters the mail policy lists, in its order, over the same primitives as message filters."""

    name = "content_filters"

    def run(self, ctx: StageContext) -> StageResult:
        from .filters import run_filters

        names = ctx.policy.content_filters
        if not names:
            return StageResult(self.name, "SKIPPED", f"no content filters in mail policy {ctx.policy.name}")
        entries, missing = [], []
        for name in names:
            cf = ctx.config.content_filters.get(ctx.envelope.direction, name)
            if cf is None:
                missing.append(name)
            else:
                entries.append((cf.name, cf.script, True))
        before = len(ctx.outcome.matched)
        ctx.outcome.stopped = False  # skip-filters in a message filter skips message filters only
        run_filters(_compiled(tuple(entries)), ctx.facts(), ctx.outcome)
        matched = ctx.outcome.matched[before:]
        note = f" (not defined: {', '.join(missing)})" if missing else ""
        if not matched:
            return StageResult(self.name, "NO_MATCH", note.strip())
        return StageResult(self.name, "MATCH", ", ".join(matched) + note)


@lru_cache(maxsize=32)
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
        UrlScanning(),
        AntiSpam(),
        AntiVirus(),
        FileReputation(),
        _Pending("graymail", "graymail", "graymail detection is not supported yet"),
        ContentFilters(),
        DlpStage(),
    ]


def parse_for(raw: bytes, direction: str, config: Config, clients: Clients = NO_CLIENTS) -> ParsedMessage:
    """Parse under the configuration: its bounds, and the passphrases when protected scanning is on."""
    from .extract.unlock import Unlocker
    from .extract.zipfiles import Limits
    from .message import parse

    pa = config.protected_attachments
    enabled = pa.inbound if direction == "incoming" else pa.outbound
    unlocker = Unlocker(list(clients.passphrases), pa.budget_seconds, pa.share_seconds) if enabled else None
    return parse(raw, Limits.from_config(config.scanning), unlocker, harvest=enabled and pa.harvest_from_body)


def scan(message: ParsedMessage, envelope: Envelope, config: Config, stages: list[Stage] | None = None,
         clients: Clients = NO_CLIENTS, engines: EngineResults | None = None) -> list[PolicyVerdict]:
    """One verdict per mail policy the recipients fall under (the appliance's message splitting).

    Message filters run once, on the whole message, before the split (as on the
    appliance); every later stage runs per policy. Once a stage or filter takes a
    final action (drop, bounce, quarantine) the later stages are not run.
    """
    from .filters import Outcome
    from .urls import LocalUrlTable, UrlReputation

    stages = stages if stages is not None else default_stages()
    engines = engines or EngineResults()
    groups = split(config.mail_policies, envelope.direction, envelope.sender, list(envelope.recipients),
                   clients.repeat_clickers)
    url_reputation = UrlReputation([LocalUrlTable(config.reputation), *clients.url_providers])
    hash_lists = {h.name.lower(): set(h.hashes) for h in config.hash_lists.lists}
    pre: list[StageResult] = []
    unscannable = _unscannable(message)
    if message.malformed:
        pre.append(StageResult("mime", "MALFORMED", message.malformed))
    if unscannable and not message.malformed:
        pre.append(StageResult("extraction", "UNSCANNABLE", unscannable))
    flagged = "; ".join(f"{'/'.join(a.path + (a.filename or '(unnamed)',))}: {flag}"
                        for a in message.all_attachments() for flag in a.flags)
    if flagged:  # scanned in full, but the names are an attack on whoever unpacks it: the log and tracking say so
        pre.append(StageResult("archive_member_names", "FLAGGED", flagged))
    first = Outcome()
    if stages and stages[0].name == "message_filters":
        ctx = StageContext(message, envelope, groups[0][0], config, first, url_reputation, hash_lists)
        pre.append(_safely(stages[0], ctx))
        stages = stages[1:]
    out = []
    for policy, rcpts in groups:
        ctx = StageContext(message, envelope, policy, config, first.copy(), url_reputation, hash_lists,
                           engines=engines)
        results = list(pre)
        for stage in stages:
            if ctx.outcome.final in STOPPING_ACTIONS:
                break  # dropped, bounced or deferred: later stages never see the message
            if ctx.outcome.final == "quarantine" and not (stage.name == "dlp" and envelope.direction == "outgoing"):
                continue  # quarantined: the engines are not asked, but outgoing DLP still records its incident
            results.append(_safely(stage, ctx))
        if unscannable and ctx.outcome.final not in FINAL_ACTIONS:
            _unscannable_action(ctx, unscannable)
        o = ctx.outcome
        action = o.final if o.final in FINAL_ACTIONS else "deliver"
        findings = {
            "attachments": [
                {"name": a.filename, "type": a.detected_type, "declared": a.declared_type, "size": a.size,
                 "sha256": a.sha256, "path": list(a.path), "protected": a.protected, "protection": a.protection,
                 "unlocked_by": a.unlocked_by, "unscannable": a.unscannable, "urls": list(a.urls),
                 "flags": list(a.flags)}
                for a in message.all_attachments()
            ],
            "size": message.size,
            "filters": o.summary(),
            "subject_tags": ctx.subject_tags,
            "notifications": ctx.notifications,
            **ctx.findings,
        }
        out.append(PolicyVerdict(policy.name, envelope.direction, tuple(rcpts), tuple(results), action, findings,
                                 o.final_by if action != "deliver" else "", o.quarantine if action == "quarantine"
                                 else "", o.final_stage if action != "deliver" else ""))
    return out


#: "defer": an engine was unavailable and its settings say to keep the message queued and scan it again.
FINAL_ACTIONS = ("drop", "bounce", "quarantine", "defer")
#: What ends the pipeline for a copy; after a quarantine only the DLP stage still runs.
STOPPING_ACTIONS = ("drop", "bounce", "defer")
_STRENGTH = {"quarantine": 1, "bounce": 2, "drop": 2, "defer": 3}


def _unscannable(message: ParsedMessage) -> str:
    reasons = [f"{'/'.join(a.path + (a.filename or '(unnamed)',))}: {a.unscannable}"
               for a in message.all_attachments() if a.unscannable]
    if message.malformed:
        reasons.insert(0, f"malformed MIME: {message.malformed}")
    return "; ".join(reasons)


def _unscannable_action(ctx: StageContext, reason: str) -> None:
    settings = ctx.config.scanning
    if settings.unscannable_action == "deliver":
        if settings.unscannable_header:
            ctx.outcome.add_headers.append((settings.unscannable_header, reason[:900]))
        return
    ctx.decide("unscannable", settings.unscannable_action, "unscannable", settings.unscannable_quarantine)


def _safely(stage: Stage, ctx: StageContext) -> StageResult:
    try:
        return stage.run(ctx)
    except Exception as e:  # a stage's failure is that stage's verdict; the others still run
        return StageResult(stage.name, "UNSCANNABLE", f"{type(e).__name__}: {e}")


def render_json(verdicts: list[PolicyVerdict]) -> str:
    return json.dumps([v.to_json() for v in verdicts], ensure_ascii=False)
