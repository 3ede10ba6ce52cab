"""The engine's entry point in a worker process: bytes and an envelope in, decisions out.

Runs in a process pool (one worker per core) so that the SMTP event loop
never waits on parsing or scanning. Everything returned is plain data.
"""

from __future__ import annotations

from asyncos_cli.config.schema import Config

from .message import parse
from .pipeline import Envelope, scan
from .rewrite import rewrite

_snapshots: dict[int, Config] = {}


def snapshot(key: int, blob: bytes) -> Config:
    """The configuration snapshot ``key``, unpickled once per worker (not once per message)."""
    config = _snapshots.get(key)
    if config is None:
        import pickle

        config = pickle.loads(blob)
        _snapshots.clear()  # only the newest version is ever asked for again
        _snapshots[key] = config
    return config


def scan_snapshot(raw: bytes, envelope: Envelope, key: int, blob: bytes) -> dict:
    return scan_message(raw, envelope, snapshot(key, blob))


def scan_message(raw: bytes, envelope: Envelope, config: Config) -> dict:
    message = parse(raw)
    verdicts = scan(message, envelope, config)
    first = verdicts[0]
    filters = first.findings.get("filters") or {}
    content = None
    if filters and first.action == "deliver":
        new = rewrite(raw, [tuple(h) for h in filters.get("add_headers", [])], filters.get("strip_headers", []),
                      filters.get("dropped_attachments", []))
        if new != raw:
            content = new
    return {
        "policies": [(v.policy, list(v.recipients)) for v in verdicts],
        "stages": [(s.stage, s.verdict, s.detail) for s in first.stages],
        "action": first.action,
        "filters": filters,
        "content": content,
    }
