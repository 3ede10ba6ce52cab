"""The host access table: which sender group, and so which mail flow policy, a client gets."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from asyncos_cli.config.addresses import domain_matches
from asyncos_cli.config.schema import HatSection, MailFlowPolicy, SenderGroup


@dataclass(frozen=True)
class HatVerdict:
    group: SenderGroup | None
    policy: MailFlowPolicy
    match: str  # the pattern that matched, as mail_logs shows it


def _matches(pattern: str, ip: str, host: str | None) -> bool:
    if pattern == "ALL":
        return True
    try:
        net = ipaddress.ip_network(pattern, strict=False)
    except ValueError:
        net = None
    if net is not None:
        try:
            return ipaddress.ip_address(ip) in net
        except ValueError:
            return False
    # Host name or .domain pattern: needs the client's verified reverse DNS name.
    return bool(host) and domain_matches(host, pattern)


def _in_range(sbrs: float | None, rng: str) -> bool:
    if sbrs is None or not rng:
        return False
    low, _, high = rng.partition(":")
    return float(low) <= sbrs <= float(high)


def classify(hat: HatSection, listener_kind: str, ip: str, host: str | None = None,
             sbrs: float | None = None) -> HatVerdict:
    """The first sender group (in table order) with a matching pattern or SBRS range wins.

    No match on a private listener means the BLOCKED policy: a private listener
    relays only for the addresses its table lists (no open relay).
    """
    for group in hat.sender_groups:
        if group.listener_kind != listener_kind:
            continue
        if _in_range(sbrs, group.sbrs_range):
            return HatVerdict(group, hat.policy(group.policy), f"SBRS[{group.sbrs_range}]")
        for pattern in group.senders:
            if _matches(pattern, ip, host):
                return HatVerdict(group, hat.policy(group.policy), pattern)
    fallback = next((p for p in hat.policies if p.action == "reject"), None) or MailFlowPolicy("BLOCKED", "reject")
    return HatVerdict(None, fallback, "nomatch")
