"""Events of the daemon and the configuration (system logs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import Event


@dataclass(frozen=True)
class DaemonStarted(Event):
    log_type: ClassVar[str | None] = "system"
    pid: int
    version: int

    def log_line(self) -> str:
        return f"PID {self.pid}: gateway started with configuration version {self.version}"

@dataclass(frozen=True)
class DaemonStopping(Event):
    log_type: ClassVar[str | None] = "system"
    pid: int
    reason: str

    def log_line(self) -> str:
        return f"PID {self.pid}: gateway stopping ({self.reason})"

@dataclass(frozen=True)
class ConfigCommitted(Event):
    """Written by the shell process that committed (the appliance's system log line)."""

    log_type: ClassVar[str | None] = "system"
    also_logged_to: ClassVar[tuple[str, ...]] = ("config_history",)
    pid: int
    user: str
    comment: str
    version: int

    def log_line(self) -> str:
        return f"PID {self.pid}: User {self.user} commit changes: {self.comment}"

@dataclass(frozen=True)
class ConfigReloaded(Event):
    log_type: ClassVar[str | None] = "system"
    also_logged_to: ClassVar[tuple[str, ...]] = ("config_history",)
    version: int
    previous: int
    user: str
    sections: tuple[str, ...]

    def log_line(self) -> str:
        changed = ", ".join(self.sections) or "none"
        return (
            f"Configuration version {self.version} (committed by {self.user}) is now in effect; "
            f"was {self.previous}; sections changed: {changed}"
        )

@dataclass(frozen=True)
class ConfigReloadFailed(Event):
    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Warning"
    alert_class: ClassVar[str] = "System"
    version: int
    reason: str

    def log_line(self) -> str:
        return f"Configuration version {self.version} could not be applied: {self.reason}; the previous version stays in effect"

@dataclass(frozen=True)
class ConfigStoreUnreachable(Event):
    """A cluster's store cannot be read: mail goes on with the version in effect, commits are refused."""

    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Critical"
    alert_class: ClassVar[str] = "System"
    version: int
    reason: str
    #: Where the store is (no credentials): the URL of the connectivityFailure trap.
    store: str = ""

    def log_line(self) -> str:
        return (f"The configuration store is unreachable ({self.reason}); configuration version {self.version} "
                "stays in effect and commits are refused until it is back")


@dataclass(frozen=True)
class ConfigStoreReachable(Event):
    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Info"
    alert_class: ClassVar[str] = "System"
    version: int

    def log_line(self) -> str:
        return f"The configuration store is reachable again (version {self.version} in effect)"


@dataclass(frozen=True)
class DemoCertificateInUse(Event):
    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Warning"
    subject: str

    def log_line(self) -> str:
        return f"The demonstration certificate ({self.subject}) is in use: import a certificate with certconfig"


@dataclass(frozen=True)
class CertificateExpiring(Event):
    """A configured certificate expires soon or has expired (checked at start and daily)."""

    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Warning"
    alert_class: ClassVar[str] = "System"
    name: str
    days_left: int
    #: The exact seconds left (negative: expired) and its row in the SNMP key expiration table (0: no row).
    seconds_left: int = 0
    row: int = 0

    def log_line(self) -> str:
        if self.days_left < 0:
            return f"The certificate {self.name} has expired ({-self.days_left} days ago): renew it with certconfig"
        return f"The certificate {self.name} expires in {self.days_left} days: renew it with certconfig"


@dataclass(frozen=True)
class ListenerTlsUnavailable(Event):
    """A listener's TLS context could not be built (a certificate or cipher list OpenSSL refuses)."""

    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Critical"
    alert_class: ClassVar[str] = "System"
    listener: str
    reason: str
    required: bool

    def log_line(self) -> str:
        effect = ("it refuses all mail (530 to MAIL, 454 to STARTTLS) until TLS works again" if self.required
                  else "it takes mail without STARTTLS")
        return f"Listener {self.listener}: TLS is unavailable ({self.reason}); STARTTLS is " \
               f"{'required' if self.required else 'preferred'}, so {effect}"


@dataclass(frozen=True)
class ReputationProviderFailed(Event):
    """A reputation provider gave no answer (timeout, error): its lookups count as Unknown."""

    log_type: ClassVar[str | None] = "system"
    also_logged_to: ClassVar[tuple[str, ...]] = ("reputation",)
    level: ClassVar[str] = "Warning"
    alert_class: ClassVar[str] = "System"
    provider: str
    reason: str

    def log_line(self) -> str:
        return f"Reputation provider {self.provider} failed: {self.reason}; the verdict is Unknown"


@dataclass(frozen=True)
class AwarenessRefreshFailed(Event):
    """The repeat-clicker list could not be refreshed: the last good list stays (an alert event)."""

    log_type: ClassVar[str | None] = "system"
    also_logged_to: ClassVar[tuple[str, ...]] = ("cloud_connector",)
    level: ClassVar[str] = "Warning"
    alert_class: ClassVar[str] = "System"
    reason: str
    kept: int

    def log_line(self) -> str:
        return f"Repeat-clicker list refresh failed ({self.reason}); keeping the last good list of {self.kept} addresses"


@dataclass(frozen=True)
class AwarenessRefreshed(Event):
    log_type: ClassVar[str | None] = "system"
    also_logged_to: ClassVar[tuple[str, ...]] = ("cloud_connector",)
    count: int
    source: str

    def log_line(self) -> str:
        return f"Repeat-clicker list refreshed from {self.source}: {self.count} addresses"


@dataclass(frozen=True)
class UpstreamProxyFailed(Event):
    """A request through the upstream HTTP proxy failed at the proxy (an alert and the upstreamProxyFailure trap)."""

    log_type: ClassVar[str | None] = "system"
    also_logged_to: ClassVar[tuple[str, ...]] = ("cloud_connector",)
    level: ClassVar[str] = "Warning"
    alert_class: ClassVar[str] = "System"
    proxy: str
    client: str
    reason: str

    def log_line(self) -> str:
        return f"The upstream proxy {self.proxy} failed for {self.client}: {self.reason}"


@dataclass(frozen=True)
class ResourceThresholdExceeded(Event):
    """CPU or memory utilisation rose above snmpconfig's threshold (raised once until it falls back)."""

    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Warning"
    alert_class: ClassVar[str] = "System"
    resource: str  # "CPU" or "memory"
    percent: int
    threshold: int

    def log_line(self) -> str:
        return f"{self.resource} utilization {self.percent}% exceeds the threshold of {self.threshold}%"


@dataclass(frozen=True)
class ConnectivityFailed(Event):
    """snmpconfig's connectivity URL could not be fetched with a 2xx answer."""

    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Warning"
    alert_class: ClassVar[str] = "System"
    url: str
    reason: str

    def log_line(self) -> str:
        return f"Connectivity check of {self.url} failed: {self.reason}"


@dataclass(frozen=True)
class LinkStateChanged(Event):
    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Warning"
    interface: str
    index: int
    up: bool

    def log_line(self) -> str:
        return f"Network interface {self.interface} is {'up' if self.up else 'down'}"


@dataclass(frozen=True)
class SnmpAgentFailed(Event):
    log_type: ClassVar[str | None] = "system"
    also_logged_to: ClassVar[tuple[str, ...]] = ("snmp",)
    level: ClassVar[str] = "Warning"
    alert_class: ClassVar[str] = "System"
    reason: str

    def log_line(self) -> str:
        return f"The SNMP agent could not start: {self.reason}"


@dataclass(frozen=True)
class SnmpTrapSent(Event):
    log_type: ClassVar[str | None] = "snmp"
    trap: str
    version: str
    targets: tuple[str, ...]

    def log_line(self) -> str:
        return f"SNMP {self.version} trap {self.trap} sent to {', '.join(self.targets)}"


@dataclass(frozen=True)
class SnmpTrapFailed(Event):
    log_type: ClassVar[str | None] = "snmp"
    level: ClassVar[str] = "Warning"
    trap: str
    target: str
    reason: str

    def log_line(self) -> str:
        return f"SNMP trap {self.trap} to {self.target} failed: {self.reason}"


@dataclass(frozen=True)
class AlertSent(Event):
    log_type: ClassVar[str | None] = "system"
    category: str
    severity: str
    address: str
    subject: str
    how: str

    def log_line(self) -> str:
        return (f"A {self.category}/{self.severity} alert was sent to {self.address} with subject "
                f"\"{self.subject}\" ({self.how})")


@dataclass(frozen=True)
class AlertSendFailed(Event):
    """Not an alert itself (that would loop): the alert stays queued and is retried."""

    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Warning"
    alert_id: int
    address: str
    reason: str
    retry_in: int

    def log_line(self) -> str:
        return (f"Alert {self.alert_id} could not be sent to {self.address}: {self.reason}; "
                f"kept, next attempt in {self.retry_in} s")


@dataclass(frozen=True)
class ServiceListening(Event):
    """An administrative service (SSH, the AsyncOS API, the web interface) opened or failed to open a port."""

    log_type: ClassVar[str | None] = "system"
    service: str
    interface: str
    address: str
    port: int
    error: str = ""

    def log_line(self) -> str:
        where = f"interface {self.interface} ({self.address}) port {self.port}"
        if self.error:
            return f"Warning: {self.service} cannot listen on {where}: {self.error}"
        return f"{self.service} listening on {where}"


@dataclass(frozen=True)
class StatusReport(Event):
    """The status log's periodic line: the appliance's keys in its order (parsers read them by position).

    Counters this gateway has no source for (DNS cache, other vendors' engine loads, swap paging) are 0.
    """

    log_type: ClassVar[str | None] = "status"
    readings: tuple  # (key, value) pairs, in STATUS_KEYS order

    def log_line(self) -> str:
        return "Status: " + " ".join(f"{k} {v}" for k, v in self.readings)


#: The status line's keys, in the appliance's order.
STATUS_KEYS = ("CPULd", "DskIO", "RAMUtil", "QKUsd", "QKFre", "CrtMID", "CrtICID", "CrtDCID", "InjMsg", "InjRcp",
               "GenBncRcp", "RejRcp", "DrpMsg", "SftBncEvnt", "CmpRcp", "HrdBncRcp", "DnsHrdBnc", "5XXHrdBnc",
               "FltrHrdBnc", "ExpHrdBnc", "OtrHrdBnc", "DlvRcp", "DelRcp", "GlbUnsbHt", "ActvRcp", "UnatmptRcp",
               "AtmptRcp", "CrtCncIn", "CrtCncOut", "DnsReq", "NetReq", "CchHit", "CchMis", "CchEct", "CchExp",
               "CPUTTm", "CPUETm", "MaxIO", "RAMUsd", "MMLen", "DstInMem", "ResCon", "WorkQ", "QuarMsgs",
               "QuarQKUsd", "LogUsd", "SophLd", "BMLd", "CASELd", "TotalLd", "LogAvail", "EuQ", "EuqRls", "CmrkLd",
               "McafLd", "SwIn", "SwOut", "SwPgIn", "SwPgOut", "SwapUsage", "RptLd", "QtnLd", "EncrQ", "InjBytes")


@dataclass(frozen=True)
class ClockDrift(Event):
    """The clock differs from a time server's by more than a second (ntpconfig)."""

    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Warning"
    server: str
    offset: float

    def log_line(self) -> str:
        return (f"The system clock differs from the time server {self.server} by {self.offset:+.3f} seconds: "
                "correct it in the operating system (chrony, systemd-timesyncd)")


@dataclass(frozen=True)
class CertificateAdded(Event):
    """A certificate (a key, for SNMP) came into use; the keyExpiration trap tells monitors its row."""

    log_type: ClassVar[str | None] = "system"
    name: str
    seconds_left: int
    row: int

    def log_line(self) -> str:
        return f"The certificate {self.name} is in use; it expires in {max(self.seconds_left, 0) // 86400} days"


@dataclass(frozen=True)
class FeatureKeyChanged(Event):
    """A licensed feature (a key of SNMP's key table) came into use, or nears its end (30 days, then daily)."""

    log_type: ClassVar[str | None] = "system"
    name: str
    seconds_left: int
    row: int
    #: True: it expires within 30 days (a warning); False: it was added.
    expiring: bool = False

    @property
    def level(self) -> str:  # type: ignore[override]
        return "Warning" if self.expiring else "Information"

    def log_line(self) -> str:
        days = max(self.seconds_left, 0) // 86400
        if self.expiring:
            return f"The feature {self.name} expires in {days} days: renew its license (license_smart)"
        return f"The feature {self.name} is licensed; it expires in {days} days"
