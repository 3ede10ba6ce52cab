"""Events of the threat engines: outages (alerts), recoveries, and the AMP engine log's lines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from . import Event

#: How the engines are named in logs and alerts.
ENGINE_TITLES = {"antivirus": "Anti-Virus (ClamAV)", "antispam": "Anti-Spam (Rspamd)",
                 "file_reputation": "File Reputation"}


@dataclass(frozen=True)
class EngineUnavailable(Event):
    """An engine could not be reached: raised once per outage (an alert of the engine's class)."""

    log_type: ClassVar[str | None] = "system"
    level: ClassVar[str] = "Critical"
    engine: str
    reason: str
    action: str

    def log_line(self) -> str:
        return (f"{ENGINE_TITLES.get(self.engine, self.engine)} is unavailable: {self.reason}. "
                f"Messages are handled by the \"engine unavailable\" action: {self.action}")


@dataclass(frozen=True)
class AntivirusUnavailable(EngineUnavailable):
    alert_class: ClassVar[str] = "Anti-Virus"
    also_logged_to: ClassVar[tuple[str, ...]] = ("antivirus",)


@dataclass(frozen=True)
class AntispamUnavailable(EngineUnavailable):
    alert_class: ClassVar[str] = "Anti-Spam"
    also_logged_to: ClassVar[tuple[str, ...]] = ("antispam",)


@dataclass(frozen=True)
class FileReputationUnavailable(EngineUnavailable):
    alert_class: ClassVar[str] = "System"
    also_logged_to: ClassVar[tuple[str, ...]] = ("amp",)


UNAVAILABLE = {"antivirus": AntivirusUnavailable, "antispam": AntispamUnavailable,
               "file_reputation": FileReputationUnavailable}


@dataclass(frozen=True)
class EngineAvailable(Event):
    log_type: ClassVar[str | None] = "system"
    engine: str
    after_seconds: float

    @property
    def also_logged_to(self) -> tuple[str, ...]:  # type: ignore[override]
        return (self.engine,) if self.engine in ("antivirus", "antispam") else ()

    def log_line(self) -> str:
        return (f"{ENGINE_TITLES.get(self.engine, self.engine)} is available again "
                f"(after {self.after_seconds:.0f} s unavailable)")


@dataclass(frozen=True)
class AmpFileVerdict(Event):
    """One file's reputation answer (the AMP engine log's line)."""

    log_type: ClassVar[str | None] = "amp"
    mid: int
    name: str
    sha256: str
    size: int
    file_type: str
    verdict: str
    threat: str
    source: str  # "cloud" or "cache"

    def log_line(self) -> str:
        return (f"Response received for file reputation query from {self.source}. File Name = '{self.name}', "
                f"MID = {self.mid}, Disposition = FILE {self.verdict.upper()}, Malware = {self.threat or 'None'}, "
                f"File Size = {self.size} bytes, File Type = {self.file_type}, sha256 = {self.sha256}")


@dataclass(frozen=True)
class AmpQueryRetried(Event):
    log_type: ClassVar[str | None] = "amp"
    level: ClassVar[str] = "Warning"
    mid: int
    reason: str
    left_seconds: float

    def log_line(self) -> str:
        return (f"File reputation query for MID {self.mid} failed ({self.reason}); "
                f"retrying once within the {self.left_seconds:.1f} s left")


@dataclass(frozen=True)
class AmpQueryFailed(Event):
    log_type: ClassVar[str | None] = "amp"
    level: ClassVar[str] = "Warning"
    mid: int
    reason: str

    def log_line(self) -> str:
        return f"File reputation query for MID {self.mid} failed after its retry ({self.reason}): verdict UNKNOWN"


@dataclass(frozen=True)
class AmpFileUploaded(Event):
    log_type: ClassVar[str | None] = "amp"
    mid: int
    name: str
    sha256: str
    outcome: str

    def log_line(self) -> str:
        return f"File analysis upload for MID {self.mid}, File Name = '{self.name}', sha256 = {self.sha256}: {self.outcome}"


@dataclass(frozen=True)
class MessageDeferred(Event):
    """A message kept in the queue because an engine was unavailable (scanned again later)."""

    log_type: ClassVar[str | None] = "mail"
    level: ClassVar[str] = "Warning"
    mid: int
    why: str
    retry_seconds: int

    def log_line(self) -> str:
        return f"MID {self.mid} deferred: {self.why}; scanning again in {self.retry_seconds} s"


@dataclass(frozen=True)
class AntivirusScanned(Event):
    """One message's anti-virus result as the appliance's antivirus log writes it (the engine's own log)."""

    log_type: ClassVar[str | None] = "antivirus"
    mid: int
    verdict: str  # the scanning stage's: NEGATIVE, POSITIVE, UNSCANNABLE, ENCRYPTED, SKIPPED
    detail: str = ""
    engine: str = "clamav"

    def log_line(self) -> str:
        head = f"{self.engine}  antivirus - MID {self.mid}"
        if self.verdict == "POSITIVE":
            name = self.detail.partition(";")[0].strip() or "unknown"
            found = re.fullmatch(r"(.+?) \(in (.+)\)", name)  # "Name (in report.zip/report.bin)"
            where = f"body.scan/{found.group(2)}" if found else "body.scan"
            return f"{head} 0 - Virus '{found.group(1) if found else name}' '{where}' 1 0"
        if self.verdict in ("UNSCANNABLE", "ENCRYPTED"):
            return f"{head} 0 - Error - '{self.verdict.capitalize()}' '{self.detail}'"
        if self.verdict == "NEGATIVE":
            return f"{head} - Result 'CLEAN' ()"
        return f"{head} - Result '{self.verdict}' ({self.detail})"
