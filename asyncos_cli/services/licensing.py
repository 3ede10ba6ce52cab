"""Licensed features as Smart Licensing reports them: for featurekey, showlicense and SNMP's key table.

The licensing server names the entitlements of a registered appliance (register and renew answers carry
``entitlements``: [{name, status, expires}]); an appliance with Smart Licensing enabled but not registered
runs every feature in evaluation for 90 days from the day it was enabled, as AsyncOS does. Classic feature
keys (strings activated one by one) are not supported: with Smart Licensing disabled no feature is listed,
and the commands say so.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass

from .cloud import LICENSE_KEY

#: Where the evaluation period started (set when Smart Licensing is first enabled).
EVAL_KEY = "licensing.evaluation"
EVAL_SECONDS = 90 * 86400

#: The features this gateway has, by the names AsyncOS 14.0's Smart Licensing lists.
FEATURES = (
    "Email Security Appliance Mail Handling",
    "Email Security Appliance Anti-Spam License",
    "Email Security Appliance Anti-Virus License",
    "Email Security Appliance Advanced Malware Protection",
    "Email Security Appliance Data Loss Prevention",
)
#: The statuses Smart Licensing gives an entitlement.
STATUSES = ("In Compliance", "Out of Compliance", "Eval", "Eval Expired", "Not Authorized", "Authorization Expired")


@dataclass(frozen=True)
class Feature:
    name: str
    status: str
    #: When it expires (epoch seconds); None: perpetual.
    expires: float | None

    def seconds_left(self, now: float) -> int:
        return 0 if self.expires is None else max(0, int(self.expires - now))


def start_evaluation(state, now: float | None = None) -> None:
    """The first time Smart Licensing is enabled, the evaluation period starts (kept across disable/enable)."""
    if not state.get(EVAL_KEY):
        state.put(EVAL_KEY, {"started": now or time.time()})


def features(state, smart_licensing: bool, now: float | None = None) -> list[Feature]:
    now = now or time.time()
    if not smart_licensing:
        return []
    record = state.get(LICENSE_KEY) or {}
    if record.get("registered"):
        return [f for f in (_entitlement(e) for e in record.get("entitlements") or ()) if f is not None]
    started = (state.get(EVAL_KEY) or {}).get("started")
    if started is None:
        return [Feature(name, "Not Authorized", None) for name in FEATURES]
    ends = started + EVAL_SECONDS
    return [Feature(name, "Eval" if now < ends else "Eval Expired", ends) for name in FEATURES]


def entitlements_of(answer: dict) -> list[dict]:
    """The entitlements of a licensing server's answer, kept as state (bad entries left out)."""
    out = []
    for e in answer.get("entitlements") or ():
        if isinstance(e, dict) and isinstance(e.get("name"), str) and e.get("status") in STATUSES:
            out.append({"name": e["name"][:200], "status": e["status"], "expires": e.get("expires")})
    return out


def _entitlement(e: dict) -> Feature | None:
    expires = e.get("expires")
    if expires is None:
        return Feature(e["name"], e["status"], None)
    try:
        when = datetime.datetime.fromisoformat(str(expires))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return Feature(e["name"], e["status"], when.timestamp())
