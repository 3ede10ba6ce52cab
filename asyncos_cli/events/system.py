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
    version: int
    reason: str

    def log_line(self) -> str:
        return f"Configuration version {self.version} could not be applied: {self.reason}; the previous version stays in effect"

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
    name: str
    days_left: int

    def log_line(self) -> str:
        if self.days_left < 0:
            return f"The certificate {self.name} has expired ({-self.days_left} days ago): renew it with certconfig"
        return f"The certificate {self.name} expires in {self.days_left} days: renew it with certconfig"


@dataclass(frozen=True)
class ReputationProviderFailed(Event):
    """A reputation provider gave no answer (timeout, error): its lookups count as Unknown."""

    log_type: ClassVar[str | None] = "system"
    also_logged_to: ClassVar[tuple[str, ...]] = ("reputation",)
    level: ClassVar[str] = "Warning"
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
