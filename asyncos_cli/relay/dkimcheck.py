"""DKIM verification at the end of DATA, under a mail flow policy that asks for it.

Each signature is verified (dkimpy, in a thread: DNS and RSA take time the event loop must not wait for) with
the key fetched through the gateway's resolvers; the DEFAULT verification profile says what a message whose
signatures fail, or whose keys cannot be fetched, gets: accepted, 451 or 550. An accepted message carries an
Authentication-Results field (RFC 8601) under the gateway's host name, after any field that claimed that name
on the way in was removed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from asyncos_cli.config.schema import Config
from asyncos_cli.services.dnstxt import lookup_for_dns
from scanning import dkim

from .headers import strip_claims

REFUSALS = {"tempfail": "451 4.7.5 DKIM: the signature could not be verified now, try again later",
            "reject": "550 5.7.20 No passing DKIM signature found"}


@dataclass(frozen=True)
class Verified:
    results: tuple[dkim.SignatureResult, ...]
    #: The message's result: pass (one signature passed), temperror, fail, permerror, or none.
    summary: str
    #: The SMTP reply instead of 250 when the profile refuses the message, else None.
    refusal: str | None


async def verify(config: Config, data: bytes) -> Verified:
    """On the loop when every key is cached (0.3 ms of CPU either way, and no GIL hand-offs), else in a thread (a
    scanning worker process was tried: its hand-off cost more than the verification)."""
    profile = config.domainkeys.verification_profile()
    if not _signed(data):  # most mail: nothing to verify, no thread
        return Verified((), "none", None)
    lookup = lookup_for_dns(config.dns)
    try:  # the keys are usually in the cache: verified here, without handing the GIL back and forth
        results = tuple(dkim.verify(data, _cached_only(lookup), profile.max_signatures, profile.min_key_bits))
    except dkim.LookupDeferred:  # a key not in the cache: verified in a thread, where DNS may wait
        results = tuple(await asyncio.to_thread(dkim.verify, data, lookup, profile.max_signatures,
                                                profile.min_key_bits))
    found = {r.result for r in results}
    summary = next((s for s in ("pass", "temperror", "fail", "permerror") if s in found), "none")
    action = profile.temperror if summary == "temperror" else profile.fail if summary in ("fail", "permerror") \
        else "accept"
    return Verified(results, summary, REFUSALS.get(action))


def _cached_only(lookup):
    def cached(name: str) -> bytes:
        try:
            return lookup.cached(name)
        except KeyError:
            raise dkim.LookupDeferred(name) from None

    return cached


def _signed(data: bytes) -> bool:
    head = data.split(b"\r\n\r\n", 1)[0]
    return head[:15].lower() == b"dkim-signature:" or b"\r\ndkim-signature:" in head.lower()


def dkim_parts(verified: Verified) -> list[str]:
    """The DKIM results as Authentication-Results methods (RFC 8601 2.7.1)."""
    return [f"dkim={r.result}" + (f" ({r.reason})" if r.reason else "")
            + f" header.d={r.domain} header.s={r.selector}" + (f" header.i={r.identity}" if r.identity else "")
            + (f" header.a={r.algorithm}" if r.algorithm else "") for r in verified.results] or ["dkim=none"]


def with_results(data: bytes, hostname: str, parts: list[str]) -> bytes:
    """``data`` with the gateway's Authentication-Results on top (claims of our name removed first)."""
    field = f"Authentication-Results: {hostname};\r\n\t" + ";\r\n\t".join(parts) + "\r\n"
    return field.encode("utf-8", "replace") + strip_claims(data, hostname)
