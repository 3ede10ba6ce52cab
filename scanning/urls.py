"""URL reputation for the URLs found in attachments (and the message text).

The embedded provider is the administrator's local table (the reputation
section's blocked and allowed lists). Remote providers (DNS lists, HTTP
APIs) are clients injected by the caller with the same ``lookup`` method;
the first provider with an opinion wins, and the allowed list always wins.
Scores follow the appliance's scale: -10 (malicious) to +10 (trusted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from asyncos_cli.config.schema import ReputationSection


@dataclass(frozen=True)
class UrlVerdict:
    url: str
    verdict: str  # blocked, allowed, unknown
    score: float | None
    source: str = ""


class UrlReputationProvider(Protocol):
    def lookup(self, url: str) -> UrlVerdict | None: ...


def host_of(url: str) -> str:
    try:
        return (urlsplit(url if "://" in url else "http://" + url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


class LocalUrlTable:
    """Entries are domains (matching their subdomains too) or URL prefixes with a scheme."""

    def __init__(self, section: ReputationSection):
        self.blocked = _Entries(section.url_blocked)
        self.allowed = _Entries(section.url_allowed)

    def lookup(self, url: str) -> UrlVerdict | None:
        if self.allowed.match(url):
            return UrlVerdict(url, "allowed", 10.0, "local allowed list")
        if self.blocked.match(url):
            return UrlVerdict(url, "blocked", -10.0, "local blocked list")
        return None


class _Entries:
    def __init__(self, entries):
        self.domains = {e.lower().lstrip(".") for e in entries if "://" not in e}
        self.prefixes = tuple(e.lower() for e in entries if "://" in e)

    def match(self, url: str) -> bool:
        if self.prefixes and url.lower().startswith(self.prefixes):
            return True
        host = host_of(url)
        while host:
            if host in self.domains:
                return True
            _, _, host = host.partition(".")
        return False


class UrlReputation:
    """Providers in order, with a per-scan cache (one lookup per distinct URL)."""

    def __init__(self, providers: list[UrlReputationProvider]):
        self.providers = providers
        self._cache: dict[str, UrlVerdict] = {}

    def verdict(self, url: str) -> UrlVerdict:
        found = self._cache.get(url)
        if found is None:
            found = UrlVerdict(url, "unknown", None)
            for provider in self.providers:
                answer = provider.lookup(url)
                if answer is not None:
                    found = answer
                    break
            self._cache[url] = found
        return found
