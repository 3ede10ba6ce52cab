"""Sender ID (RFC 4406, RFC 4407): the Purported Responsible Address of a message and the record that speaks
for an identity's scope. Pure: the caller fetches the records and evaluates the one chosen (an spf2.0 record's
terms are SPF's, so pyspf evaluates it written as v=spf1).

The appliance's conformance levels differ in what a v=spf1 record stands for: "sidf" (strict) reads it as
spf2.0/mfrom,pra (RFC 4406 3.4), "sidf-compatible" as spf2.0/mfrom only, so a domain that published SPF alone
has no PRA policy there.
"""

from __future__ import annotations

import re
from email.utils import getaddresses

#: What a v=spf1 record covers at each conformance level.
V1_SCOPES = {"sidf": ("mfrom", "pra"), "sidf-compatible": ("mfrom",)}

_FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", re.M)
_ADDRESS = re.compile(r"^[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+\.?$")


class MultipleRecords(Exception):
    """More than one record for the scope: a PermError (RFC 4406 3.4)."""


def fields(head: bytes) -> list[tuple[str, str]]:
    """(lower-cased name, unfolded value) of each header field, in order."""
    return [(m.group(1).decode("ascii").lower(), m.group(2).replace(b"\r\n", b"").strip().decode("utf-8", "replace"))
            for m in _FIELD.finditer(head)]


def purported_responsible_address(head: list[tuple[str, str]]) -> tuple[str, str] | None:
    """(mailbox, the field it came from) by RFC 4407 section 2, or None: the message is ill-formed and has no
    PRA (its step 6)."""
    nonempty = [(i, name, value) for i, (name, value) in enumerate(head) if value]

    def first(name: str):
        return next(((i, n, v) for i, n, v in nonempty if n == name), None)

    chosen = None
    resent_sender, resent_from = first("resent-sender"), first("resent-from")
    if resent_sender is not None:
        # Step 1: a Resent-Sender of an earlier hop (a Received or Return-Path between it and a Resent-From
        # above it) does not speak for the last resending.
        trace_between = resent_from is not None and resent_from[0] < resent_sender[0] and any(
            name in ("received", "return-path") for name, _ in head[resent_from[0] + 1:resent_sender[0]])
        if not trace_between:
            chosen = resent_sender
    if chosen is None and resent_from is not None:  # step 2
        chosen = resent_from
    if chosen is None:  # steps 3 and 4: exactly one Sender, else exactly one From
        for name in ("sender", "from"):
            found = [f for f in nonempty if f[1] == name]
            if found:
                if len(found) > 1:
                    return None
                chosen = found[0]
                break
    if chosen is None:
        return None
    mailbox = _single_mailbox(chosen[2])  # step 5
    return (mailbox, chosen[1]) if mailbox else None


def _single_mailbox(value: str) -> str | None:
    pairs = [(n, a) for n, a in getaddresses([value]) if n or a]
    if len(pairs) != 1 or not _ADDRESS.match(pairs[0][1]):
        return None
    return pairs[0][1]


def resent(head: list[tuple[str, str]]) -> bool:
    """The message carries a Resent-Sender or Resent-From field (what the appliance's downgrade looks for)."""
    return any(name in ("resent-sender", "resent-from") for name, _ in head)


def select_record(records: list[str], scope: str, level: str) -> str | None:
    """The record for ``scope`` (mfrom or pra) among a domain's TXT records, written as v=spf1 for pyspf; None
    when the domain has none for it. An spf2.0 record naming the scope comes first; else a v=spf1 record where
    the level lets it cover the scope."""
    scoped, v1 = [], []
    for text in records:
        version, _, terms = text.strip().partition(" ")
        lowered = version.lower()
        if lowered.startswith("spf2.0/") and scope in lowered[len("spf2.0/"):].split(","):
            scoped.append(terms)
        elif lowered == "v=spf1":
            v1.append(terms)
    chosen = scoped or (v1 if scope in V1_SCOPES[level] else [])
    if len(chosen) > 1:
        raise MultipleRecords(f"{len(chosen)} records for the {scope} scope")
    return f"v=spf1 {chosen[0]}".rstrip() if chosen else None
