"""The repeat-clicker list of a phishing-awareness service (Cisco Secure Awareness style).

The list is state, not configuration: it is never rolled back and is kept
in the state table with its version, so the daemon notices an import made
from the shell. The daemon refreshes it from the service on schedule; a
refresh that fails keeps the last good list and raises an alert event.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

STATE_KEY = "awareness.repeat_clickers"


@dataclass(frozen=True)
class ClickerList:
    addresses: frozenset
    version: int = 0
    fetched: float = 0.0
    source: str = ""


def load(state) -> ClickerList:
    data = state.get(STATE_KEY) or {}
    return ClickerList(frozenset(data.get("addresses", ())), int(data.get("version", 0)),
                       float(data.get("fetched", 0.0)), str(data.get("source", "")))


def store(state, addresses, source: str) -> ClickerList:
    current = load(state)
    clean = sorted({a.strip().lower() for a in addresses if "@" in a.strip()})
    new = ClickerList(frozenset(clean), current.version + 1, time.time(), source)
    state.put(STATE_KEY, {"addresses": clean, "version": new.version, "fetched": new.fetched, "source": source})
    return new


def parse(body: str) -> list[str]:
    """A JSON list (of addresses or of objects with "email"), {"repeat_clickers": [...]}, or one per line."""
    try:
        data = json.loads(body)
    except ValueError:
        return [line.strip() for line in body.splitlines() if line.strip() and not line.startswith("#")]
    if isinstance(data, dict):
        data = data.get("repeat_clickers", data.get("users", []))
    out = []
    for item in data if isinstance(data, list) else []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("email"), str):
            out.append(item["email"])
    return out


def fetch(config, keyring, verify) -> list[str]:
    """The service's current list (blocking: the daemon runs it in a thread)."""
    from .outbound import http_session

    a = config.awareness
    session = http_session(config.outbound, keyring)
    session.verify = verify
    headers = {"Authorization": f"Bearer {keyring.reveal(a.token)}"} if a.token is not None else {}
    r = session.get(a.url, headers=headers, timeout=config.outbound.timeout_seconds)
    r.raise_for_status()
    addresses = parse(r.text)
    if not addresses and r.text.strip() not in ("[]", "{}", ""):
        raise ValueError("the answer holds no addresses")
    return addresses
