"""DKIM verification at the end of DATA, under a mail flow policy that asks for it.

Each signature is verified (dkimpy, in the verifier process when the keys are in the DNS cache, else in a
thread: DNS and dkimpy's CPU are time the event loop must not spend) with the key fetched through the gateway's
resolvers; the mail flow policy's verification profile (domainkeysconfig) says what a message whose
signatures fail, or whose keys cannot be fetched, gets: accepted or the profile's tempfail or reject reply. An accepted message carries an
Authentication-Results field (RFC 8601) under the gateway's host name, after any field that claimed that name
on the way in was removed.
"""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import dataclass

from asyncos_cli.config.schema import Config
from asyncos_cli.services.dnstxt import lookup_for_dns
from scanning import dkim

from .dkimverifier import DkimVerifier
from .headers import strip_claims


@dataclass(frozen=True)
class Verified:
    results: tuple[dkim.SignatureResult, ...]
    #: The message's result: pass (one signature passed), temperror, fail, permerror, or none.
    summary: str
    #: The SMTP reply instead of 250 when the profile refuses the message, else None.
    refusal: str | None


async def verify(config: Config, data: bytes, verifier: DkimVerifier | None = None,
                 profile_name: str = "DEFAULT") -> Verified:
    """In the verifier process when every key is in the DNS cache (dkimpy's CPU off the loop's
    process), else in a thread here, where DNS may wait and the answers fill the cache. ``profile_name``: the
    mail flow policy's verification profile (DEFAULT when it names none that exists)."""
    end = data.find(b"\r\n\r\n")
    head = data[:end] if end >= 0 else data
    lowered = b"\n" + head.lower()  # one copy for both looks (the relay took only CRLF line ends)
    if b"\ndkim-signature:" not in lowered:  # most mail: nothing to verify
        return Verified((), "none", None)
    profile = config.domainkeys.verification_profile(profile_name)
    lookup = lookup_for_dns(config.dns)
    results = None
    if verifier is not None:
        try:
            keys = {name: lookup.cached(name) for name in key_names(head, profile.max_signatures, lowered)}
        except KeyError:  # a key to fetch first: the thread below does, and the next message finds it cached
            keys = None
        if keys is not None:
            results = await verifier.verify(data, keys, profile.limits())
    if results is None:  # keys to fetch, each within the profile's key query timeout
        fetch = functools.partial(lookup, timeout=profile.key_query_timeout)
        results = tuple(await asyncio.to_thread(dkim.verify, data, fetch, *profile.limits()))
    found = {r.result for r in results}
    summary = next((s for s in ("pass", "temperror", "fail", "permerror") if s in found), "none")
    action = profile.temperror if summary == "temperror" else profile.fail if summary in ("fail", "permerror") \
        else "accept"
    return Verified(results, summary, profile.reply(action))


_TAG = {tag: re.compile(rb"(?:^|;)\s*" + tag + rb"\s*=\s*([^;\s]+)") for tag in (b"s", b"d")}
#: A DKIM-Signature field's value in the lowered head, its folded lines included.
_SIGNATURE = re.compile(rb"\ndkim-signature:([^\n]*(?:\n[ \t][^\n]*)*)")


def key_names(head: bytes, max_signatures: int, lowered: bytes | None = None) -> list[str]:
    """SELECTOR._domainkey.DOMAIN of each signature verify() will check (a name missed here is only a message
    verified in the thread instead: the verifier process asks for every key it is not given). ``lowered``:
    b"\\n" + head.lower(), when the caller has it already."""
    names: list[str] = []
    for field in _SIGNATURE.finditer(lowered if lowered is not None else b"\n" + head.lower()):
        if len(names) >= max_signatures:
            break
        value = head[field.start(1) - 1:field.end(1) - 1]  # tag names are read in their own case
        s, d = _TAG[b"s"].search(value), _TAG[b"d"].search(value)
        if s and d:
            names.append((s.group(1) + b"._domainkey." + d.group(1)).decode("ascii", "replace").lower().rstrip("."))
    return names


def dkim_parts(verified: Verified) -> list[str]:
    """The DKIM results as Authentication-Results methods (RFC 8601 2.7.1)."""
    return [f"dkim={r.result}" + (f" ({r.reason})" if r.reason else "")
            + f" header.d={r.domain} header.s={r.selector}" + (f" header.i={r.identity}" if r.identity else "")
            + (f" header.a={r.algorithm}" if r.algorithm else "") for r in verified.results] or ["dkim=none"]


def with_results(data: bytes, hostname: str, parts: list[str]) -> bytes:
    """``data`` with the gateway's Authentication-Results on top (claims of our name removed first)."""
    field = f"Authentication-Results: {hostname};\r\n\t" + ";\r\n\t".join(parts) + "\r\n"
    return field.encode("utf-8", "replace") + strip_claims(data, hostname)
