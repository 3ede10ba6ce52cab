"""The engine's entry point in a worker process: bytes and an envelope in, a typed outcome out.

Runs in a process pool (one worker per core) so that the SMTP event loop
never waits on parsing or scanning. What comes back is scanning.verdict's
ScanOutcome: one PolicyOutcome per mail policy the recipients fall under,
with the content rewritten for that policy's copy when its actions changed
it, and what the relay logs already named (no text to parse again).
"""

from __future__ import annotations

from asyncos_cli.config.schema import Config

from .engines import EngineResults
from .memorycap import memory_cap
from .pipeline import NO_CLIENTS, Clients, Envelope, parse_for, scan
from .rewrite import rewrite
from .verdict import (
    Action,
    DlpFinding,
    Notification,
    PolicyOutcome,
    PolicyVerdict,
    ScanOutcome,
    UrlFinding,
)

_snapshots: dict[int, tuple[Config, Clients]] = {}


def snapshot(key: int, blob: bytes) -> tuple[Config, Clients]:
    """The snapshot ``key`` (configuration and clients), unpickled once per worker, not once per message."""
    found = _snapshots.get(key)
    if found is None:
        import pickle

        found = pickle.loads(blob)
        _snapshots.clear()  # only the newest version is ever asked for again
        _snapshots[key] = found
    return found


def scan_batch(jobs: list[tuple], key: int, blob: bytes) -> list:
    """Several messages in one hand-off; a message whose scan fails gets its exception, the others their outcome.

    A job is (raw, envelope) or (raw, envelope, EngineResults).
    """
    config, clients = snapshot(key, blob)
    out = []
    for raw, envelope, *engines in jobs:
        try:
            copies = scan_message(raw, envelope, config, clients, engines[0] if engines else None)
            out.append(ScanOutcome(envelope.direction, tuple(copies)))
        except Exception as e:  # one message's failure is that message's verdict
            out.append(e)
    return out


def scan_message(raw: bytes, envelope: Envelope, config: Config, clients: Clients = NO_CLIENTS,
                 engines: EngineResults | None = None) -> list[PolicyOutcome]:
    return scan_parsed(raw, parse_capped(raw, envelope, config, clients), envelope, config, clients, engines)


def parse_capped(raw: bytes, envelope: Envelope, config: Config, clients: Clients = NO_CLIENTS):
    """The message parsed and its attachments opened within scanconfig's memory bound (worker processes only)."""
    with memory_cap(config.scanning.max_memory_bytes):
        return parse_for(raw, envelope.direction, config, clients)


def scan_parsed(raw: bytes, message, envelope: Envelope, config: Config, clients: Clients = NO_CLIENTS,
                engines: EngineResults | None = None) -> list[PolicyOutcome]:
    """One PolicyOutcome per mail policy for a message parsed already (scanning.pipeline.parse_for)."""
    out = []
    for v in scan(message, envelope, config, clients=clients, engines=engines):
        content = None
        if v.action in ("deliver", "quarantine"):
            actions = v.findings["filters"]
            headers, strip = [tuple(h) for h in actions["add_headers"]], list(actions["strip_headers"])
            if v.findings["subject_tags"]:
                strip.append("Subject")
                headers.append(("Subject", " ".join([*v.findings["subject_tags"], message.subject]).strip()))
            new = rewrite(raw, headers, strip, {d["sha256"] for d in actions["dropped_attachments"]})
            content = new if new != raw else None
        out.append(outcome_of(v, content))
    return out


def outcome_of(v: PolicyVerdict, content: bytes | None = None) -> PolicyOutcome:
    """The relay's view of one policy's verdict: typed, with the deciding stage named as the logs name it."""
    filters, findings = v.findings["filters"], v.findings
    action = Action(v.action)
    by = ""
    if action is not Action.DELIVER:
        by = v.final_by if v.final_stage else f"filter {v.final_by}" if v.final_by else "a message filter"
    return PolicyOutcome(
        policy=v.policy,
        recipients=tuple(v.recipients),
        action=action,
        stages=v.stages,
        decided_by=by,
        deferred_stage=v.final_stage if action is Action.DEFER else "",
        quarantine=v.quarantine,
        content=content,
        log_entries=tuple(filters["log_entries"]),
        not_sent=tuple((kind, tuple(filters[kind])) for kind in ("notify", "bcc") if filters[kind]),
        urls=tuple(UrlFinding(u["url"], u["attachment"], u["verdict"], u["source"], u.get("score")) for u in findings.get("urls", ())),
        dlp=tuple(DlpFinding(d["policy"], d["severity"], d["risk_factor"], d["action"],
                             tuple((m["classifier"], m["confidence"], m["masked"], m["where"]) for m in d["matches"]))
                  for d in findings.get("dlp", ())),
        notifications=tuple(Notification(n["to"], n["stage"], n["verdict"]) for n in findings["notifications"]),
        unlocked=tuple((a["name"], a["unlocked_by"], a["protection"]) for a in findings["attachments"]
                       if a["unlocked_by"]),
        attachments=tuple((a["name"], a["size"], a["sha256"]) for a in findings["attachments"] if not a["path"]),
    )
