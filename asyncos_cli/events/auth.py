"""Authentication events, in the appliance's authentication-log wording."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import Event


@dataclass(frozen=True)
class LoginSucceeded(Event):
    log_type: ClassVar[str | None] = "authentication"
    user: str
    origin: str
    privilege: str  # the role's keyword: admin, operator, readonly, ...
    via: str = "SSH"

    def log_line(self) -> str:
        return (
            f"The user {self.user} successfully logged on from {self.origin} with privilege "
            f"{self.privilege} using an {self.via} connection."
        )

@dataclass(frozen=True)
class LoginFailed(Event):
    log_type: ClassVar[str | None] = "authentication"
    level: ClassVar[str] = "Warning"
    user: str
    origin: str
    reason: str
    via: str = "SSH"

    def log_lines(self) -> list[str]:
        # The appliance's sentence has no reason in it (parsers match it whole); the reason gets its own line.
        lines = [f"An authentication attempt by the user {self.user} from {self.origin} failed using an "
                 f"{self.via} connection."]
        if self.reason:
            lines.append(f"Authentication failure reason for the user {self.user} from {self.origin}: "
                         f"{self.reason}")
        return lines

@dataclass(frozen=True)
class AccountLocked(Event):
    log_type: ClassVar[str | None] = "authentication"
    level: ClassVar[str] = "Warning"
    user: str
    origin: str
    attempts: int

    def log_line(self) -> str:
        return (
            f"The account of the user {self.user} has been locked after {self.attempts} failed login "
            f"attempts; the last one came from {self.origin}."
        )

@dataclass(frozen=True)
class AccountLockChanged(Event):
    log_type: ClassVar[str | None] = "authentication"
    user: str
    locked: bool
    by: str
    origin: str

    def log_line(self) -> str:
        what = "locked" if self.locked else "unlocked"
        return f"The account of the user {self.user} was {what} by {self.by} from {self.origin}."

@dataclass(frozen=True)
class LoggedOut(Event):
    log_type: ClassVar[str | None] = "authentication"
    user: str
    origin: str
    reason: str = ""

    def log_line(self) -> str:
        if self.reason:
            return f"CLI: User {self.user} logged out from {self.origin} because of {self.reason}"
        return f"User {self.user} logged out of SSH session {self.origin}"


@dataclass(frozen=True)
class GuiLoggedOut(Event):
    log_type: ClassVar[str | None] = "authentication"
    user: str
    session: str
    reason: str = ""
    address: str = ""

    def log_line(self) -> str:
        if self.reason:
            return f"GUI: User {self.user} logged out from session {self.session} because of {self.reason}"
        return f"logout:{self.address} user:{self.user} session:{self.session}"


@dataclass(frozen=True)
class GuiRequest(Event):
    """One page or API request made through the web interface (the gui_logs line)."""

    log_type: ClassVar[str | None] = "gui"
    address: str
    user: str
    session: str
    method: str
    path: str
    status: int

    def log_line(self) -> str:
        return (f"req:{self.address} user:{self.user or '-'} id:{self.session or '-'} {self.status} "
                f"{self.method} {self.path}")
