"""Reputation clients: sender domain reputation (SDR verdicts) and IP reputation (SBRS scores).

Providers are asked in order; the first with an opinion wins:

- ``local``: the administrator's table (reputationconfig local set);
- ``dns``: a DNS list. Domain lists are DBL style (``<domain>.<zone>`` A),
  IP lists DNSBL style (``<reversed octets>.<zone>`` A); the answer address
  maps to a verdict or a score. NXDOMAIN means "not listed";
- ``http``: a JSON API: ``GET URL?domain=D`` (or ``?ip=A``) with the token as
  a bearer token, answering ``{"verdict": "poor", "category": "spam"}`` or
  ``{"score": -4.5}``; through the outbound settings' upstream proxy.

Every answer is cached for the configured time. A provider that fails or
does not answer within its timeout gives no opinion (logged); the whole
lookup is bounded, so an SMTP session never waits past it: the verdict is
then "unknown" and the score None.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from dataclasses import dataclass

from asyncos_cli.config.schema import SDR_VERDICTS, Config, ReputationProvider

from . import dnsstats

log = logging.getLogger("asyncos.reputation")

#: DBL-style answers when a provider gives no mapping: phishing, malware and botnets are awful,
#: spam domains poor, abused legitimate domains tainted.
DEFAULT_DOMAIN_ANSWERS = {"127.0.1.2": "poor", "127.0.1.4": "awful", "127.0.1.5": "awful", "127.0.1.6": "awful",
                          "127.0.1.102": "tainted", "127.0.1.103": "tainted", "127.0.1.104": "tainted",
                          "127.0.1.105": "tainted", "127.0.1.106": "tainted"}
DEFAULT_IP_SCORE = -10.0


@dataclass(frozen=True)
class DomainVerdict:
    verdict: str  # one of SDR_VERDICTS
    category: str = ""
    source: str = ""


UNKNOWN = DomainVerdict("unknown")


def at_or_below(verdict: str, threshold: str) -> bool:
    """True when ``verdict`` is ``threshold`` or worse (unknown and better never are)."""
    if verdict not in SDR_VERDICTS or verdict in ("unknown", "neutral", "good"):
        return False
    return SDR_VERDICTS.index(verdict) <= SDR_VERDICTS.index(threshold)


class ReputationService:
    def __init__(self, config: Config, keyring=None, clock=time.monotonic, on_failure=None):
        self.config = config
        self.keyring = keyring
        self.clock = clock
        self.on_failure = on_failure or (lambda provider, reason: None)
        self._cache: dict[tuple, tuple[float, object]] = {}

    def configure(self, config: Config) -> None:
        if config.reputation != self.config.reputation:
            self._cache.clear()
        self.config = config

    # ------------------------------------------------------------ the two questions

    async def domain(self, domain: str) -> DomainVerdict:
        rep = self.config.reputation
        return await self._ask("domain", domain.lower().rstrip("."), rep.sdr_timeout_seconds, UNKNOWN)

    async def ip(self, address: str) -> float | None:
        rep = self.config.reputation
        return await self._ask("ip", address, rep.sbrs_timeout_seconds, None)

    def can_answer(self, kind: str) -> bool:
        """False when no provider could give an opinion (only an empty local table): the check is skipped."""
        rep = self.config.reputation
        table = rep.local_domains if kind == "domain" else rep.local_ips
        return any(p.kind == kind and (p.type != "local" or table) for p in rep.providers)

    def known(self, kind: str, key: str):
        """The answer without waiting, when there is one: cached, or from local-only providers.
        Returns a (found, answer) pair; the SMTP path takes it to skip a task and a timer per session."""
        cached = self._cache.get((kind, key))
        if cached is not None and cached[0] > self.clock():
            return True, cached[1]
        providers = [p for p in self.config.reputation.providers if p.kind == kind]
        if all(p.type == "local" for p in providers):
            return True, self._local(kind, key) if providers else None
        return False, None

    async def _ask(self, kind: str, key: str, timeout: float, nothing):
        found, answer = self.known(kind, key)
        if found:
            return nothing if answer is None else answer
        now = self.clock()
        try:
            answer = await asyncio.wait_for(self._providers(kind, key), timeout)
        except asyncio.TimeoutError:
            self.on_failure(f"{kind} reputation", f"no answer for {key} within {timeout:g} s")
            return nothing  # not cached: the next session asks again
        result = nothing if answer is None else answer
        self._cache[(kind, key)] = (now + self.config.reputation.cache_seconds, result)
        if len(self._cache) > 100_000:
            self._cache.clear()
        return result

    async def _providers(self, kind: str, key: str):
        for provider in self.config.reputation.providers:
            if provider.kind != kind:
                continue
            try:
                answer = await asyncio.wait_for(self._one(provider, key), provider.timeout_seconds)
            except asyncio.TimeoutError:
                self.on_failure(provider.name, f"no answer within {provider.timeout_seconds:g} s")
                continue
            except Exception as e:  # one provider's failure is "no opinion", never the session's
                self.on_failure(provider.name, f"{type(e).__name__}: {e}")
                continue
            if answer is not None:
                return answer
        return None

    async def _one(self, provider: ReputationProvider, key: str):
        if provider.type == "local":
            return self._local(provider.kind, key)
        if provider.type == "dns":
            return await self._dns(provider, key)
        return await asyncio.to_thread(self._http, provider, key)

    # ------------------------------------------------------------ providers

    def _local(self, kind: str, key: str):
        rep = self.config.reputation
        if kind == "domain":
            from asyncos_cli.config.addresses import domain_matches

            for entry in rep.local_domains:
                pattern, _, verdict = entry.partition("=")
                if domain_matches(key, pattern):
                    return DomainVerdict(verdict, source="local table")
            return None
        try:
            address = ipaddress.ip_address(key)
        except ValueError:
            return None
        for entry in rep.local_ips:
            pattern, _, score = entry.partition("=")
            if pattern == "ALL" or address in ipaddress.ip_network(pattern, strict=False):
                return float(score)
        return None

    async def _dns(self, provider: ReputationProvider, key: str):
        import dns.asyncresolver
        import dns.exception
        import dns.resolver

        from asyncos_cli.config.schema import parse_dns_server

        if provider.kind == "domain":
            query = f"{key}.{provider.zone}"
        else:
            address = ipaddress.ip_address(key)
            query = f"{address.reverse_pointer.rsplit('.in-addr.arpa', 1)[0].rsplit('.ip6.arpa', 1)[0]}.{provider.zone}"
        servers = [provider.resolver] if provider.resolver else list(self.config.dns.servers)
        resolver = dns.asyncresolver.Resolver(configure=not servers)
        if servers:
            pairs = [parse_dns_server(s) for s in servers]
            resolver.nameservers = [h for h, _ in pairs]
            resolver.port = pairs[0][1]
        try:
            answer = await dnsstats.lookup(resolver, query, "A", provider.timeout_seconds)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return DomainVerdict("neutral", source=provider.name) if provider.kind == "domain" else None
        addresses = [str(r) for r in answer]
        mapping = dict(a.split("=", 1) for a in provider.answers)
        if provider.kind == "domain":
            worst = min((mapping.get(a) or DEFAULT_DOMAIN_ANSWERS.get(a, "poor") for a in addresses),
                        key=SDR_VERDICTS.index)
            return DomainVerdict(worst, category=_category(addresses[0]), source=provider.name)
        scores = [float(mapping[a]) if a in mapping else DEFAULT_IP_SCORE for a in addresses]
        return min(scores)

    def _http(self, provider: ReputationProvider, key: str):
        from asyncos_cli.services.outbound import http_session

        session = http_session(self.config.outbound, self.keyring)
        headers = {}
        if provider.token is not None and self.keyring is not None:
            headers["Authorization"] = f"Bearer {self.keyring.reveal(provider.token)}"
        param = "domain" if provider.kind == "domain" else "ip"
        last = None
        for _ in range(1 + self.config.outbound.retries):
            try:
                r = session.get(provider.url, params={param: key}, headers=headers, timeout=provider.timeout_seconds)
                if r.status_code == 404:
                    return None
                r.raise_for_status()
                data = r.json()
                break
            except Exception as e:  # retried, then "no opinion"
                last = e
        else:
            raise RuntimeError(f"HTTP provider failed: {last}")
        if provider.kind == "domain":
            verdict = str(data.get("verdict", "")).lower()
            if verdict not in SDR_VERDICTS:
                return None
            return DomainVerdict(verdict, str(data.get("category", "")), provider.name)
        score = data.get("score")
        return None if score is None else max(-10.0, min(10.0, float(score)))


def _category(address: str) -> str:
    return {"127.0.1.2": "spam", "127.0.1.4": "phishing", "127.0.1.5": "malware", "127.0.1.6": "botnet"}.get(
        address, "abused" if address.startswith("127.0.1.1") else "")
