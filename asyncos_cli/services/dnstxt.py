"""TXT lookups through the gateway's resolvers (dnsconfig), blocking, for the DKIM verifier's threads.

Answers are kept for their TTL (at most an hour, and a bounded number of names), so a busy sender's key is
fetched once, not once per message. NXDOMAIN and no answer are an empty record; a timeout or SERVFAIL is a
temporary error (the verifier's temperror).
"""

from __future__ import annotations

import threading
import time

import dns.exception
import dns.resolver

from asyncos_cli.config.schema import Config, parse_dns_server
from scanning.dkim import TemporaryDnsError

MAX_NAMES = 10000
MAX_TTL = 3600.0
#: Kept at least this long, whatever the TTL says (0 included): a message burst asks once, not once a message.
MIN_TTL = 5.0


class TxtLookup:
    def __init__(self, dns_section, timeout: float = 5.0):
        self._resolver = dns.resolver.Resolver(configure=not dns_section.servers)
        if dns_section.servers:
            servers = [parse_dns_server(s) for s in dns_section.servers]
            self._resolver.nameservers = [host for host, _ in servers]
            self._resolver.port = servers[0][1]
        self._resolver.lifetime = timeout
        self._cache: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def cached(self, name: str) -> bytes:
        """The answer kept for ``name``; KeyError when there is none (the caller asks __call__ in a thread)."""
        found = self._cache.get(name.lower().rstrip("."))
        if found is None or found[0] <= time.monotonic():
            raise KeyError(name)
        return found[1]

    def __call__(self, name: str, timeout: float | None = None) -> bytes:
        """The TXT record of ``name`` (cached, else asked, waiting at most ``timeout`` seconds: the resolver's
        own when None)."""
        key = name.lower().rstrip(".")
        now = time.monotonic()
        with self._lock:
            found = self._cache.get(key)
            if found is not None and found[0] > now:
                return found[1]
        try:
            answer = self._resolver.resolve(key + ".", "TXT", lifetime=timeout)
            # A record's strings are one text (RFC 6376 3.6.2.2); of several records, a DKIM key's is taken.
            records = [b"".join(r.strings) for r in answer]
            text = next((r for r in records if r.startswith(b"v=DKIM1")), records[0])
            ttl = max(MIN_TTL, min(float(answer.rrset.ttl), MAX_TTL))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            text, ttl = b"", 300.0
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as e:
            raise TemporaryDnsError(f"TXT lookup of {key} failed: {type(e).__name__}") from None
        with self._lock:
            if len(self._cache) >= MAX_NAMES:
                self._cache.clear()  # rare: a fresh start is cheaper than an eviction order
            self._cache[key] = (now + ttl, text)
        return text


_lookups: dict = {}


def lookup_for(config: Config) -> TxtLookup:
    """One lookup (and its cache) per resolver setting: a dnsconfig change starts a fresh one."""
    return lookup_for_dns(config.dns)


def lookup_for_dns(dns_section) -> TxtLookup:
    found = _lookups.get(dns_section)
    if found is None:
        _lookups.clear()
        found = _lookups[dns_section] = TxtLookup(dns_section)
    return found
