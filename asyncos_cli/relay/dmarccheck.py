"""DMARC at the end of DATA, under a mail flow policy that asks for it: the From domain's policy against the SPF
and DKIM results just made, and the DMARC profile's answer to a failure (reject, quarantine, or none)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from asyncos_cli.config.schema import Config
from asyncos_cli.services.dnstxt import lookup_for
from scanning import arc
from scanning import dmarc as rfc7489

_FROM = b"\r\nfrom:"


@dataclass(frozen=True)
class Checked:
    evaluation: rfc7489.Evaluation
    #: none, quarantine, reject, tempfail.
    action: str
    refusal: str | None = None
    #: The quarantine the message goes to, "" when it is delivered.
    quarantine: str = ""
    #: The ARC chain's result when the message carried one, and whether a trusted sealer overrode a failure.
    arc: arc.ArcResult | None = None
    overridden: bool = False


async def evaluate(config: Config, data: bytes, envelope, spf, verified, profile_name: str = "DEFAULT") -> Checked:
    """``profile_name``: the mail flow policy's DMARC verification profile (DEFAULT when none by that name)."""
    header_from = _header_from(data)
    spf_result, spf_domain = (spf[0], spf[1].rpartition("@")[2]) if spf else ("none", "")
    passes = [r.domain for r in verified.results if r.result == "pass"] if verified else []
    lookup, key = lookup_for(config), str(getattr(envelope, "mid", ""))
    try:  # the policy records are usually in the cache: no thread needed
        e = rfc7489.evaluate(header_from, lookup.cached, spf_result, spf_domain, passes, key)
    except KeyError:
        e = await asyncio.to_thread(rfc7489.evaluate, header_from, lookup, spf_result, spf_domain, passes, key)
    chain = await asyncio.to_thread(arc.verify, data, lookup) if arc.sealed(data) else None
    profile = config.dmarc.profile(profile_name)
    if (e.result == "fail" and chain is not None and chain.cv == "pass"
            and chain.sealer.lower() in {d.lower() for d in config.dmarc.trusted_arc_sealers}):
        return Checked(e, "none", arc=chain, overridden=True)  # RFC 8617 7.2: a trusted forwarder vouches
    if e.result == "temperror" and profile.temperror == "reject":
        return Checked(e, "tempfail", f"{profile.temperror_code} {profile.temperror_text}")
    if e.result == "permerror" and profile.permerror == "reject":
        return Checked(e, "reject", f"{profile.permerror_code} {profile.permerror_text}")
    if e.result != "fail":
        return Checked(e, "none", arc=chain)
    action = profile.reject if e.disposition == "reject" else profile.quarantine if e.disposition == "quarantine" \
        else "none"
    if action == "reject":
        return Checked(e, "reject", f"{profile.reject_code} {profile.reject_text}", arc=chain)
    if action == "quarantine":
        return Checked(e, "quarantine", quarantine=profile.quarantine_name, arc=chain)
    return Checked(e, "none", arc=chain)


def result_parts(checked: Checked) -> list[str]:
    """The DMARC (RFC 7489 11.2: p= and dis= as comments) and ARC (RFC 8617 10) methods of
    Authentication-Results."""
    e = checked.evaluation
    parts = []
    if checked.arc is not None:
        parts.append(f"arc={checked.arc.cv}" + (f" (as.d={checked.arc.sealer})" if checked.arc.sealer else ""))
    if e.result in ("none", "temperror", "permerror"):
        return parts + [f"dmarc={e.result} header.from={e.domain or 'unknown'}"]
    dis = {"quarantine": "QUARANTINE", "reject": "REJECT"}.get(checked.action, "NONE")
    override = " reason=arc" if checked.overridden else ""
    return parts + [f"dmarc={e.result} (p={e.policy.upper()} dis={dis}{override}) header.from={e.domain}"]


def _header_from(data: bytes) -> str:
    head = b"\r\n" + data.split(b"\r\n\r\n", 1)[0]
    i = head.lower().find(_FROM)
    if i < 0:
        return ""
    end = i + len(_FROM)
    value = [head[end:head.find(b"\r\n", end) if head.find(b"\r\n", end) >= 0 else len(head)]]
    rest = head[end + len(value[0]):]
    while rest.startswith(b"\r\n ") or rest.startswith(b"\r\n\t"):  # folded
        nxt = rest.find(b"\r\n", 2)
        value.append(rest[2:nxt if nxt >= 0 else len(rest)])
        rest = rest[nxt:] if nxt >= 0 else b""
    return b" ".join(v.strip() for v in value).decode("utf-8", "replace")
