"""The configuration document: its sections and the embedded default.

Each section validates itself on construction (see ``fields.Record``). Later
issues add sections here (listeners, hat, snmp, ...); ``SECTIONS`` is the one
list that the store, the XML reader/writer and ``rollbackconfig diff`` walk.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Iterator, Mapping, Optional

from .fields import ConfigError, Record, Secret, Section
from .validators import (
    check_hostname,
    check_hostname_or_ip,
    check_name,
    check_port,
    check_range,
    check_unique,
)

#: AsyncOS roles in the appliance's list order (CLI reference, userconfig).
ROLES = (
    "Administrators",
    "Operators",
    "Read-Only Operators",
    "Guests",
    "Technicians",
    "Help Desk Users",
)

#: Appliance models (the lifecycle table in asyncos_cli.lifecycle has their dates).
MODELS = ("OEG-50", "OEG-100", "OEG-300", "OEG-600")

#: The appliance's factory host name.
DEFAULT_HOSTNAME = "ironport.example.com"


@dataclass(frozen=True)
class SystemSection(Section):
    name: ClassVar[str] = "system"
    title: ClassVar[str] = "System settings"

    hostname: str = DEFAULT_HOSTNAME
    #: The appliance model this installation stands for (sizing, lifecycle dates).
    model: str = "OEG-100"

    def validate(self) -> None:
        check_hostname(self.hostname)
        if self.model not in MODELS:
            raise ConfigError(f"unknown model {self.model!r}; models: {', '.join(MODELS)}", "model")


@dataclass(frozen=True)
class HttpProxy(Record):
    host: str
    port: int = 3128
    username: str = ""
    passphrase: Optional[Secret] = None

    def validate(self) -> None:
        check_hostname_or_ip(self.host, "host")
        check_port(self.port)
        if self.passphrase is not None and not self.username:
            raise ConfigError("a proxy passphrase needs a user name", "username")


@dataclass(frozen=True)
class OutboundSection(Section):
    """Settings every outbound client shares (HTTP, DNS, SMTP for alerts)."""

    name: ClassVar[str] = "outbound"
    title: ClassVar[str] = "Outbound clients (proxy, timeouts, TLS validation)"

    proxy: Optional[HttpProxy] = None
    timeout_seconds: float = 20.0
    retries: int = 1
    verify_peer_fqdn: bool = True
    verify_peer_x509: bool = True

    def validate(self) -> None:
        check_range(self.timeout_seconds, 1, 300, "timeout_seconds")
        check_range(self.retries, 0, 10, "retries")


#: Log types: the appliance's names; ``prefix`` is the file name stem.
LOG_TYPES = {
    "cli_audit": "CLI Audit Logs",
    "mail": "Text Mail Logs",
    "system": "System Logs",
    "authentication": "Authentication Logs",
}
LOG_LEVELS = ("Critical", "Warning", "Information", "Debug", "Trace")


@dataclass(frozen=True)
class LogSubscription(Record):
    name: str
    log_type: str
    prefix: str
    level: str = "Information"
    max_file_bytes: int = 10 * 1024 * 1024
    rollover_seconds: int = 86400
    keep_files: int = 10

    def validate(self) -> None:
        check_name(self.name, "name", "log name")
        if self.log_type not in LOG_TYPES:
            raise ConfigError(
                f"unknown log type {self.log_type!r}; known: {', '.join(LOG_TYPES)}", "log_type"
            )
        check_name(self.prefix, "prefix", "file name")
        if self.level not in LOG_LEVELS:
            raise ConfigError(f"unknown level {self.level!r}; known: {', '.join(LOG_LEVELS)}", "level")
        check_range(self.max_file_bytes, 100 * 1024, 10 * 1024**3, "max_file_bytes")
        check_range(self.rollover_seconds, 0, 366 * 86400, "rollover_seconds")
        check_range(self.keep_files, 1, 1000, "keep_files")


DEFAULT_LOGS = (
    LogSubscription("cli_logs", "cli_audit", "cli"),
    LogSubscription("mail_logs", "mail", "mail"),
    LogSubscription("system_logs", "system", "system"),
    LogSubscription("authentication", "authentication", "authentication"),
)


@dataclass(frozen=True)
class LogsSection(Section):
    name: ClassVar[str] = "logs"
    title: ClassVar[str] = "Log subscriptions"

    subscriptions: tuple[LogSubscription, ...] = field(
        default=DEFAULT_LOGS, metadata={"item": "subscription"}
    )

    def validate(self) -> None:
        check_unique((s.name for s in self.subscriptions), "subscriptions", "log name")
        check_unique((s.prefix for s in self.subscriptions), "subscriptions", "file name")

    def of_type(self, log_type: str) -> Iterator[LogSubscription]:
        return (s for s in self.subscriptions if s.log_type == log_type)


@dataclass(frozen=True)
class UserAccount(Record):
    """An account as configured; its passphrase hash is state, kept elsewhere."""

    name: str
    full_name: str
    role: str

    def validate(self) -> None:
        check_name(self.name, "name", "user name")
        if self.role not in ROLES:
            raise ConfigError(f"unknown role {self.role!r}; roles: {', '.join(ROLES)}", "role")


@dataclass(frozen=True)
class UsersSection(Section):
    name: ClassVar[str] = "users"
    title: ClassVar[str] = "Local user accounts"

    accounts: tuple[UserAccount, ...] = field(
        default=(UserAccount("admin", "Administrator", "Administrators"),),
        metadata={"item": "account"},
    )

    def validate(self) -> None:
        check_unique((a.name for a in self.accounts), "accounts", "user name")
        if not any(a.role == "Administrators" for a in self.accounts):
            raise ConfigError("at least one account must be in the Administrators role", "accounts")

    def get(self, user: str) -> UserAccount | None:
        return next((a for a in self.accounts if a.name == user), None)


@dataclass(frozen=True)
class PassphrasePolicySection(Section):
    """userconfig -> POLICY: PASSWORDSTRENGTH and ACCOUNT."""

    name: ClassVar[str] = "passphrase_policy"
    title: ClassVar[str] = "Passphrase strength and account policy"

    min_length: int = 8
    require_upper_lower: bool = True
    require_number: bool = True
    require_special: bool = True
    reject_similar_to_username: bool = True
    #: AsyncOS 14.0: reject three or more repetitive or sequential characters.
    reject_repetitive_sequential: bool = True
    #: Recent passphrases a user may not reuse (0: no check).
    history_count: int = 3
    banned_words: tuple[str, ...] = field(default=(), metadata={"item": "word"})
    lockout_enabled: bool = False
    lockout_attempts: int = 5
    expiry_enabled: bool = False
    expiry_days: int = 90
    reminder_days: int = 14
    grace_enabled: bool = False
    grace_days: int = 7
    #: A passphrase set by an administrator must be changed at the next login.
    reset_after_admin_set: bool = False

    def validate(self) -> None:
        check_range(self.min_length, 6, 128, "min_length")
        check_range(self.history_count, 0, 20, "history_count")
        check_range(self.lockout_attempts, 2, 99, "lockout_attempts")
        check_range(self.expiry_days, 1, 366, "expiry_days")
        check_range(self.reminder_days, 0, 90, "reminder_days")
        check_range(self.grace_days, 1, 90, "grace_days")
        if self.reminder_days >= self.expiry_days:
            raise ConfigError("the reminder must come before the passphrase expires", "reminder_days")
        for w in self.banned_words:
            if len(w) < 3 or any(c.isspace() for c in w):
                raise ConfigError(f"banned word {w!r}: at least 3 characters, no spaces", "banned_words")


@dataclass(frozen=True)
class UserKey(Record):
    """A public key that logs a user in over SSH (sshconfig -> USERKEY)."""

    user: str
    key: str

    def validate(self) -> None:
        check_name(self.user, "user", "user name")
        parts = self.key.split()
        if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-sha2-", "sk-")):
            raise ConfigError("expected an OpenSSH public key line (ssh-ed25519 AAAA... comment)", "key")


@dataclass(frozen=True)
class SshSection(Section):
    name: ClassVar[str] = "ssh"
    title: ClassVar[str] = "SSH access to the shell"

    enabled: bool = True
    listen: str = "127.0.0.1"
    port: int = 2222
    idle_timeout_minutes: int = 30
    user_keys: tuple[UserKey, ...] = field(default=(), metadata={"item": "user_key"})

    def validate(self) -> None:
        import ipaddress

        try:
            ipaddress.ip_address(self.listen)
        except ValueError:
            raise ConfigError(f"{self.listen!r} is not an IP address", "listen") from None
        check_port(self.port)
        check_range(self.idle_timeout_minutes, 1, 1440, "idle_timeout_minutes")


#: Every section, in the order the XML and diffs show them.
SECTIONS: tuple[type[Section], ...] = (
    SystemSection,
    UsersSection,
    PassphrasePolicySection,
    SshSection,
    OutboundSection,
    LogsSection,
)
SECTION_BY_NAME: Mapping[str, type[Section]] = MappingProxyType({s.name: s for s in SECTIONS})


class Config:
    """One immutable configuration document: every section, validated."""

    __slots__ = ("_sections",)

    def __init__(self, sections: Mapping[str, Section]):
        missing = [s.name for s in SECTIONS if s.name not in sections]
        if missing:
            raise ConfigError(f"missing sections: {', '.join(missing)}")
        for name, sec in sections.items():
            if name not in SECTION_BY_NAME or not isinstance(sec, SECTION_BY_NAME[name]):
                raise ConfigError(f"unknown or mistyped section {name!r}")
        self._sections = MappingProxyType(dict(sections))

    @classmethod
    def default(cls) -> "Config":
        return cls({s.name: s() for s in SECTIONS})

    def __getitem__(self, name: str) -> Section:
        return self._sections[name]

    def __iter__(self):
        return iter(s.name for s in SECTIONS)

    def sections(self) -> Iterator[Section]:
        return (self._sections[s.name] for s in SECTIONS)

    def with_section(self, section: Section) -> "Config":
        return Config({**self._sections, section.name: section})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and dict(self._sections) == dict(other._sections)

    # Typed accessors: engines read config.system.hostname, not strings.
    @property
    def system(self) -> SystemSection:
        return self._sections["system"]  # type: ignore[return-value]

    @property
    def users(self) -> UsersSection:
        return self._sections["users"]  # type: ignore[return-value]

    @property
    def outbound(self) -> OutboundSection:
        return self._sections["outbound"]  # type: ignore[return-value]

    @property
    def logs(self) -> LogsSection:
        return self._sections["logs"]  # type: ignore[return-value]

    @property
    def passphrase_policy(self) -> PassphrasePolicySection:
        return self._sections["passphrase_policy"]  # type: ignore[return-value]

    @property
    def ssh(self) -> SshSection:
        return self._sections["ssh"]  # type: ignore[return-value]


def secrets_in(record: Record) -> Iterator[tuple[str, Secret]]:
    """Every secret in a record, with its dotted path."""
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        yield from _secrets_in_value(value, f.name)


def _secrets_in_value(value, path):
    if isinstance(value, Secret):
        yield path, value
    elif isinstance(value, Record):
        for sub, s in secrets_in(value):
            yield f"{path}.{sub}", s
    elif isinstance(value, tuple):
        for i, v in enumerate(value):
            yield from _secrets_in_value(v, f"{path}[{i}]")
