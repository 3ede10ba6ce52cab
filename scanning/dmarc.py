"""DMARC (RFC 7489): the policy record of the header From's domain, identifier alignment, the disposition.

Pure: DNS comes in as ``dnsfunc(name) -> bytes`` (TXT text, b"" when there is none; raising
scanning.dkim.TemporaryDnsError when the lookup failed). The organizational domain comes from the Public Suffix
List that the publicsuffixlist package ships (nothing is fetched at run time).
"""

from __future__ import annotations

import email.utils
import functools
import zlib
from dataclasses import dataclass

from publicsuffixlist import PublicSuffixList

from .dkim import TemporaryDnsError


@functools.cache
def _psl() -> PublicSuffixList:
    """Read at the first DMARC check, not at import (40 ms every daemon start paid, DMARC on or not)."""
    return PublicSuffixList()


# Pure functions of short strings, asked again for every message of a sender: kept, bounded.
@functools.lru_cache(maxsize=8192)
def organizational(domain: str) -> str:
    """The organizational domain (RFC 7489 3.2): the public suffix plus one label."""
    d = domain.lower().rstrip(".")
    return _psl().privatesuffix(d) or d


@functools.lru_cache(maxsize=8192)
def header_from_domain(header_from: str) -> str:
    _, address = email.utils.parseaddr(header_from)
    return address.rpartition("@")[2].lower().rstrip(".") if "@" in address else ""


@dataclass(frozen=True)
class Record:
    p: str
    sp: str
    pct: int
    adkim: str
    aspf: str
    rua: tuple[str, ...]


@functools.lru_cache(maxsize=1024)
def parse_record(text: str) -> Record | None:
    """The record, or None when it is not a DMARC record (RFC 7489 6.6.3: v=DMARC1 first; p required)."""
    tags = {}
    for part in text.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep:
            tags[key.strip().lower()] = value.strip()
    if not text.strip().startswith("v=DMARC1") or tags.get("v") != "DMARC1":
        return None
    p = tags.get("p", "").lower()
    if p not in ("none", "quarantine", "reject"):
        if not tags.get("rua"):
            return None
        p = "none"  # 6.6.3: a record with rua= but no valid p is p=none
    sp = tags.get("sp", "").lower()
    try:
        pct = max(0, min(100, int(tags.get("pct", "100"))))
    except ValueError:
        pct = 100
    return Record(p, sp if sp in ("none", "quarantine", "reject") else p, pct,
                  "s" if tags.get("adkim", "r").lower() == "s" else "r",
                  "s" if tags.get("aspf", "r").lower() == "s" else "r",
                  tuple(u.strip() for u in tags.get("rua", "").split(",") if u.strip()))


@dataclass(frozen=True)
class Evaluation:
    #: pass, fail, none (no record), temperror, permerror (RFC 7489 / 8601 words).
    result: str
    domain: str = ""
    policy: str = ""
    #: What the record asks for this message after pct: none, quarantine or reject.
    disposition: str = "none"
    spf_aligned: bool = False
    dkim_aligned: bool = False
    record: Record | None = None


def _aligned(a: str, b: str, mode: str) -> bool:
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    return a == b if mode == "s" else bool(a) and bool(b) and organizational(a) == organizational(b)


def evaluate(header_from: str, dnsfunc, spf_result: str, spf_domain: str, dkim_passes: list[str],
             sample_key: str = "") -> Evaluation:
    """DMARC for a message: ``spf_domain`` the MAIL FROM (or HELO) domain SPF checked, ``dkim_passes`` the d=
    of every DKIM signature that passed. ``sample_key`` decides the pct sampling (the same message, the same
    answer)."""
    domain = header_from_domain(header_from)
    if not domain:
        return Evaluation("permerror")  # no single usable From domain (6.6.1)
    try:
        text = dnsfunc(f"_dmarc.{domain}")
        org = organizational(domain)
        record = parse_record(text.decode("utf-8", "replace")) if text else None
        subdomain = False
        if record is None and org != domain:
            text = dnsfunc(f"_dmarc.{org}")
            record = parse_record(text.decode("utf-8", "replace")) if text else None
            subdomain = True
    except TemporaryDnsError:
        return Evaluation("temperror", domain)
    if record is None:
        return Evaluation("none", domain)
    spf_aligned = spf_result == "pass" and _aligned(spf_domain, domain, record.aspf)
    dkim_aligned = any(_aligned(d, domain, record.adkim) for d in dkim_passes)
    policy = record.sp if subdomain else record.p
    if spf_aligned or dkim_aligned:
        return Evaluation("pass", domain, policy, "none", spf_aligned, dkim_aligned, record)
    sampled = zlib.crc32(sample_key.encode()) % 100 < record.pct
    # 6.6.4: a message left out of the pct sample gets the next lower policy.
    disposition = policy if sampled else {"reject": "quarantine", "quarantine": "none"}.get(policy, "none")
    return Evaluation("fail", domain, policy, disposition, spf_aligned, dkim_aligned, record)
