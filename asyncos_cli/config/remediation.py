"""Search & remediate: the mailbox accounts the gateway may act in (Office 365 / Hybrid through Graph, or IMAP)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Optional

from .engines import check_url
from .fields import ConfigError, Record, Secret, Section
from .validators import check_hostname_or_ip, check_name, check_port, check_unique

PROFILE_KINDS = ("graph", "imap")
IMAP_TLS = ("implicit", "starttls", "none")


@dataclass(frozen=True)
class RemediationProfile(Record):
    """One account profile: which recipient domains it serves, and how to reach their mailboxes."""

    name: str
    kind: str = "graph"
    #: Recipient domains this profile acts for (empty: every domain).
    domains: tuple[str, ...] = field(default=(), metadata={"item": "domain"})
    # Office 365 / Hybrid (Graph API), application permissions with client credentials.
    tenant: str = ""
    client_id: str = ""
    client_secret: Optional[Secret] = None
    token_url: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com"
    # On-premises (IMAP, e.g. Dovecot): an account allowed to log in as any user, as "user*account".
    host: str = ""
    port: int = 993
    tls: str = "implicit"
    username: str = ""
    passphrase: Optional[Secret] = None
    login_separator: str = "*"

    def validate(self) -> None:
        check_name(self.name, "name", "profile name")
        if self.kind not in PROFILE_KINDS:
            raise ConfigError(f"must be one of {', '.join(PROFILE_KINDS)}", "kind")
        for d in self.domains:
            if not re.fullmatch(r"[A-Za-z0-9.-]+\.[A-Za-z]{2,}", d):
                raise ConfigError(f"{d!r} is not a domain", "domains")
        if self.kind == "graph":
            if not re.fullmatch(r"[A-Za-z0-9.-]{1,100}", self.tenant or "-"):
                raise ConfigError(f"{self.tenant!r} is not a tenant ID or domain", "tenant")
            check_url(self.token_url, "token_url", ("https",))
            check_url(self.graph_url, "graph_url", ("https",))
        else:
            if self.host:
                check_hostname_or_ip(self.host, "host")
            check_port(self.port)
            if self.tls not in IMAP_TLS:
                raise ConfigError(f"must be one of {', '.join(IMAP_TLS)}", "tls")
            if len(self.login_separator) != 1:
                raise ConfigError("the login separator is one character", "login_separator")

    def serves(self, address: str) -> bool:
        domain = address.rpartition("@")[2].lower()
        return not self.domains or any(domain == d.lower() for d in self.domains)


@dataclass(frozen=True)
class RemediationSection(Section):
    name: ClassVar[str] = "remediation"
    title: ClassVar[str] = "Search and remediate: mailbox account profiles"

    profiles: tuple[RemediationProfile, ...] = field(default=(), metadata={"item": "profile"})

    def validate(self) -> None:
        check_unique((p.name.lower() for p in self.profiles), "profiles", "profile name")

    def get(self, name: str) -> RemediationProfile | None:
        return next((p for p in self.profiles if p.name.lower() == name.lower()), None)

    def for_address(self, address: str) -> RemediationProfile | None:
        """The first profile that serves the address's domain (profiles are tried in order)."""
        return next((p for p in self.profiles if p.serves(address)), None)
