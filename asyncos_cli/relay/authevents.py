"""What a message's SPF, DKIM, ARC and DMARC results at reception say in the logs and tracking: one event."""

from __future__ import annotations

from asyncos_cli.events.mail import (
    ArcVerified,
    DkimVerified,
    DmarcVerified,
    MessageAuthenticated,
    SpfVerified,
)


def authenticated(mid: int, ip: str, spf, verified, dmarc) -> MessageAuthenticated:
    """``spf``: (mailfrom result, mailfrom identity, helo result, helo identity) or None; ``verified``: a
    dkimcheck.Verified or None; ``dmarc``: a dmarccheck.Checked or None."""
    parts, verdicts = [], []
    if spf is not None:
        parts += [SpfVerified(mid, "helo", spf[3], spf[2]), SpfVerified(mid, "mailfrom", spf[1], spf[0])]
        # tracking keeps both identities: "mailfrom IDENTITY; helo RESULT IDENTITY" (CEF's ESASPFVerdict)
        verdicts.append(("spf", spf[0].upper(), f"mailfrom {spf[1]}; helo {spf[2]} {spf[3]}"))
    if verified is not None:
        parts += [DkimVerified(mid, r.result, r.reason, r.domain, r.selector, r.identity, r.weak)
                  for r in verified.results] or [DkimVerified(mid, "none")]
        verdicts.append(("dkim", verified.summary.upper(),
                         "; ".join(f"d={r.domain} s={r.selector} {r.result}" for r in verified.results)))
    if dmarc is not None:
        e = dmarc.evaluation
        if dmarc.arc is not None:
            parts.append(ArcVerified(mid, dmarc.arc.cv, dmarc.arc.sealer, dmarc.arc.reason, dmarc.overridden))
        parts.append(_dmarc_part(mid, ip, dmarc, spf, verified))
        verdicts.append(("dmarc", e.result.upper(),
                         f"p={e.policy or 'none'} dis={e.disposition} header.from={e.domain}"))
    return MessageAuthenticated(mid, tuple(parts), tuple(verdicts))


def _dmarc_part(mid: int, ip: str, dmarc, spf, verified) -> DmarcVerified:
    e = dmarc.evaluation
    first = next((r for r in verified.results if r.result == "pass"), None) if verified else None
    first = first or (verified.results[0] if verified and verified.results else None)
    r = e.record
    policy = (r.adkim, r.aspf, r.p, r.sp, r.pct, r.rua) if r else ()
    return DmarcVerified(mid, e.domain, e.result, e.spf_aligned, e.dkim_aligned, dmarc.action, ip,
                         (first.domain, first.result) if first else ("", "none"),
                         (spf[1].rpartition("@")[2], spf[0]) if spf else ("", "none"), policy)
