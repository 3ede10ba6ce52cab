"""ARC (RFC 8617) verification through dkimpy: the chain's validity and who sealed it last.

Pure: DNS comes in as ``dnsfunc(name) -> bytes`` as for DKIM. A broken or hostile chain is a result ("fail"
with the reason), never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

import dkim


@dataclass(frozen=True)
class ArcResult:
    #: pass, fail or none (the chain validation status, RFC 8617 4.4).
    cv: str
    #: The d= of the most recent ARC-Seal (who forwarded the message to us), "" when none.
    sealer: str = ""
    reason: str = ""


def sealed(message: bytes) -> bool:
    end = message.find(b"\r\n\r\n")
    head = (message[:end] if end >= 0 else message).lower()
    return head.startswith(b"arc-seal:") or b"\r\narc-seal:" in head


def verify(message: bytes, dnsfunc) -> ArcResult:
    def lookup(name, timeout=5):
        text = dnsfunc(name.decode("ascii", "replace") if isinstance(name, bytes) else name)
        return text if isinstance(text, bytes) else text.encode()

    try:
        cv, results, reason = dkim.arc_verify(message, dnsfunc=lookup)
    except Exception as e:  # hostile headers: a failed chain
        return ArcResult("fail", reason=f"{type(e).__name__}: {e}")
    newest = max(results, key=lambda r: r.get("instance", 0), default=None)
    sealer = newest.get("as-domain", b"").decode("ascii", "replace") if newest else ""
    return ArcResult(cv.decode("ascii", "replace").lower(), sealer, str(reason))
