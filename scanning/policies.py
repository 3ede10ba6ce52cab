"""Mail policy matching: which policy each recipient's copy of a message falls under.

As on the appliance, a message whose recipients match different policies is
split: one copy per policy, each scanned under its own policy's settings.
Patterns: ``user@domain``, ``@domain``, ``@.domain`` (subdomains), ``user@``
(that local part at any domain); case-insensitive.
"""

from __future__ import annotations

from asyncos_cli.config.schema import MailPoliciesSection, MailPolicy


def address_matches(address: str, pattern: str) -> bool:
    a, p = address.lower(), pattern.lower()
    local, _, domain = a.rpartition("@")
    p_local, _, p_domain = p.rpartition("@")
    if p_local and p_local != local:
        return False
    if not p_domain:
        return True
    if p_domain.startswith("."):
        return domain.endswith(p_domain)
    return domain == p_domain


def _matches(policy: MailPolicy, sender: str, recipient: str, clickers=frozenset()) -> bool:
    if policy.repeat_clickers and recipient.lower() not in clickers:
        return False
    if policy.senders and not any(address_matches(sender, p) for p in policy.senders):
        return False
    if policy.recipients and not any(address_matches(recipient, p) for p in policy.recipients):
        return False
    return True


def split(section: MailPoliciesSection, direction: str, sender: str,
          recipients: list[str], clickers=frozenset()) -> list[tuple[MailPolicy, list[str]]]:
    """[(policy, its recipients)] in policy order; every recipient lands in exactly one.

    ``clickers``: the repeat-clicker list (lower-case addresses) that policies marked for it match.
    """
    policies = section.incoming if direction == "incoming" else section.outgoing
    groups: dict[str, list[str]] = {}
    for rcpt in recipients:
        policy = next(p for p in policies if _matches(p, sender, rcpt, clickers))  # DEFAULT matches all
        groups.setdefault(policy.name, []).append(rcpt)
    return [(p, groups[p.name]) for p in policies if p.name in groups]
