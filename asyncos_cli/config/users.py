"""Who may use the appliance: accounts and roles, the passphrase policy, SSH access."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .fields import ConfigError, Record, Section, setting
from .validators import check_name, check_unique, name_rule

#: AsyncOS roles in the appliance's list order (CLI reference, userconfig).
ROLES = (
    "Administrators",
    "Operators",
    "Read-Only Operators",
    "Guests",
    "Technicians",
    "Help Desk Users",
)


@dataclass(frozen=True)
class UserAccount(Record):
    """An account as configured; its passphrase hash is state, kept elsewhere."""

    name: str = setting(help="The login name.", check=name_rule("user name"))
    full_name: str = setting(help="The user's full name.", option="fullname")
    role: str = setting(help="The user's role.", choices=ROLES)


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

    min_length: int = setting(8, help="The shortest passphrase.", low=6, high=128, unit="characters")
    require_upper_lower: bool = setting(True, help="Require upper and lower case letters.")
    require_number: bool = setting(True, help="Require a digit.")
    require_special: bool = setting(True, help="Require a special character.")
    reject_similar_to_username: bool = setting(True, help="Refuse passphrases like the user name.",
                                               option="reject-username")
    #: AsyncOS 14.0: reject three or more repetitive or sequential characters.
    reject_repetitive_sequential: bool = setting(True, help="Refuse three repetitive or sequential characters.")
    history_count: int = setting(3, help="Recent passphrases a user may not reuse (0: no check).", low=0,
                                 high=20, option="history")
    banned_words: tuple[str, ...] = setting((), help="Words a passphrase may not contain.", item="word",
                                            check=lambda w: None if len(w) >= 3 and not any(c.isspace() for c in w)
                                            else f"banned word {w!r}: at least 3 characters, no spaces")
    lockout_enabled: bool = setting(False, help="Lock accounts after failed logins.", option="lockout")
    lockout_attempts: int = setting(5, help="Failed logins before the lock.", low=2, high=99)
    expiry_enabled: bool = setting(False, help="Passphrases expire.", option="expiry")
    expiry_days: int = setting(90, help="Days a passphrase lasts.", low=1, high=366, unit="days")
    reminder_days: int = setting(14, help="Days of reminders before expiry.", low=0, high=90, unit="days")
    grace_enabled: bool = setting(False, help="A grace period after expiry.", option="grace")
    grace_days: int = setting(7, help="Days of grace.", low=1, high=90, unit="days")
    #: A passphrase set by an administrator must be changed at the next login.
    reset_after_admin_set: bool = False

    def validate(self) -> None:
        if self.reminder_days >= self.expiry_days:
            raise ConfigError("the reminder must come before the passphrase expires", "reminder_days")


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

    # Where SSH listens is per interface (interfaceconfig); how long an idle session lasts is adminaccessconfig's.
    enabled: bool = setting(True, help="Whether the SSH server runs.")
    user_keys: tuple[UserKey, ...] = field(default=(), metadata={"item": "user_key"})
