"""What a message's SPF, DKIM, ARC and DMARC results at reception say in the logs and tracking: one event."""

from __future__ import annotations

from asyncos_cli.events.mail import (
    ArcVerified,
    DkimVerified,
    DmarcVerified,
    MessageAuthenticated,
    SpfVerified,
)


def authenticated(mid: int, ip: str, spf, verified, dmarc, pra=None) -> MessageAuthenticated:
    """``spf``: (mailfrom result, mailfrom identity, helo result, helo identity: "" when not checked) or None;
    ``verified``: a dkimcheck.Verified or None; ``dmarc``: a dmarccheck.Checked or None; ``pra``: Sender ID's
    (result, mailbox, field) at the SIDF levels, else None."""
    parts, verdicts = [], []
    if spf is not None:
        parts += [SpfVerified(mid, "helo", spf[3], spf[2])] if spf[3] else []
        parts.append(SpfVerified(mid, "mailfrom", spf[1], spf[0]))
        if pra is not None:
            parts.append(SpfVerified(mid, "pra", pra[1] or "(none)", pra[0]))
        # tracking keeps every identity: "mailfrom IDENTITY; helo RESULT IDENTITY" (CEF's ESASPFVerdict)
        detail = f"mailfrom {spf[1]}" + (f"; helo {spf[2]} {spf[3]}" if spf[3] else "") + (
            f"; pra {pra[0]} {pra[1] or '(none)'}" if pra is not None else "")
        verdicts.append(("spf", spf[0].upper(), detail))
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
