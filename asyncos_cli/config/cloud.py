"""Cloud services settings: Smart Licensing, the Cisco Cloud Services portal, the Talos certificate endpoint.

Vendors' clouds are not reachable from every gateway (nor from the tests), so
every endpoint is configurable; the defaults are the vendor's public names.
Registrations are state (per machine), not configuration: see services/cloud.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar, Optional

from .engines import check_url, url_rule
from .fields import ConfigError, Secret, Section, setting
from .validators import check_range

#: cloudserviceconfig ENABLE's region list: (name, default server).
REGIONS = (("AMERICAS", "https://api-sse.cisco.com"), ("EUROPE", "https://api.eu.sse.itd.cisco.com"))


@dataclass(frozen=True)
class LicensingSection(Section):
    """license_smart: Smart Licensing (the registration itself is state)."""

    name: ClassVar[str] = "licensing"
    title: ClassVar[str] = "Smart Licensing"

    smart_licensing: bool = setting(False, help="Whether Smart Licensing is enabled.")
    url: str = setting("https://smartreceiver.cisco.com/licservice/license",
                       help="The Smart Software Manager (or an on-premises satellite) the gateway registers with.",
                       check=url_rule("https"))
    timeout_seconds: float = setting(30.0, help="Seconds a request may take.", low=1, high=300, unit="seconds",
                                     option="timeout")

    def validate(self) -> None:
        check_url(self.url, "url", ("https",))


@dataclass(frozen=True)
class CloudSection(Section):
    """cloudserviceconfig: the region's server, its FQDN label, and where a new Talos certificate comes from."""

    name: ClassVar[str] = "cloud"
    title: ClassVar[str] = "Cisco Cloud Services"

    region: str = setting("AMERICAS", help="The Cisco Cloud Services region.", choices=tuple(dict(REGIONS)))
    #: The region's server; empty: the region's default (REGIONS).
    server_url: str = ""
    #: SETFQDN: a label for the region, e.g. APJC.
    fqdn_label: str = ""
    #: Where FETCHCERTIFICATE downloads the Talos certificate and key.
    talos_url: str = "https://talos-certificates.cisco.com"
    timeout_seconds: float = setting(30.0, help="Seconds a request may take.", low=1, high=300, unit="seconds",
                                     option="timeout")
    #: Web Interaction Tracking: clicks on rewritten URLs, polled from the aggregator into message tracking.
    interaction_tracking: bool = False
    aggregator_url: str = ""
    poll_seconds: int = setting(300, help="Seconds between polls of the aggregator.", low=1, high=86400,
                                unit="seconds", option="poll")

    def validate(self) -> None:
        if self.server_url:
            check_url(self.server_url, "server_url", ("https",))
        if self.fqdn_label and not re.fullmatch(r"[A-Za-z0-9.-]{1,63}", self.fqdn_label):
            raise ConfigError(f"{self.fqdn_label!r} is not a label (letters, digits, '.', '-')", "fqdn_label")
        check_url(self.talos_url, "talos_url", ("https",))
        if self.aggregator_url or self.interaction_tracking:
            check_url(self.aggregator_url, "aggregator_url", ("https",))

    @property
    def server(self) -> str:
        return self.server_url or dict(REGIONS)[self.region]


CLOUD_SECTIONS = (LicensingSection, CloudSection)


@dataclass(frozen=True)
class AwarenessSection(Section):
    """awarenessconfig: the phishing-awareness service whose repeat-clicker list mail policies can match."""

    name: ClassVar[str] = "awareness"
    title: ClassVar[str] = "Secure Awareness integration (repeat clickers)"

    enabled: bool = False
    url: str = ""
    token: Optional[Secret] = None
    interval_minutes: int = 60

    def validate(self) -> None:
        if self.url and not re.match(r"https?://[^\s]+$", self.url):
            raise ConfigError("the service URL must be http(s)://...", "url")
        if self.enabled and not self.url:
            raise ConfigError("the integration needs the service URL (--url)", "url")
        check_range(self.interval_minutes, 1, 7 * 24 * 60, "interval_minutes")
