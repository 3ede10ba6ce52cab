"""Events of the cloud clients: every exchange (the Cloud Connector log) and registration changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import Event


@dataclass(frozen=True)
class CloudExchange(Event):
    """One request of a cloud client and what came back (the Cloud Connector log's line)."""

    log_type: ClassVar[str | None] = "cloud_connector"
    client: str
    method: str
    url: str
    outcome: str  # "HTTP 200", "failed: ..."
    milliseconds: int

    def log_line(self) -> str:
        return f"{self.client}: {self.method} {self.url} -> {self.outcome} ({self.milliseconds} ms)"


@dataclass(frozen=True)
class CloudStateChanged(Event):
    """A registration or certificate changed (system and Cloud Connector logs)."""

    log_type: ClassVar[str | None] = "system"
    also_logged_to: ClassVar[tuple[str, ...]] = ("cloud_connector",)
    user: str
    text: str

    def log_line(self) -> str:
        return f"{self.text} (by {self.user})"


@dataclass(frozen=True)
class ClickTracked(Event):
    """A click on a rewritten URL, as the aggregator reported it (Web Interaction Tracking)."""

    log_type: ClassVar[str | None] = "cloud_connector"
    mids: tuple[int, ...]
    message_id: str
    recipient: str
    url: str
    action: str

    def log_line(self) -> str:
        where = ", ".join(f"MID {m}" for m in self.mids) or "no tracked message"
        return (f"Web Interaction Tracking: {self.recipient or 'a recipient'} clicked {self.url} ({self.action}) "
                f"in message {self.message_id}: {where}")


@dataclass(frozen=True)
class RemediationDone(Event):
    """One message of a search & remediate job handled, with who asked (system log)."""

    log_type: ClassVar[str | None] = "system"
    job: int
    user: str
    action: str
    mid: int
    recipient: str
    status: str
    detail: str

    def log_line(self) -> str:
        extra = f": {self.detail}" if self.detail else ""
        return (f"Search and remediate job {self.job} (requested by {self.user}): {self.action} MID {self.mid} "
                f"for {self.recipient}: {self.status}{extra}")
