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
from scanning import sidf

#: The whole check's time limit when the caller gives none (RFC 7208 4.6.4 asks for one of at least 20 seconds;
#: a mail flow policy's --spf-timeout gives its own, 40 by default as on the appliance).
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
    return _kept((config.dns, ip, identity.lower(), helo.lower()))


def check(config: Config, ip: str, identity: str, helo: str, seconds: int = QUERY_SECONDS) -> tuple[str, str]:
    """(result, published) for ``identity`` (an address: MAIL FROM, or postmaster@HELO) sent from ``ip``:
    pass, fail, softfail, neutral, none, temperror, permerror; ``published``: the explanation the domain gives
    (exp=) for a Fail or SoftFail, else "". ``seconds``: the whole check's time limit."""
    key = (config.dns, ip, identity.lower(), helo.lower())
    found = _kept(key)
    return found if found is not None else _keep(key, _check(config, ip, identity, helo, seconds))


def _kept(key) -> tuple[str, str] | None:
    found = _results.get(key)
    return found[1] if found is not None and found[0] > time.monotonic() else None


def _keep(key, answer: tuple[str, str]) -> tuple[str, str]:
    if len(_results) >= MAX_RESULTS:
        _results.clear()
    keep = TEMPERROR_SECONDS if answer[0] == "temperror" else RESULT_SECONDS
    _results[key] = (time.monotonic() + keep, answer)
    return answer


def _check(config: Config, ip: str, identity: str, helo: str, seconds: int) -> tuple[str, str]:
    _local.resolver = _resolver(config)
    try:
        result, _, explanation = spf.query(i=ip, s=identity, h=helo or "unknown", querytime=seconds).check()
    except Exception:  # a hostile record must be a result
        return "permerror", ""
    return result, _published(result, explanation)


class _SenderIdQuery(spf.query):
    """pyspf's evaluation, with the record of a domain named by include: or redirect= chosen for the scope as
    the top one was (its spf2.0 record for the scope first, RFC 4406 3.4), not its v=spf1 record."""

    scope, level = "mfrom", "sidf"

    def dns_spf(self, domain):
        if any(not label or len(label) > 63 for label in domain.split(".")):
            return None  # RFC 7208 4.3: a malformed domain has no record (as pyspf's own)
        try:
            records = [t.decode("utf-8", "replace") if isinstance(t, bytes) else t for t in self.dns_txt(domain)]
            return sidf.select_record(records, self.scope, self.level)
        except sidf.MultipleRecords as e:
            raise spf.PermError(str(e)) from None


def _published(result: str, explanation: str) -> str:
    """The domain's own explanation (its exp= text; pyspf gives its default words when there is none), made
    one line of printable ASCII for a reply."""
    if result not in ("fail", "softfail", "neutral") or not explanation or explanation == spf.EXPLANATIONS.get(result):
        return ""
    text = "".join(c if " " <= c <= "~" else " " for c in str(explanation)).strip()
    return text[:300]


def check_sender_id(config: Config, ip: str, identity: str, helo: str, scope: str, level: str,
                    seconds: int = QUERY_SECONDS) -> tuple[str, str]:
    """Sender ID (RFC 4406) of ``identity`` for ``scope`` (mfrom or pra) at an appliance SIDF ``level`` (sidf,
    sidf-compatible): the domain's record for the scope evaluated by pyspf, with its limits. A domain that does
    not exist, or an identity without one, is a fail at the strict level and none at the compatible one, as the
    appliance has it. Cached as check() is."""
    key = _sender_id_key(config, ip, identity, helo, scope, level)
    found = _kept(key)
    return found if found is not None else _keep(key, _sender_id(config, ip, identity, helo, scope, level, seconds))


def cached_sender_id(config: Config, ip: str, identity: str, helo: str, scope: str,
                     level: str) -> tuple[str, str] | None:
    return _kept(_sender_id_key(config, ip, identity, helo, scope, level))


def _sender_id_key(config: Config, ip: str, identity: str, helo: str, scope: str, level: str) -> tuple:
    return config.dns, ip, f"{level}/{scope}:{identity.lower()}", helo.lower()


def _sender_id(config: Config, ip: str, identity: str, helo: str, scope: str, level: str,
               seconds: int) -> tuple[str, str]:
    """(result, published) as check() answers; the record's lookup is within the time limit too."""
    missing = "fail" if level == "sidf" else "none"
    domain = identity.rpartition("@")[2].rstrip(".")
    if "@" not in identity or not domain:
        return missing, ""
    started = time.monotonic()
    try:
        answer = _resolver(config).resolve(domain + ".", "TXT", lifetime=seconds)
        records = [b"".join(r.strings).decode("utf-8", "replace") for r in answer]
    except dns.resolver.NXDOMAIN:
        return missing, ""
    except dns.resolver.NoAnswer:
        records = []
    except (dns.exception.Timeout, dns.resolver.NoNameservers):
        return "temperror", ""
    except (dns.exception.DNSException, ValueError):  # a name DNS cannot carry: a malformed identity
        return missing, ""
    try:
        record = sidf.select_record(records, scope, level)
    except sidf.MultipleRecords:
        return "permerror", ""
    if record is None:
        return "none", ""
    _local.resolver = _resolver(config)
    left = max(1.0, seconds - (time.monotonic() - started))
    try:
        query = _SenderIdQuery(i=ip, s=identity, h=helo or "unknown", querytime=left)
        query.scope, query.level = scope, level
        result, _, explanation = query.check(spf=record)
    except Exception:  # a hostile record must be a result
        return "permerror", ""
    return result, _published(result, explanation)
