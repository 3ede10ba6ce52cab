"""The threat engines' stages: anti-spam, anti-virus, file reputation.

The engines themselves (clamd, Rspamd, the reputation service) are reached by
the caller, which holds the sockets; this module does the two halves that need
the parsed message and the policy:

- ``engine_work`` says what to send: the attachments to scan one by one
  (top-level files and what a passphrase decrypted), the files to look up by
  SHA-256, and the URLs found inside attachments (for Rspamd);
- the stages turn the caller's raw answers (``EngineResults``) into each mail
  policy's verdict and actions: thresholds, strip, quarantine, subject tags,
  headers, notifications.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from asyncos_cli.config.engines import VerdictAction, split_header
from asyncos_cli.config.schema import Config

from .message import ParsedMessage
from .verdict import StageResult


@dataclass
class EngineResults:
    """What the caller's engine clients answered for one message (plain data: it crosses processes).

    antivirus: {"verdict": clean|infected|unscannable|unavailable, "detail": str, "threats": [names],
                "infected": [top-level attachment SHA-256], "in_body": bool}
    antispam:  {"verdict": scored|skipped|unavailable, "score": float, "detail": str, "symbols": [names]}
    file_reputation: {"files": [{"sha256", "name", "verdict": clean|malicious|unknown|unscannable,
                      "threat", "top"}], "detail": str}
    """

    antivirus: dict | None = None
    antispam: dict | None = None
    file_reputation: dict | None = None


@dataclass
class EngineWork:
    """What one message needs from the engines (built in a worker, sent back to the caller)."""

    #: (label, top-level SHA-256, bytes, decrypted): each top-level attachment and each decrypted file, for clamd.
    av_parts: list = field(default_factory=list)
    #: {"name", "sha256", "type", "size", "top", "data" (bytes when analysis is on)} for the reputation lookup.
    lookups: list = field(default_factory=list)
    #: Files too big (or unreadable) to look up: their verdict is "unscannable".
    unscannable_lookups: list = field(default_factory=list)
    #: URLs inside attachments, passed to Rspamd with the message.
    urls: list = field(default_factory=list)


def _label(a) -> str:
    return "/".join(a.path + (a.filename or "(unnamed)",))


def engine_work(message: ParsedMessage, config: Config) -> EngineWork:
    work = EngineWork()
    tops = {}
    for top in message.attachments:
        for a in _walk(top):
            tops[id(a)] = top.sha256
    if config.antivirus.enabled:
        for top in message.attachments:
            work.av_parts.append((_label(top), top.sha256, top.data, False))
            # clamd cannot see through the encryption: what a passphrase opened goes in the clear (a zip
            # member that was decrypted, or the plain document inside an encrypted Office file).
            work.av_parts += [(_label(a), top.sha256, a.data, True) for a, parent in _walk_with_parent(top)
                              if parent is not None and a.data and (a.unlocked_by or parent.unlocked_by)]
    fr = config.file_reputation
    if fr.enabled:
        seen = set()
        for a in message.all_attachments():
            if not a.sha256 or a.sha256 in seen or not fr.wants(a.detected_type):
                continue
            seen.add(a.sha256)
            item = {"name": _label(a), "sha256": a.sha256, "type": a.detected_type, "size": a.size,
                    "top": tops.get(id(a), a.sha256)}
            if a.size > fr.max_file_bytes:
                work.unscannable_lookups.append({**item, "verdict": "unscannable",
                                                 "threat": f"larger than {fr.max_file_bytes} bytes"})
                continue
            if fr.analysis:
                item["data"] = a.data
            work.lookups.append(item)
    if config.antispam.enabled:
        work.urls = sorted({u for a in message.all_attachments() for u in a.urls})
    return work


def _walk(a):
    yield a
    for c in a.children:
        yield from _walk(c)


def _walk_with_parent(a, parent=None):
    yield a, parent
    for c in a.children:
        yield from _walk_with_parent(c, a)


def locked(message: ParsedMessage) -> list[str]:
    """Files no passphrase opened (an archive whose members were all opened is not one of them)."""
    return [_label(a) for a in message.all_attachments() if a.protected and not a.unlocked_by and not a.children]


# ---------------------------------------------------------------- applying a verdict's action


def apply_action(ctx, stage: str, verdict: str, act: VerdictAction, strip: tuple[dict, ...] = ()) -> str:
    """Carry out one verdict's action on this policy's copy; returns what was done, for the log."""
    out = ctx.outcome
    done = act.action
    if act.action == "strip":
        if strip:
            out.dropped_attachments.extend(strip)
            done = "strip " + ", ".join(d["name"] for d in strip)
        else:  # nothing to strip (the threat is in the body): the message cannot be made safe
            ctx.decide(stage, "drop", f"{stage} ({verdict})")
            done = "drop (the threat is in the message body, nothing to strip)"
    elif act.action in ("drop", "quarantine"):
        ctx.decide(stage, act.action, f"{stage} ({verdict})", act.quarantine)
    if ctx.outcome.final != "drop":  # marks on a copy nobody receives would be noise
        if act.subject_tag:
            ctx.subject_tags.append(act.subject_tag)
        if act.header:
            ctx.outcome.add_headers.append(split_header(act.header))
    for who in act.notify:  # a dropped message is exactly when someone may need to know
        ctx.notifications.append({"to": who, "stage": stage, "verdict": verdict})
    return done


class EngineStage:
    """What every engine stage checks first: the engine asked, the policy's switch, the engine reachable."""

    name: str
    #: What the stage says when the engine is off.
    off: str

    def run(self, ctx):
        r = getattr(ctx.engines, self.name)
        section = getattr(ctx.config, self.name)
        if r is None:
            return _not_asked(self.name, section, self.off)
        if not getattr(ctx.policy, self.name):
            return StageResult(self.name, "SKIPPED", f"off in mail policy {ctx.policy.name}")
        if r.get("verdict") == "unavailable":
            return _unavailable(ctx, self.name, section, r["detail"])
        return self.verdict(ctx, r)


class AntiSpam(EngineStage):
    name = "antispam"
    off = "anti-spam scanning is off (antispamconfig)"

    def verdict(self, ctx, r):
        if r["verdict"] == "skipped":
            return StageResult(self.name, "SKIPPED", r["detail"])
        rules = ctx.policy.antispam_actions
        score = r["score"]
        verdict = ("positive" if score >= rules.positive_threshold else
                   "suspect" if score >= rules.suspect_threshold else "negative")
        done = apply_action(ctx, self.name, verdict, getattr(rules, verdict))
        return StageResult(self.name, verdict.upper(), f"score {score:g} (positive {rules.positive_threshold:g}, "
                                                       f"suspect {rules.suspect_threshold:g}); action {done}")


class AntiVirus(EngineStage):
    name = "antivirus"
    off = "anti-virus scanning is off (antivirusconfig)"

    def verdict(self, ctx, r):
        rules = ctx.policy.antivirus_actions
        sealed = locked(ctx.message)
        if r["verdict"] == "infected":
            strip = tuple({"name": n, "sha256": s, "why": "virus"} for n, s in _tops(ctx, r["infected"]))
            if r.get("in_body"):
                strip = ()
            done = apply_action(ctx, self.name, "infected", rules.infected, strip)
            return StageResult(self.name, "POSITIVE", f"{', '.join(r['threats'])}; action {done}")
        if sealed:
            done = apply_action(ctx, self.name, "encrypted", rules.encrypted)
            return StageResult(self.name, "ENCRYPTED", f"no passphrase opens {', '.join(sealed)}; action {done}")
        if r["verdict"] == "unscannable":
            done = apply_action(ctx, self.name, "unscannable", rules.unscannable)
            return StageResult(self.name, "UNSCANNABLE", f"{r['detail']}; action {done}")
        done = apply_action(ctx, self.name, "clean", rules.clean)
        return StageResult(self.name, "NEGATIVE", "" if done == "deliver" else f"action {done}")


class FileReputation(EngineStage):
    name = "file_reputation"
    off = "file reputation is off (ampconfig)"

    def verdict(self, ctx, r):
        files = r["files"]
        ctx.findings["file_reputation"] = files
        if not files:
            return StageResult(self.name, "SKIPPED", "no attachment of the looked-up types")
        rules = ctx.policy.file_reputation_actions
        for verdict in ("malicious", "unscannable", "unknown"):
            hits = [f for f in files if f["verdict"] == verdict]
            if hits:
                strip = tuple({"name": n, "sha256": s, "why": "malware"}
                              for n, s in _tops(ctx, [f["top"] for f in hits]))
                done = apply_action(ctx, self.name, verdict, getattr(rules, verdict), strip)
                names = ", ".join(f"{f['name']}" + (f" ({f['threat']})" if f.get("threat") else "") for f in hits)
                return StageResult(self.name, verdict.upper(), f"{names}; action {done}")
        return StageResult(self.name, "CLEAN", ", ".join(f["name"] for f in files))


def _tops(ctx, shas) -> list[tuple[str, str]]:
    wanted = set(shas)
    return [(a.filename or "(unnamed)", a.sha256) for a in ctx.message.attachments if a.sha256 in wanted]


def _not_asked(stage: str, section, off: str):
    if not section.enabled:
        return StageResult(stage, "NOT_CONFIGURED", off)
    # On but not asked: trace --engines=no runs the pipeline without reaching the engines.
    return StageResult(stage, "NOT_CONFIGURED", "the engine is on but was not asked (trace --engines=no)")


def _unavailable(ctx, stage: str, section, detail: str):
    action = section.unavailable_action
    if action == "quarantine":
        ctx.decide(stage, "quarantine", f"{stage} (engine unavailable)", section.unavailable_quarantine)
    elif action == "defer":
        ctx.decide(stage, "defer", f"{stage} (engine unavailable)")
    return StageResult(stage, "UNAVAILABLE", f"{detail}; action {action}")
