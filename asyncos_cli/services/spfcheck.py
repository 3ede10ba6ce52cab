"""SPF (RFC 7208) through pyspf, with DNS through the gateway's resolvers: blocking, for a thread.

pyspf keeps the RFC's limits (10 mechanisms that look up DNS, 2 void lookups) and a time limit for the whole
check; it looks names up through one module-level function, which is pointed here at a resolver made from
dnsconfig (one per resolver setting).
"""

from __future__ import annotations

import threading
import time

import dns.exception
import dns.resolver
import spf

from asyncos_cli.config.schema import Config, parse_dns_server

#: The whole check's time limit (RFC 7208 4.6.4 asks for one of at least 20 seconds).
QUERY_SECONDS = 20
#: How long a result is reused for the same client address, identity and HELO: a sender's records change
#: rarely, and a busy sender sends many messages a minute. A temporary error is kept only a few seconds.
RESULT_SECONDS = 60.0
TEMPERROR_SECONDS = 5.0
MAX_RESULTS = 20000
_results: dict = {}
_local = threading.local()
_resolvers: dict = {}


def _resolver(config: Config) -> dns.resolver.Resolver:
    found = _resolvers.get(config.dns)
    if found is None:
        found = dns.resolver.Resolver(configure=not config.dns.servers)
        found.cache = dns.resolver.LRUCache(10000)  # a busy sender's records are asked for once per TTL
        if config.dns.servers:
            servers = [parse_dns_server(s) for s in config.dns.servers]
            found.nameservers = [host for host, _ in servers]
            found.port = servers[0][1]
        _resolvers.clear()
        _resolvers[config.dns] = found
    return found


def _lookup(name, qtype, strict=True, timeout=30):
    """pyspf's DNSLookup, through this thread's resolver (the one check() set)."""
    resolver = getattr(_local, "resolver", None) or dns.resolver.get_default_resolver()
    out = []
    try:
        for rdata in resolver.resolve(name, qtype, lifetime=timeout):
            if qtype in ("A", "AAAA"):
                out.append(((name, qtype), rdata.address))
            elif qtype == "MX":
                out.append(((name, qtype), (rdata.preference, rdata.exchange)))
            elif qtype == "PTR":
                out.append(((name, qtype), rdata.target.to_text(True)))
            elif qtype in ("TXT", "SPF"):
                out.append(((name, qtype), rdata.strings))
    except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
        pass
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as e:
        raise spf.TempError(f"DNS {e}") from None
    return out


spf.DNSLookup = _lookup


def cached(config: Config, ip: str, identity: str, helo: str) -> tuple[str, str] | None:
    """A result check() made in the last minute for the same question (None: ask check())."""
    found = _results.get((config.dns, ip, identity.lower(), helo.lower()))
    return found[1] if found is not None and found[0] > time.monotonic() else None


def check(config: Config, ip: str, identity: str, helo: str) -> tuple[str, str]:
    """(result, explanation) for ``identity`` (an address: MAIL FROM, or postmaster@HELO) sent from ``ip``:
    pass, fail, softfail, neutral, none, temperror, permerror."""
    found = cached(config, ip, identity, helo)
    if found is not None:
        return found
    answer = _check(config, ip, identity, helo)
    if len(_results) >= MAX_RESULTS:
        _results.clear()
    keep = TEMPERROR_SECONDS if answer[0] == "temperror" else RESULT_SECONDS
    _results[(config.dns, ip, identity.lower(), helo.lower())] = (time.monotonic() + keep, answer)
    return answer


def _check(config: Config, ip: str, identity: str, helo: str) -> tuple[str, str]:
    _local.resolver = _resolver(config)
    try:
        result, explanation = spf.check2(i=ip, s=identity, h=helo or "unknown", querytime=QUERY_SECONDS)
    except Exception as e:  # a hostile record must be a result
        return "permerror", f"{type(e).__name__}: {e}"
    return result, explanation
