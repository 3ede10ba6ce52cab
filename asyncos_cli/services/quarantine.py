"""Local policy quarantines: messages held on disk until an administrator releases or deletes them.

Layout: ``<datadir>/quarantine/<name>/<MID>.eml`` (the message as it would
have been delivered) and ``<MID>.json`` (envelope, reason, time), both
written atomically and fsynced; the JSON is written last, so an entry is
complete exactly when its JSON exists. The relay moves a message here
before it leaves the queue: a quarantined message is never lost.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from asyncos_cli.config.datadir import fsync_dir, write_private


@dataclass(frozen=True)
class Held:
    quarantine: str
    mid: int
    sender: str
    recipients: tuple[str, ...]
    subject: str
    size: int
    reason: str
    policy: str
    held_at: float

    def to_json(self) -> dict:
        return {**asdict(self), "recipients": list(self.recipients)}


class QuarantineStore:
    def __init__(self, root: Path):
        self.root = root

    def _dir(self, name: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name) or name.startswith("."):
            raise ValueError(f"invalid quarantine name {name!r}")
        return self.root / name

    def put(self, name: str, mid: int, sender: str, recipients, subject: str, content: bytes, reason: str,
            policy: str = "") -> Held:
        """Hold a message durably (blocking: the relay calls it from a thread)."""
        d = self._dir(name)
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        held = Held(name, mid, sender, tuple(recipients), subject, len(content), reason, policy, time.time())
        write_private(d / f"{mid}.eml", content)
        write_private(d / f"{mid}.json", json.dumps(held.to_json(), ensure_ascii=False).encode("utf-8"))
        fsync_dir(d)
        return held

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def held(self, name: str) -> list[Held]:
        d = self._dir(name)
        if not d.is_dir():
            return []
        out = []
        for meta in d.glob("*.json"):
            try:
                data = json.loads(meta.read_text(encoding="utf-8"))
                data["recipients"] = tuple(data["recipients"])
                out.append(Held(**data))
            except (OSError, ValueError, TypeError):
                continue  # a damaged entry is skipped in lists; its .eml stays for an administrator
        return sorted(out, key=lambda h: h.held_at)

    def get(self, name: str, mid: int) -> Held | None:
        return next((h for h in self.held(name) if h.mid == mid), None)

    def content(self, name: str, mid: int) -> bytes:
        return (self._dir(name) / f"{mid}.eml").read_bytes()

    def remove(self, name: str, mid: int) -> bool:
        d = self._dir(name)
        meta = d / f"{mid}.json"
        if not meta.exists():
            return False
        meta.unlink()  # the entry is gone from this moment; the bytes follow
        (d / f"{mid}.eml").unlink(missing_ok=True)
        return True

    def expired(self, name: str, retention_days: int, now: float | None = None) -> list[Held]:
        limit = (now or time.time()) - retention_days * 86400
        return [h for h in self.held(name) if h.held_at < limit]
