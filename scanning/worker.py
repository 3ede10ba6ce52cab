"""The engine's entry point in a worker process: bytes and an envelope in, decisions out.

Runs in a process pool (one worker per core) so that the SMTP event loop
never waits on parsing or scanning. Everything returned is plain data: one
dict per mail policy the recipients fall under, with the content rewritten
for that policy's copy when its actions changed it.
"""

from __future__ import annotations

from asyncos_cli.config.schema import Config

from .engines import EngineResults, engine_work
from .pipeline import NO_CLIENTS, Clients, Envelope, parse_for, scan
from .rewrite import rewrite

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
    """Several messages in one hand-off; a message whose scan fails gets its exception, the others their results.

    A job is (raw, envelope) or (raw, envelope, EngineResults).
    """
    config, clients = snapshot(key, blob)
    out = []
    for raw, envelope, *engines in jobs:
        try:
            out.append(scan_message(raw, envelope, config, clients, engines[0] if engines else None))
        except Exception as e:  # one message's failure is that message's verdict
            out.append(e)
    return out


def work_batch(jobs: list[tuple[bytes, Envelope]], key: int, blob: bytes) -> list:
    """What each message needs from the threat engines (scanning.engines.EngineWork), or its exception."""
    config, clients = snapshot(key, blob)
    out = []
    for raw, envelope in jobs:
        try:
            out.append(engine_work(parse_for(raw, envelope.direction, config, clients), config))
        except Exception as e:
            out.append(e)
    return out


def scan_message(raw: bytes, envelope: Envelope, config: Config, clients: Clients = NO_CLIENTS,
                 engines: EngineResults | None = None) -> list[dict]:
    message = parse_for(raw, envelope.direction, config, clients)
    out = []
    for v in scan(message, envelope, config, clients=clients, engines=engines):
        actions = v.findings["filters"]
        content = None
        if v.action in ("deliver", "quarantine"):
            headers, strip = [tuple(h) for h in actions["add_headers"]], list(actions["strip_headers"])
            if v.findings["subject_tags"]:
                strip.append("Subject")
                headers.append(("Subject", " ".join([*v.findings["subject_tags"], message.subject]).strip()))
            new = rewrite(raw, headers, strip, {d["sha256"] for d in actions["dropped_attachments"]})
            content = new if new != raw else None
        out.append({
            "policy": v.policy,
            "recipients": list(v.recipients),
            "stages": [(s.stage, s.verdict, s.detail) for s in v.stages],
            "action": v.action,
            "final_by": v.final_by,
            "quarantine": v.quarantine,
            "filters": actions,
            "urls": v.findings.get("urls", []),
            "dlp": v.findings.get("dlp", []),
            "file_reputation": v.findings.get("file_reputation", []),
            "notifications": v.findings["notifications"],
            "unlocked": [(a["name"], a["unlocked_by"], a["protection"]) for a in v.findings["attachments"]
                         if a["unlocked_by"]],
            "attachments": [(a["name"], a["size"], a["sha256"]) for a in v.findings["attachments"] if not a["path"]],
            "content": content,
        })
    return out
