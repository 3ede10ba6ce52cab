"""Events of shell sessions (the CLI audit log)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import Event


@dataclass(frozen=True)
class CliInput(Event):
    """A line entered at a shell prompt (secrets already redacted)."""

    log_type: ClassVar[str | None] = "cli_audit"
    pid: int
    user: str
    line: str
    prompt: str

    def log_line(self) -> str:
        return f"PID {self.pid}: User {self.user} entered {self.line!r}; prompt was {self.prompt!r}"

@dataclass(frozen=True)
class CliBatchCommand(Event):
    log_type: ClassVar[str | None] = "cli_audit"
    pid: int
    user: str
    command: str
    origin: str

    def log_line(self) -> str:
        return f"PID {self.pid}: User {self.user} from {self.origin} executed batch command: {self.command}"

@dataclass(frozen=True)
class CliLogin(Event):
    log_type: ClassVar[str | None] = "cli_audit"
    pid: int
    user: str
    origin: str
    local: str

    def log_line(self) -> str:
        return f"PID {self.pid}: User {self.user} login from {self.origin} on {self.local}"


@dataclass(frozen=True)
class SecretsRevealed(Event):
    """An administrator showed stored secrets in clear (``print --reveal``)."""

    log_type: ClassVar[str | None] = "cli_audit"
    level: ClassVar[str] = "Warning"
    pid: int
    user: str
    what: str
    origin: str

    def log_line(self) -> str:
        return f"PID {self.pid}: User {self.user} from {self.origin} revealed the {self.what} in clear"
