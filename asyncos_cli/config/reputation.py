"""Reputation: providers (local table, DNS lists, HTTP APIs), sender domain reputation, URL lists."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Optional

from .fields import ConfigError, Record, Secret, Section, setting
from .mailflow import check_domain_pattern, check_sender_pattern
from .system import parse_dns_server
from .validators import check_hostname, check_range, check_unique, name_rule


def check_url_entry(entry: str) -> None:
    """A local URL list entry: a domain (and its subdomains), or a URL prefix with scheme."""
    if not entry or any(c.isspace() for c in entry) or len(entry) > 2000:
        raise ConfigError(f"{entry[:80]!r} is not a domain or URL", "entries")
    if "://" not in entry:
        check_hostname(entry.lstrip("."), "entries")


#: Sender domain reputation verdicts, worst first (the SDR scale of 14.0).
SDR_VERDICTS = ("awful", "poor", "tainted", "weak", "unknown", "neutral", "good")
#: What SDR blocks at MAIL FROM: a verdict at or below the configured one (unknown is never blocked).
SDR_BLOCKABLE = ("awful", "poor", "tainted", "weak")


@dataclass(frozen=True)
class ReputationProvider(Record):
    """A reputation source: the local table, a DNS list (DBL or DNSBL style) or an HTTP JSON API."""

    name: str = setting(help="The provider's name.", check=name_rule("provider name"))
    kind: str = setting(help="domain (sender domain reputation) or ip (SBRS).", choices=("domain", "ip"))
    type: str = setting(help="local (the table), dns (a DNS list) or http (a JSON API).",
                        choices=("local", "dns", "http"))
    zone: str = setting("", help="The DNS list's zone.")
    resolver: str = setting("", help="The DNS resolver IP:PORT for this list; empty: dnsconfig's.")
    url: str = setting("", help="The HTTP API's URL.")
    token: Optional[Secret] = setting(None, help="The HTTP API's token.", secret=True)
    timeout_seconds: float = setting(2.0, help="Seconds a query may take.", low=0.1, high=30, unit="seconds",
                                     option="timeout")
    #: DNS answers mapped to verdicts (domain) or scores (ip): "127.0.1.4=awful", "127.0.0.2=-10".
    answers: tuple[str, ...] = field(default=(), metadata={"item": "answer"})

    def validate(self) -> None:
        if self.type == "dns":
            check_hostname(self.zone, "zone")
            if self.resolver:
                parse_dns_server(self.resolver)
        if self.type == "http" and not re.match(r"https?://[^\s]+$", self.url):
            raise ConfigError("an http provider needs --url=http(s)://...", "url")
        for a in self.answers:
            address, _, value = a.partition("=")
            try:
                import ipaddress

                ipaddress.ip_address(address)
            except ValueError:
                raise ConfigError(f"{a!r}: expected ADDRESS=VALUE", "answers") from None
            if self.kind == "domain" and value not in SDR_VERDICTS:
                raise ConfigError(f"{a!r}: the verdict must be one of {', '.join(SDR_VERDICTS)}", "answers")
            if self.kind == "ip":
                try:
                    check_range(float(value), -10, 10, "answers")
                except ValueError:
                    raise ConfigError(f"{a!r}: the score must be a number from -10 to 10", "answers") from None


@dataclass(frozen=True)
class ReputationSection(Section):
    """Reputation: providers (the local table first), SDR settings, exceptions, and the local URL table."""

    name: ClassVar[str] = "reputation"
    title: ClassVar[str] = "Reputation providers, SDR and local tables"

    url_blocked: tuple[str, ...] = field(default=(), metadata={"item": "entry"})
    url_allowed: tuple[str, ...] = field(default=(), metadata={"item": "entry"})
    providers: tuple[ReputationProvider, ...] = field(
        default=(ReputationProvider("local-domains", "domain", "local"), ReputationProvider("local-ips", "ip", "local")),
        metadata={"item": "provider"})
    #: The local table: "example.com=awful", "192.0.2.1=-7.5".
    local_domains: tuple[str, ...] = field(default=(), metadata={"item": "entry"})
    local_ips: tuple[str, ...] = field(default=(), metadata={"item": "entry"})
    sdr_enabled: bool = setting(True, help="Sender domain reputation checks.")
    sdr_verdict: str = setting("awful", help="Block at MAIL FROM a sender domain whose verdict is this or worse.",
                               choices=SDR_BLOCKABLE)
    sdr_timeout_seconds: float = setting(2.0, help="Seconds an SDR query may take.", low=0.1, high=30,
                                         unit="seconds")
    sbrs_timeout_seconds: float = setting(2.0, help="Seconds an SBRS query may take.", low=0.1, high=30,
                                          unit="seconds")
    domain_exceptions: tuple[str, ...] = field(default=(), metadata={"item": "domain"})
    cache_seconds: int = setting(300, help="Seconds a verdict is cached.", low=0, high=86400, unit="seconds")

    def validate(self) -> None:
        for f in ("url_blocked", "url_allowed"):
            for e in getattr(self, f):
                try:
                    check_url_entry(e)
                except ConfigError as err:
                    raise err.at(f) from None
            check_unique((e.lower() for e in getattr(self, f)), f, "entry")
        check_unique((p.name for p in self.providers), "providers", "provider name")
        for d in self.domain_exceptions:
            check_domain_pattern(d, "domain_exceptions")
        for e in self.local_domains:
            key, _, value = e.partition("=")
            check_domain_pattern(key, "local_domains")
            if value not in SDR_VERDICTS:
                raise ConfigError(f"{e!r}: the verdict must be one of {', '.join(SDR_VERDICTS)}", "local_domains")
        for e in self.local_ips:
            key, _, value = e.partition("=")
            check_sender_pattern(key)
            try:
                check_range(float(value), -10, 10, "local_ips")
            except ValueError:
                raise ConfigError(f"{e!r}: the score must be a number from -10 to 10", "local_ips") from None
