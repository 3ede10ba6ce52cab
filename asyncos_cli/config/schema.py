"""The configuration document: its sections and the embedded default.

Each section validates itself on construction (see ``fields.Record``). Later
issues add sections here (listeners, hat, snmp, ...); ``SECTIONS`` is the one
list that the store, the XML reader/writer and ``rollbackconfig diff`` walk.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Iterator, Mapping, Optional

from .cloud import CLOUD_SECTIONS, CloudSection, LicensingSection
from .engines import (ENGINE_SECTIONS, AntispamActions, AntispamSection, AntivirusActions, AntivirusSection,
                      FileReputationActions, FileReputationSection)
from .fields import ConfigError, Record, Secret, Section
from .proxy import HttpProxy
from .remediation import RemediationSection
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
    "consolidated": "Consolidated Event Logs",
    "config_history": "Configuration History Logs",
    "reputation": "Reputation Engine Logs",
    "content_scanner": "Content Scanner Logs",
    "cloud_connector": "Cloud Connector Logs",
    "amp": "AMP Engine Logs",
    "snmp": "SNMP Logs",
}
LOG_LEVELS = ("Critical", "Warning", "Information", "Debug", "Trace")
#: Syslog facilities by their RFC 5424 numbers (the index).
SYSLOG_FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
                     "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3",
                     "local4", "local5", "local6", "local7")


@dataclass(frozen=True)
class LogSubscription(Record):
    name: str
    log_type: str
    prefix: str
    level: str = "Information"
    max_file_bytes: int = 10 * 1024 * 1024
    rollover_seconds: int = 86400
    keep_files: int = 10
    #: How the logs are retrieved: "file" (manual download: local files) or "syslog" (pushed).
    retrieval: str = "file"
    syslog_host: str = ""
    syslog_port: int = 514
    syslog_protocol: str = "udp"
    syslog_facility: str = "user"
    #: Consolidated Event Logs: the CEF fields written (empty: all of them).
    cef_fields: tuple[str, ...] = field(default=(), metadata={"item": "field"})

    def validate(self) -> None:
        check_name(self.name, "name", "log name")
        for f in self.cef_fields:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{1,40}", f):
                raise ConfigError(f"{f!r} is not a CEF field name", "cef_fields")
        if self.retrieval not in ("file", "syslog"):
            raise ConfigError("retrieval must be file or syslog", "retrieval")
        if self.retrieval == "syslog":
            check_hostname_or_ip(self.syslog_host, "syslog_host")
            check_port(self.syslog_port, "syslog_port")
            if self.syslog_protocol not in ("udp", "tcp"):
                raise ConfigError("the syslog protocol is udp or tcp", "syslog_protocol")
            if self.syslog_facility not in SYSLOG_FACILITIES:
                raise ConfigError(f"the facility must be one of {', '.join(SYSLOG_FACILITIES)}", "syslog_facility")
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
    LogSubscription("amp", "amp", "amp"),
    LogSubscription("cloud_connector", "cloud_connector", "cloud_connector"),
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


# ---------------------------------------------------------------- mail relay

STARTTLS_MODES = ("off", "preferred", "required")
LISTENER_KINDS = ("public", "private")


@dataclass(frozen=True)
class Listener(Record):
    """An SMTP listener (listenerconfig): public takes incoming mail, private relays outgoing."""

    name: str
    kind: str
    interface: str = "127.0.0.1"
    port: int = 25
    starttls: str = "preferred"
    max_message_bytes: int = 10 * 1024 * 1024
    max_recipients: int = 100
    max_connections: int = 300
    #: Seconds a client may stay silent before it gets 421 and is disconnected.
    idle_timeout_seconds: int = field(default=300, metadata={"since": 2})
    #: Header fields per message, and the bytes of the whole header, before 554 / 552.
    max_header_count: int = field(default=1000, metadata={"since": 2})
    max_header_bytes: int = field(default=1024 * 1024, metadata={"since": 2})
    #: Recipient access table: domains a public listener accepts mail for.
    rcpt_access: tuple[str, ...] = field(default=(), metadata={"item": "domain"})
    enabled: bool = True
    #: The certificate STARTTLS presents (certconfig); empty: the demonstration certificate.
    certificate: str = ""

    def validate(self) -> None:
        check_name(self.name, "name", "listener name")
        if self.kind not in LISTENER_KINDS:
            raise ConfigError(f"kind must be public or private, got {self.kind!r}", "kind")
        import ipaddress

        try:
            ipaddress.ip_address(self.interface)
        except ValueError:
            raise ConfigError(f"{self.interface!r} is not an IP address", "interface") from None
        check_port(self.port)
        if self.starttls not in STARTTLS_MODES:
            raise ConfigError(f"starttls must be one of {', '.join(STARTTLS_MODES)}", "starttls")
        check_range(self.max_message_bytes, 1024, 1024**3, "max_message_bytes")
        check_range(self.max_recipients, 1, 100000, "max_recipients")
        check_range(self.max_connections, 1, 100000, "max_connections")
        check_range(self.idle_timeout_seconds, 5, 3600, "idle_timeout_seconds")
        check_range(self.max_header_count, 10, 100000, "max_header_count")
        check_range(self.max_header_bytes, 1024, 1024**3, "max_header_bytes")
        for d in self.rcpt_access:
            check_domain_pattern(d, "rcpt_access")
        if self.certificate:
            check_name(self.certificate, "certificate", "certificate name")


def check_domain_pattern(value: str, field_name: str) -> None:
    """A domain, a '.domain' (its subdomains) or 'ALL'; IDN domains in U-label or A-label form."""
    if value == "ALL":
        return
    name = value[1:] if value.startswith(".") else value
    if name.isascii() and not name.lower().startswith("xn--") and ".xn--" not in name.lower():
        check_hostname(name if "." in name else name + ".invalid", field_name)
        return
    try:
        import idna  # only for internationalized names: it costs start-up time

        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except Exception as e:  # idna raises several error types; all mean "not a domain"
        raise ConfigError(f"{value!r} is not a domain name ({e})", field_name) from None
    check_hostname(ascii_name if "." in ascii_name else ascii_name + ".invalid", field_name)


DEFAULT_LISTENERS = (
    Listener("IncomingMail", "public", "127.0.0.1", 2525, rcpt_access=("example.com",)),
    Listener("OutgoingMail", "private", "127.0.0.1", 2587),
)


@dataclass(frozen=True)
class ListenersSection(Section):
    name: ClassVar[str] = "listeners"
    title: ClassVar[str] = "SMTP listeners"

    listeners: tuple[Listener, ...] = field(default=DEFAULT_LISTENERS, metadata={"item": "listener"})

    def validate(self) -> None:
        check_unique((l.name for l in self.listeners), "listeners", "listener name")
        check_unique((f"{l.interface}:{l.port}" for l in self.listeners), "listeners", "address and port")

    def get(self, name: str) -> Listener | None:
        return next((l for l in self.listeners if l.name.lower() == name.lower()), None)


POLICY_ACTIONS = ("accept", "reject", "tcprefuse", "relay")


@dataclass(frozen=True)
class MailFlowPolicy(Record):
    name: str
    action: str
    max_message_bytes: int = 10 * 1024 * 1024
    max_recipients: int = 1000
    #: Messages per hour from one client address (0: no limit).
    max_messages_per_hour: int = 0
    max_connections_per_ip: int = 50
    tls: str = "preferred"
    #: Sender domain reputation check in the SMTP conversation (the reputation issue gives it effect).
    sdr_check: bool = True

    def validate(self) -> None:
        check_name(self.name, "name", "policy name")
        if self.action not in POLICY_ACTIONS:
            raise ConfigError(f"action must be one of {', '.join(POLICY_ACTIONS)}", "action")
        if self.tls not in STARTTLS_MODES:
            raise ConfigError(f"tls must be one of {', '.join(STARTTLS_MODES)}", "tls")
        check_range(self.max_message_bytes, 1024, 1024**3, "max_message_bytes")
        check_range(self.max_recipients, 1, 100000, "max_recipients")
        check_range(self.max_messages_per_hour, 0, 10**7, "max_messages_per_hour")
        check_range(self.max_connections_per_ip, 1, 100000, "max_connections_per_ip")


@dataclass(frozen=True)
class SenderGroup(Record):
    """Host access table row: who (IP, CIDR, host name, .domain, ALL) gets which policy."""

    name: str
    listener_kind: str
    policy: str
    senders: tuple[str, ...] = field(default=(), metadata={"item": "sender"})
    #: An SBRS range ("-10.0:-3.0"): clients whose IP reputation score lies in it match the group.
    sbrs_range: str = ""

    def validate(self) -> None:
        check_name(self.name, "name", "sender group name")
        if self.sbrs_range:
            low, _, high = self.sbrs_range.partition(":")
            try:
                if not -10 <= float(low) <= float(high) <= 10:
                    raise ValueError
            except ValueError:
                raise ConfigError("an SBRS range is LOW:HIGH within -10.0 and 10.0", "sbrs_range") from None
        if self.listener_kind not in LISTENER_KINDS:
            raise ConfigError("listener_kind must be public or private", "listener_kind")
        for s in self.senders:
            check_sender_pattern(s)


def check_sender_pattern(value: str) -> None:
    import ipaddress

    if value == "ALL":
        return
    try:
        ipaddress.ip_network(value, strict=False)
        return
    except ValueError:
        pass
    check_domain_pattern(value, "senders")


@dataclass(frozen=True)
class HatSection(Section):
    name: ClassVar[str] = "hat"
    title: ClassVar[str] = "Host access table and mail flow policies"

    policies: tuple[MailFlowPolicy, ...] = field(
        default=(
            MailFlowPolicy("ACCEPTED", "accept"),
            MailFlowPolicy("BLOCKED", "reject"),
            MailFlowPolicy("THROTTLED", "accept", max_recipients=25, max_messages_per_hour=100,
                           max_connections_per_ip=10),
            MailFlowPolicy("TRUSTED", "accept", max_recipients=5000, max_connections_per_ip=600),
            MailFlowPolicy("RELAYED", "relay", max_recipients=5000, max_connections_per_ip=600, sdr_check=False),
        ),
        metadata={"item": "policy"},
    )
    sender_groups: tuple[SenderGroup, ...] = field(
        default=(
            SenderGroup("ALLOWED_LIST", "public", "TRUSTED"),
            SenderGroup("BLOCKED_LIST", "public", "BLOCKED", sbrs_range="-10.0:-3.0"),
            SenderGroup("SUSPECTLIST", "public", "THROTTLED", sbrs_range="-3.0:-1.0"),
            SenderGroup("UNKNOWNLIST", "public", "ACCEPTED", ("ALL",)),
            SenderGroup("RELAYLIST", "private", "RELAYED", ("127.0.0.0/8", "::1")),
        ),
        metadata={"item": "sender_group"},
    )

    def validate(self) -> None:
        check_unique((p.name for p in self.policies), "policies", "policy name")
        check_unique((g.name for g in self.sender_groups), "sender_groups", "sender group name")
        names = {p.name for p in self.policies}
        for g in self.sender_groups:
            if g.policy not in names:
                raise ConfigError(f"sender group {g.name} uses the unknown policy {g.policy!r}", "sender_groups")

    def policy(self, name: str) -> MailFlowPolicy:
        return next(p for p in self.policies if p.name == name)


@dataclass(frozen=True)
class Route(Record):
    """smtproutes: mail for a domain (or ALL) goes to these hosts; '/dev/null' drops it."""

    domain: str
    hosts: tuple[str, ...] = field(default=(), metadata={"item": "host"})

    def validate(self) -> None:
        check_domain_pattern(self.domain, "domain")
        if not self.hosts:
            raise ConfigError("a route needs at least one destination host", "hosts")
        for h in self.hosts:
            if h == "/dev/null":
                continue
            host, _, port = h.rpartition(":") if h.count(":") == 1 or h.startswith("[") else (h, "", "")
            if port:
                if not port.isdigit():
                    raise ConfigError(f"{h!r}: the port must be a number", "hosts")
                check_port(int(port), "hosts")
            name = host.strip("[]") or h
            if name.isascii():
                check_hostname_or_ip(name, "hosts")
            else:
                check_domain_pattern(name, "hosts")  # an internationalised host name, checked as its A-label


@dataclass(frozen=True)
class RoutesSection(Section):
    name: ClassVar[str] = "routes"
    title: ClassVar[str] = "SMTP routes"

    routes: tuple[Route, ...] = field(default=(), metadata={"item": "route"})

    def validate(self) -> None:
        check_unique((r.domain.lower() for r in self.routes), "routes", "route domain")


DEST_TLS = ("none", "preferred", "required", "required-verify")


@dataclass(frozen=True)
class Destination(Record):
    """destconfig: per-destination delivery controls ('default' applies to every other domain)."""

    domain: str
    tls: str = "preferred"
    concurrency: int = 20

    def validate(self) -> None:
        if self.domain != "default":
            check_domain_pattern(self.domain, "domain")
        if self.tls not in DEST_TLS:
            raise ConfigError(f"tls must be one of {', '.join(DEST_TLS)}", "tls")
        check_range(self.concurrency, 1, 1000, "concurrency")


@dataclass(frozen=True)
class DeliverySection(Section):
    name: ClassVar[str] = "delivery"
    title: ClassVar[str] = "Delivery: destinations, retries, bounces"

    destinations: tuple[Destination, ...] = field(default=(Destination("default"),), metadata={"item": "destination"})
    retry_initial_seconds: int = 60
    retry_max_seconds: int = 3600
    max_queue_lifetime_seconds: int = 259200
    connect_timeout_seconds: int = 30
    command_timeout_seconds: int = 300

    def validate(self) -> None:
        check_unique((d.domain.lower() for d in self.destinations), "destinations", "destination")
        if not any(d.domain == "default" for d in self.destinations):
            raise ConfigError("the 'default' destination is required", "destinations")
        check_range(self.retry_initial_seconds, 1, 86400, "retry_initial_seconds")
        check_range(self.retry_max_seconds, self.retry_initial_seconds, 7 * 86400, "retry_max_seconds")
        check_range(self.max_queue_lifetime_seconds, 60, 30 * 86400, "max_queue_lifetime_seconds")
        check_range(self.connect_timeout_seconds, 1, 600, "connect_timeout_seconds")
        check_range(self.command_timeout_seconds, 1, 3600, "command_timeout_seconds")

    def for_domain(self, domain: str) -> Destination:
        d = domain.lower()
        for dest in self.destinations:
            if dest.domain.lower() == d:
                return dest
        return next(x for x in self.destinations if x.domain == "default")


# ---------------------------------------------------------------- mail policies (scanning)


@dataclass(frozen=True)
class MailPolicy(Record):
    """A mail policy: who it matches, and which engines scan their mail (policyconfig)."""

    name: str
    #: Sender patterns: user@domain, @domain, @.domain (subdomains), user@ (any domain); empty: anyone.
    senders: tuple[str, ...] = field(default=(), metadata={"item": "sender"})
    #: Recipient patterns, as for senders; empty: anyone.
    recipients: tuple[str, ...] = field(default=(), metadata={"item": "recipient"})
    antispam: bool = True
    antivirus: bool = True
    file_reputation: bool = True
    graymail: bool = False
    dlp: bool = True
    content_filters: tuple[str, ...] = field(default=(), metadata={"item": "filter"})
    #: DLP policies (dlpconfig) this outgoing mail policy applies, in order.
    dlp_policies: tuple[str, ...] = field(default=(), metadata={"item": "dlp_policy"})
    #: Matches only recipients on the awareness service's repeat-clicker list (awarenessconfig).
    repeat_clickers: bool = False
    #: What each engine's verdicts do to this policy's copy (antivirusconfig, antispamconfig, ampconfig).
    antivirus_actions: AntivirusActions = AntivirusActions()
    antispam_actions: AntispamActions = AntispamActions()
    file_reputation_actions: FileReputationActions = FileReputationActions()

    def validate(self) -> None:
        check_name(self.name, "name", "policy name")
        for p in (*self.senders, *self.recipients):
            if "@" not in p or len(p) < 2 or any(c.isspace() for c in p):
                raise ConfigError(f"{p!r} is not an address pattern (user@domain, @domain, @.domain, user@)",
                                  "senders")


@dataclass(frozen=True)
class MailPoliciesSection(Section):
    """Incoming and outgoing mail policies, matched in order; DEFAULT (last) matches everyone."""

    name: ClassVar[str] = "mail_policies"
    title: ClassVar[str] = "Incoming and outgoing mail policies"

    incoming: tuple[MailPolicy, ...] = field(default=(MailPolicy("DEFAULT", dlp=False),), metadata={"item": "policy"})
    outgoing: tuple[MailPolicy, ...] = field(default=(MailPolicy("DEFAULT"),), metadata={"item": "policy"})

    def validate(self) -> None:
        for direction in ("incoming", "outgoing"):
            policies = getattr(self, direction)
            check_unique((p.name for p in policies), direction, "policy name")
            if not policies or policies[-1].name != "DEFAULT":
                raise ConfigError("the DEFAULT policy must exist and come last", direction)
            if policies[-1].senders or policies[-1].recipients:
                raise ConfigError("the DEFAULT policy matches everyone: it has no patterns", direction)


@dataclass(frozen=True)
class MessageFilter(Record):
    """One message filter: its script in the appliance's language (compiled by the scanning engine)."""

    name: str
    script: str
    active: bool = True

    def validate(self) -> None:
        if not re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_\-]{0,63}", self.name):
            raise ConfigError(f"invalid filter name {self.name!r}", "name")
        if not self.script.strip():
            raise ConfigError("the filter script is empty", "script")


@dataclass(frozen=True)
class MessageFiltersSection(Section):
    name: ClassVar[str] = "message_filters"
    title: ClassVar[str] = "Message filters, in the order they run"

    filters: tuple[MessageFilter, ...] = field(default=(), metadata={"item": "filter"})

    def validate(self) -> None:
        check_unique((f.name for f in self.filters), "filters", "filter name")


# ---------------------------------------------------------------- scanning: bounds, protected content, lists

#: What happens to a message with an attachment the engine could not scan (scanconfig).
UNSCANNABLE_ACTIONS = ("deliver", "drop", "quarantine")


@dataclass(frozen=True)
class ScanningSection(Section):
    """scanconfig: the extractors' bounds and the action for what cannot be scanned within them."""

    name: ClassVar[str] = "scanning"
    title: ClassVar[str] = "Attachment scanning bounds and unscannable actions"

    max_attachment_bytes: int = 25 * 1024 * 1024
    max_expanded_bytes: int = 64 * 1024 * 1024
    max_ratio: int = 100
    max_members: int = 1000
    max_depth: int = 5
    max_seconds: float = 1.0
    #: Office key derivation (agile/standard spinCount) above this is refused, not tried.
    max_spin_count: int = 500_000
    unscannable_action: str = "deliver"
    #: The header added when an unscannable message is delivered (empty: none).
    unscannable_header: str = "X-Unscannable"
    unscannable_quarantine: str = "Unscannable"
    #: URL scanning of attachments (on by default in 14.0), and what a blocked URL in one does.
    url_scanning: bool = True
    url_blocked_action: str = "quarantine"
    url_quarantine: str = "Policy"

    def validate(self) -> None:
        check_range(self.max_attachment_bytes, 1024, 1024**3, "max_attachment_bytes")
        check_range(self.max_expanded_bytes, 1024, 1024**3, "max_expanded_bytes")
        check_range(self.max_ratio, 2, 100_000, "max_ratio")
        check_range(self.max_members, 1, 100_000, "max_members")
        check_range(self.max_depth, 1, 20, "max_depth")
        check_range(self.max_seconds, 0.1, 60, "max_seconds")
        check_range(self.max_spin_count, 1, 10_000_000, "max_spin_count")
        for f in ("unscannable_action", "url_blocked_action"):
            if getattr(self, f) not in UNSCANNABLE_ACTIONS:
                raise ConfigError(f"must be one of {', '.join(UNSCANNABLE_ACTIONS)}", f)
        if self.unscannable_header and not re.fullmatch(r"[!-9;-~]{1,76}", self.unscannable_header):
            raise ConfigError(f"{self.unscannable_header!r} is not a header name", "unscannable_header")
        check_name(self.unscannable_quarantine, "unscannable_quarantine", "quarantine name")
        check_name(self.url_quarantine, "url_quarantine", "quarantine name")


@dataclass(frozen=True)
class ProtectedPassphrase(Record):
    priority: int
    passphrase: Secret

    def validate(self) -> None:
        check_range(self.priority, 0, 999, "priority")


@dataclass(frozen=True)
class ProtectedAttachmentsSection(Section):
    """protectedattachmentconfig: open password-protected attachments with the administrator's passphrases."""

    name: ClassVar[str] = "protected_attachments"
    title: ClassVar[str] = "Scanning of password-protected attachments"

    inbound: bool = False
    outbound: bool = False
    passphrases: tuple[ProtectedPassphrase, ...] = field(default=(), metadata={"item": "passphrase"})
    #: Beyond the appliance: try passphrases the message text gives ("password: X"), after the list.
    harvest_from_body: bool = False
    #: Time for all trials on one message, seconds.
    budget_seconds: float = 1.0

    def validate(self) -> None:
        check_unique((p.priority for p in self.passphrases), "passphrases", "priority")
        check_range(self.budget_seconds, 0.05, 30, "budget_seconds")

    def ordered(self) -> tuple[ProtectedPassphrase, ...]:
        return tuple(sorted(self.passphrases, key=lambda p: p.priority))


_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class HashList(Record):
    name: str
    hashes: tuple[str, ...] = field(default=(), metadata={"item": "sha256"})
    description: str = ""

    def validate(self) -> None:
        check_name(self.name, "name", "hash list name")
        for h in self.hashes:
            if not _SHA256.fullmatch(h):
                raise ConfigError(f"{h[:80]!r} is not a SHA-256 value (64 lower-case hex digits)", "hashes")
        check_unique(self.hashes, "hashes", "hash")


@dataclass(frozen=True)
class HashListsSection(Section):
    """Named lists of SHA-256 values that filters match attachments against."""

    name: ClassVar[str] = "hash_lists"
    title: ClassVar[str] = "File hash lists"

    lists: tuple[HashList, ...] = field(default=(), metadata={"item": "list"})

    def validate(self) -> None:
        check_unique((h.name.lower() for h in self.lists), "lists", "hash list name")

    def get(self, name: str) -> HashList | None:
        return next((h for h in self.lists if h.name.lower() == name.lower()), None)


def check_url_entry(entry: str) -> None:
    """A local URL list entry: a domain (and its subdomains), or a URL prefix with scheme."""
    if not entry or any(c.isspace() for c in entry) or len(entry) > 2000:
        raise ConfigError(f"{entry[:80]!r} is not a domain or URL", "entries")
    if "://" not in entry:
        check_hostname(entry.lstrip("."), "entries")


#: Sender domain reputation verdicts, worst first (the SDR scale of 14.0).
SDR_VERDICTS = ("awful", "poor", "tainted", "weak", "unknown", "neutral", "good")
#: What SDR blocks at MAIL FROM: a verdict at or below the configured one (unknown is never blocked).
SDR_BLOCKABLE = ("awful", "poor", "tainted", "weak")


@dataclass(frozen=True)
class ReputationProvider(Record):
    """A reputation source: the local table, a DNS list (DBL or DNSBL style) or an HTTP JSON API."""

    name: str
    kind: str  # domain (SDR) or ip (SBRS)
    type: str  # local, dns or http
    zone: str = ""
    #: DNS resolver "IP:PORT" for this list; empty: dnsconfig's (or the system's).
    resolver: str = ""
    url: str = ""
    token: Optional[Secret] = None
    timeout_seconds: float = 2.0
    #: DNS answers mapped to verdicts (domain) or scores (ip): "127.0.1.4=awful", "127.0.0.2=-10".
    answers: tuple[str, ...] = field(default=(), metadata={"item": "answer"})

    def validate(self) -> None:
        check_name(self.name, "name", "provider name")
        if self.kind not in ("domain", "ip"):
            raise ConfigError("kind must be domain or ip", "kind")
        if self.type not in ("local", "dns", "http"):
            raise ConfigError("type must be local, dns or http", "type")
        if self.type == "dns":
            check_hostname(self.zone, "zone")
            if self.resolver:
                parse_dns_server(self.resolver)
        if self.type == "http" and not re.match(r"https?://[^\s]+$", self.url):
            raise ConfigError("an http provider needs --url=http(s)://...", "url")
        check_range(self.timeout_seconds, 0.1, 30, "timeout_seconds")
        for a in self.answers:
            address, _, value = a.partition("=")
            try:
                import ipaddress

                ipaddress.ip_address(address)
            except ValueError:
                raise ConfigError(f"{a!r}: expected ADDRESS=VALUE", "answers") from None
            if self.kind == "domain" and value not in SDR_VERDICTS:
                raise ConfigError(f"{a!r}: the verdict must be one of {', '.join(SDR_VERDICTS)}", "answers")
            if self.kind == "ip":
                try:
                    check_range(float(value), -10, 10, "answers")
                except ValueError:
                    raise ConfigError(f"{a!r}: the score must be a number from -10 to 10", "answers") from None


@dataclass(frozen=True)
class ReputationSection(Section):
    """Reputation: providers (the local table first), SDR settings, exceptions, and the local URL table."""

    name: ClassVar[str] = "reputation"
    title: ClassVar[str] = "Reputation providers, SDR and local tables"

    url_blocked: tuple[str, ...] = field(default=(), metadata={"item": "entry"})
    url_allowed: tuple[str, ...] = field(default=(), metadata={"item": "entry"})
    providers: tuple[ReputationProvider, ...] = field(
        default=(ReputationProvider("local-domains", "domain", "local"), ReputationProvider("local-ips", "ip", "local")),
        metadata={"item": "provider"})
    #: The local table: "example.com=awful", "192.0.2.1=-7.5".
    local_domains: tuple[str, ...] = field(default=(), metadata={"item": "entry"})
    local_ips: tuple[str, ...] = field(default=(), metadata={"item": "entry"})
    sdr_enabled: bool = True
    #: Block at MAIL FROM a sender domain whose verdict is this or worse.
    sdr_verdict: str = "awful"
    sdr_timeout_seconds: float = 2.0
    sbrs_timeout_seconds: float = 2.0
    domain_exceptions: tuple[str, ...] = field(default=(), metadata={"item": "domain"})
    cache_seconds: int = 300

    def validate(self) -> None:
        for f in ("url_blocked", "url_allowed"):
            for e in getattr(self, f):
                try:
                    check_url_entry(e)
                except ConfigError as err:
                    raise err.at(f) from None
            check_unique((e.lower() for e in getattr(self, f)), f, "entry")
        check_unique((p.name for p in self.providers), "providers", "provider name")
        if self.sdr_verdict not in SDR_BLOCKABLE:
            raise ConfigError(f"must be one of {', '.join(SDR_BLOCKABLE)}", "sdr_verdict")
        check_range(self.sdr_timeout_seconds, 0.1, 30, "sdr_timeout_seconds")
        check_range(self.sbrs_timeout_seconds, 0.1, 30, "sbrs_timeout_seconds")
        check_range(self.cache_seconds, 0, 86400, "cache_seconds")
        for d in self.domain_exceptions:
            check_domain_pattern(d, "domain_exceptions")
        for e in self.local_domains:
            key, _, value = e.partition("=")
            check_domain_pattern(key, "local_domains")
            if value not in SDR_VERDICTS:
                raise ConfigError(f"{e!r}: the verdict must be one of {', '.join(SDR_VERDICTS)}", "local_domains")
        for e in self.local_ips:
            key, _, value = e.partition("=")
            check_sender_pattern(key)
            try:
                check_range(float(value), -10, 10, "local_ips")
            except ValueError:
                raise ConfigError(f"{e!r}: the score must be a number from -10 to 10", "local_ips") from None


@dataclass(frozen=True)
class ContentFilter(Record):
    """A content filter: a script in the message filter language, used by the mail policies that list it."""

    name: str
    direction: str
    script: str
    description: str = ""

    def validate(self) -> None:
        if not re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_\-]{0,63}", self.name):
            raise ConfigError(f"invalid filter name {self.name!r}", "name")
        if self.direction not in ("incoming", "outgoing"):
            raise ConfigError("must be incoming or outgoing", "direction")
        if not self.script.strip():
            raise ConfigError("the filter script is empty", "script")


@dataclass(frozen=True)
class ContentFiltersSection(Section):
    name: ClassVar[str] = "content_filters"
    title: ClassVar[str] = "Incoming and outgoing content filters"

    filters: tuple[ContentFilter, ...] = field(default=(), metadata={"item": "filter"})

    def validate(self) -> None:
        check_unique(((f.direction, f.name) for f in self.filters), "filters", "content filter")

    def get(self, direction: str, name: str) -> ContentFilter | None:
        return next((f for f in self.filters if f.direction == direction and f.name == name), None)


@dataclass(frozen=True)
class Quarantine(Record):
    name: str
    retention_days: int = 30
    #: What happens when the retention period ends.
    expiry_action: str = "delete"

    def validate(self) -> None:
        check_name(self.name, "name", "quarantine name")
        check_range(self.retention_days, 1, 3650, "retention_days")
        if self.expiry_action not in ("delete", "release"):
            raise ConfigError("must be delete or release", "expiry_action")


@dataclass(frozen=True)
class QuarantinesSection(Section):
    name: ClassVar[str] = "quarantines"
    title: ClassVar[str] = "Policy quarantines"

    quarantines: tuple[Quarantine, ...] = field(
        default=(Quarantine("Policy"), Quarantine("Unscannable", 14), Quarantine("Virus", 30), Quarantine("Spam", 30),
                 Quarantine("File_Analysis", 1, "release")), metadata={"item": "quarantine"})

    def validate(self) -> None:
        check_unique((q.name.lower() for q in self.quarantines), "quarantines", "quarantine name")

    def get(self, name: str) -> Quarantine | None:
        return next((q for q in self.quarantines if q.name.lower() == name.lower()), None)


# ---------------------------------------------------------------- certificates, TLS, DNS


def check_pem(text: str, kind: str, field_name: str) -> None:
    """A light shape check (the full parse is certconfig's, where the error can be explained)."""
    if f"-----BEGIN {kind}" not in text or f"-----END {kind}" not in text:
        raise ConfigError(f"not a PEM {kind.lower()}", field_name)


@dataclass(frozen=True)
class Certificate(Record):
    """A certificate with its private key (sealed at rest): the leaf first, then intermediates, in PEM."""

    name: str
    certificate: str
    private_key: Secret
    #: server (TLS) or smime (a self-signed S/MIME certificate)
    kind: str = "server"

    def validate(self) -> None:
        check_name(self.name, "name", "certificate name")
        check_pem(self.certificate, "CERTIFICATE", "certificate")
        if self.kind not in ("server", "smime"):
            raise ConfigError("kind must be server or smime", "kind")


@dataclass(frozen=True)
class CustomCa(Record):
    name: str
    certificate: str

    def validate(self) -> None:
        check_name(self.name, "name", "certificate authority name")
        check_pem(self.certificate, "CERTIFICATE", "certificate")


@dataclass(frozen=True)
class CertificatesSection(Section):
    """certconfig: certificates with their keys, and the custom and system certificate authority lists."""

    name: ClassVar[str] = "certificates"
    title: ClassVar[str] = "Certificates and certificate authorities"

    certificates: tuple[Certificate, ...] = field(default=(), metadata={"item": "certificate"})
    custom_cas: tuple[CustomCa, ...] = field(default=(), metadata={"item": "authority"})
    custom_ca_enabled: bool = True
    system_ca_enabled: bool = True

    def validate(self) -> None:
        check_unique((c.name.lower() for c in self.certificates), "certificates", "certificate name")
        check_unique((c.name.lower() for c in self.custom_cas), "custom_cas", "certificate authority name")

    def get(self, name: str) -> Certificate | None:
        return next((c for c in self.certificates if c.name.lower() == name.lower()), None)


#: TLS versions sslconfig offers, in the ssl module's names.
TLS_VERSIONS = ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def check_tls_methods(value: str, field_name: str) -> None:
    methods = value.split()
    if not methods:
        raise ConfigError("choose at least one TLS version", field_name)
    for m in methods:
        if m not in TLS_VERSIONS:
            raise ConfigError(f"{m!r} is not one of {', '.join(TLS_VERSIONS)}", field_name)
    positions = sorted(TLS_VERSIONS.index(m) for m in methods)
    if positions != list(range(positions[0], positions[-1] + 1)):
        raise ConfigError("the TLS versions must be a contiguous range (for example TLSv1.2 TLSv1.3)", field_name)


@dataclass(frozen=True)
class SslSection(Section):
    """sslconfig: TLS versions and ciphers per side, and validation of peer certificates."""

    name: ClassVar[str] = "ssl"
    title: ClassVar[str] = "TLS methods, ciphers and peer certificate validation"

    inbound_methods: str = "TLSv1.2 TLSv1.3"
    inbound_ciphers: str = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:!aNULL:!eNULL:!MD5"
    outbound_methods: str = "TLSv1.2 TLSv1.3"
    outbound_ciphers: str = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:!aNULL:!eNULL:!MD5"
    #: The peer certificate must name the host connected to (SAN dNSName; CN only without SAN).
    peer_cert_fqdn: bool = False
    #: The peer certificate chain must verify to the system or custom CA list, in its validity, for its purpose.
    peer_cert_x509: bool = False

    def validate(self) -> None:
        for f in ("inbound_methods", "outbound_methods"):
            check_tls_methods(getattr(self, f), f)
        for f in ("inbound_ciphers", "outbound_ciphers"):
            value = getattr(self, f)
            if not value or any(c.isspace() for c in value) or len(value) > 1000:
                raise ConfigError("an OpenSSL cipher list without spaces", f)

    def commit_check(self) -> None:
        for f in ("inbound_ciphers", "outbound_ciphers"):
            check_cipher_list(getattr(self, f), getattr(self, f.replace("ciphers", "methods")), f)


def check_cipher_list(ciphers: str, methods: str, field_name: str) -> None:
    """Build the context the gateway would build: a list OpenSSL refuses, or one that cannot serve a
    listed TLS version, is refused at commit rather than found when a listener or a delivery needs it."""
    import ssl

    old = [m for m in methods.split() if m in ("TLSv1.0", "TLSv1.1")]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        # OpenSSL 3 serves TLS 1.0/1.1 only at security level 0 (as the listeners set it).
        ctx.set_ciphers(ciphers + (":@SECLEVEL=0" if old else ""))
    except ssl.SSLError as e:
        reason = getattr(e, "reason", None) or (e.args[0] if e.args else str(e))
        raise ConfigError(f"OpenSSL refuses the cipher list {ciphers!r}: {reason}", field_name) from None
    tls12 = [c for c in ctx.get_ciphers() if c["protocol"] not in ("TLSv1.3",)]
    if not tls12 and any(m != "TLSv1.3" for m in methods.split()):
        raise ConfigError(f"no cipher of {ciphers!r} serves {', '.join(m for m in methods.split() if m != 'TLSv1.3')}"
                          " (TLS 1.3 suites are configured apart)", field_name)
    if old and not any(c["protocol"] in ("TLSv1.0", "SSLv3") for c in tls12):
        raise ConfigError(f"no cipher of {ciphers!r} serves {', '.join(old)}: TLS 1.0 and 1.1 have no AEAD "
                          "ciphers (add CBC ciphers such as ECDHE+AES, or remove the old versions)", field_name)


@dataclass(frozen=True)
class DnsSection(Section):
    """dnsconfig: the resolvers the gateway asks (MX and address lookups); empty: the system's."""

    name: ClassVar[str] = "dns"
    title: ClassVar[str] = "DNS resolvers"

    #: "IP" or "IP:PORT" (IPv6: "[IP]:PORT").
    servers: tuple[str, ...] = field(default=(), metadata={"item": "server"})
    timeout_seconds: float = 5.0

    def validate(self) -> None:
        for s in self.servers:
            parse_dns_server(s)
        check_range(self.timeout_seconds, 0.1, 60, "timeout_seconds")


def parse_dns_server(text: str) -> tuple[str, int]:
    import ipaddress

    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else 53
    elif text.count(":") == 1:
        host, _, p = text.partition(":")
        if not p.isdigit():
            raise ConfigError(f"{text!r}: the port is not a number", "servers")
        port = int(p)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"{text!r} is not an IP address (IP or IP:PORT)", "servers") from None
    check_port(port, "servers")
    return host, port


# ---------------------------------------------------------------- DLP

#: The national ID classifiers of 14.0 (scanning.dlp.classifiers keys).
DLP_NATIONAL_IDS = ("id-ktp", "my-mykad", "th-id", "ph-umid", "sg-nric")
DLP_TEMPLATES = {"privacy-protection": DLP_NATIONAL_IDS}
DLP_SEVERITIES = ("low", "medium", "high", "critical")
DLP_ACTIONS = ("deliver", "add-header", "encrypt", "notify", "quarantine", "drop")


@dataclass(frozen=True)
class DlpClassifier(Record):
    """A custom classifier: entity rules (national IDs, regular expressions) and optional keywords."""

    name: str
    entities: tuple[str, ...] = field(default=(), metadata={"item": "entity"})
    regexes: tuple[str, ...] = field(default=(), metadata={"item": "regex"})
    #: When given, a match counts only with one of these words within 300 characters.
    keywords: tuple[str, ...] = field(default=(), metadata={"item": "keyword"})

    def validate(self) -> None:
        check_name(self.name, "name", "classifier name")
        if self.name in DLP_NATIONAL_IDS:
            raise ConfigError(f"{self.name!r} is a predefined classifier's key", "name")
        if not self.entities and not self.regexes:
            raise ConfigError("a classifier needs at least one entity rule (an ID type or a regular expression)",
                              "entities")
        for e in self.entities:
            if e not in DLP_NATIONAL_IDS:
                raise ConfigError(f"{e!r} is not one of {', '.join(DLP_NATIONAL_IDS)}", "entities")
        for r in self.regexes:
            try:
                re.compile(r)
            except re.error as e:
                raise ConfigError(f"invalid regular expression {r!r}: {e}", "regexes") from None


@dataclass(frozen=True)
class DlpPolicy(Record):
    """A DLP policy: classifiers, how matches make a severity, and the action per severity."""

    name: str
    classifiers: tuple[str, ...] = field(default=(), metadata={"item": "classifier"})
    template: str = ""
    #: Matches below this confidence do not count.
    min_confidence: int = 60
    #: Fewer counted matches than this: no violation.
    min_matches: int = 1
    #: Risk factor (the highest confidence, plus 5 for each further match) at which each severity starts.
    medium_from: int = 50
    high_from: int = 75
    critical_from: int = 95
    action_low: str = "add-header"
    action_medium: str = "add-header"
    action_high: str = "quarantine"
    action_critical: str = "quarantine"

    def validate(self) -> None:
        check_name(self.name, "name", "DLP policy name")
        if not self.classifiers:
            raise ConfigError("a DLP policy needs classifiers (or a template)", "classifiers")
        if self.template and self.template not in DLP_TEMPLATES:
            raise ConfigError(f"unknown template {self.template!r} (templates: {', '.join(DLP_TEMPLATES)})",
                              "template")
        check_range(self.min_confidence, 0, 100, "min_confidence")
        check_range(self.min_matches, 1, 10_000, "min_matches")
        if not 0 < self.medium_from <= self.high_from <= self.critical_from <= 100:
            raise ConfigError("the thresholds must rise: 0 < medium <= high <= critical <= 100", "medium_from")
        for sev in DLP_SEVERITIES:
            if getattr(self, f"action_{sev}") not in DLP_ACTIONS:
                raise ConfigError(f"must be one of {', '.join(DLP_ACTIONS)}", f"action_{sev}")

    def severity(self, risk: int) -> str:
        if risk >= self.critical_from:
            return "critical"
        if risk >= self.high_from:
            return "high"
        return "medium" if risk >= self.medium_from else "low"


@dataclass(frozen=True)
class DlpSection(Section):
    """dlpconfig: the DLP Policy Manager (custom classifiers and policies; mail policies choose policies)."""

    name: ClassVar[str] = "dlp"
    title: ClassVar[str] = "DLP classifiers and policies"

    classifiers: tuple[DlpClassifier, ...] = field(default=(), metadata={"item": "classifier"})
    policies: tuple[DlpPolicy, ...] = field(default=(), metadata={"item": "policy"})

    def validate(self) -> None:
        check_unique((c.name.lower() for c in self.classifiers), "classifiers", "classifier name")
        check_unique((p.name.lower() for p in self.policies), "policies", "DLP policy name")
        custom = {c.name for c in self.classifiers}
        for p in self.policies:
            for c in p.classifiers:
                if c not in DLP_NATIONAL_IDS and c not in custom:
                    raise ConfigError(f"the DLP policy {p.name} uses {c!r}, which is neither a predefined "
                                      "classifier nor a custom one", "policies")

    def get(self, name: str) -> DlpPolicy | None:
        return next((p for p in self.policies if p.name.lower() == name.lower()), None)

    def classifier(self, name: str) -> DlpClassifier | None:
        return next((c for c in self.classifiers if c.name == name), None)


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


# ---------------------------------------------------------------- SNMP and alerts

SNMP_LEVELS = ("noAuthNoPriv", "authNoPriv", "authPriv")
SNMP_AUTH_PROTOCOLS = ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
SNMP_PRIV_PROTOCOLS = ("DES", "AES", "AES-192", "AES-256")
#: snmpconfig's numbered trap table, in the appliance's order. Hardware traps stay in the table (an
#: administrator's configuration keeps its meaning) but no condition of a software gateway raises them.
SNMP_TRAPS = ("CPUUtilizationExceeded", "RAIDStatusChange", "connectivityFailure", "fanFailure", "highTemperature",
              "keyExpiration", "linkDown", "linkUp", "memoryUtilizationExceeded", "powerSupplyStatusChange",
              "updateFailure", "upstreamProxyFailure")
HARDWARE_TRAPS = ("RAIDStatusChange", "fanFailure", "highTemperature", "powerSupplyStatusChange")
SNMP_PASSPHRASE_MIN = 8


def _check_networks(values: tuple[str, ...], version: int, field_name: str) -> None:
    import ipaddress

    for v in values:
        try:
            net = ipaddress.ip_network(v, strict=False)
        except ValueError:
            raise ConfigError(f"{v!r} is not an IPv{version} network (address or address/prefix)", field_name) from None
        if net.version != version:
            raise ConfigError(f"{v!r} is not an IPv{version} network", field_name)


def parse_trap_target(text: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port``: where traps go (UDP 162 unless a port is given)."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else 162
        return host, port
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if not port.isdigit():
            raise ConfigError(f"{text!r}: the port must be a number", "trap_targets")
        return host, int(port)
    return text, 162


@dataclass(frozen=True)
class SnmpSection(Section):
    """snmpconfig: the agent (SNMPv3 always, v1/v2c optional) and the traps."""

    name: ClassVar[str] = "snmp"
    title: ClassVar[str] = "SNMP agent and traps"

    enabled: bool = False
    listen: str = "127.0.0.1"
    port: int = 161
    v3_user: str = "v3get"
    v3_level: str = "authNoPriv"
    auth_protocol: str = "SHA"
    auth_passphrase: Optional[Secret] = None
    priv_protocol: str = "AES"
    priv_passphrase: Optional[Secret] = None
    #: Hex, RFC 3411 format; empty: derived from the enterprise number and the serial number.
    engine_id: str = ""
    v2c_enabled: bool = False
    #: Sealed like every credential; unset means the appliance's default, DEFAULT_COMMUNITY.
    community: Optional[Secret] = None
    v2c_ipv4: bool = True
    v2c_networks_v4: tuple[str, ...] = field(default=("127.0.0.1/32",), metadata={"item": "network"})
    v2c_ipv6: bool = False
    v2c_networks_v6: tuple[str, ...] = field(default=("::1/128",), metadata={"item": "network"})
    #: Asked only when v1/v2c is serviced too; otherwise traps are v3.
    trap_version: str = "v3"
    trap_targets: tuple[str, ...] = field(default=(), metadata={"item": "target"})
    trap_community: Optional[Secret] = None
    enabled_traps: tuple[str, ...] = field(
        default=tuple(t for t in SNMP_TRAPS if t != "connectivityFailure"), metadata={"item": "trap"})
    cpu_threshold: int = 95
    memory_threshold: int = 95
    connectivity_url: str = ""
    location: str = ""
    contact: str = ""

    def validate(self) -> None:
        import ipaddress

        try:
            ipaddress.ip_address(self.listen)
        except ValueError:
            raise ConfigError(f"{self.listen!r} is not an IP address", "listen") from None
        check_port(self.port)
        check_name(self.v3_user, "v3_user", "SNMPv3 user name")
        if self.v3_level not in SNMP_LEVELS:
            raise ConfigError(f"the security level is one of {', '.join(SNMP_LEVELS)}", "v3_level")
        if self.auth_protocol not in SNMP_AUTH_PROTOCOLS:
            raise ConfigError(f"the authentication protocol is one of {', '.join(SNMP_AUTH_PROTOCOLS)}",
                              "auth_protocol")
        if self.priv_protocol not in SNMP_PRIV_PROTOCOLS:
            raise ConfigError(f"the privacy protocol is one of {', '.join(SNMP_PRIV_PROTOCOLS)}", "priv_protocol")
        if self.enabled and self.v3_level != "noAuthNoPriv" and self.auth_passphrase is None:
            raise ConfigError(f"{self.v3_level} needs the SNMPv3 authentication passphrase", "auth_passphrase")
        if self.enabled and self.v3_level == "authPriv" and self.priv_passphrase is None:
            raise ConfigError("authPriv needs the SNMPv3 privacy passphrase", "priv_passphrase")
        if self.engine_id:
            check_engine_id(self.engine_id)
        _check_networks(self.v2c_networks_v4, 4, "v2c_networks_v4")
        _check_networks(self.v2c_networks_v6, 6, "v2c_networks_v6")
        if self.trap_version not in ("v2c", "v3"):
            raise ConfigError("the trap version is v2c or v3", "trap_version")
        for t in self.trap_targets:
            host, port = parse_trap_target(t)
            try:
                check_hostname_or_ip(host, "trap_targets")
            except ConfigError:
                raise ConfigError(f"The trap target must be host name or IP address: {t!r}", "trap_targets") from None
            check_port(port, "trap_targets")
        for t in self.enabled_traps:
            if t not in SNMP_TRAPS:
                raise ConfigError(f"unknown trap {t!r}; traps: {', '.join(SNMP_TRAPS)}", "enabled_traps")
        check_range(self.cpu_threshold, 1, 100, "cpu_threshold")
        check_range(self.memory_threshold, 1, 100, "memory_threshold")
        if self.connectivity_url and not re.match(r"https?://[^\s]+$", self.connectivity_url):
            raise ConfigError("the connectivity URL must be http(s)://...", "connectivity_url")
        if "connectivityFailure" in self.enabled_traps and not self.connectivity_url:
            raise ConfigError("the connectivityFailure trap needs the URL to check", "connectivity_url")
        for f in ("location", "contact"):
            if len(getattr(self, f)) > 255 or not getattr(self, f).isprintable():
                raise ConfigError("up to 255 printable characters", f)

    @property
    def effective_trap_version(self) -> str:
        return self.trap_version if self.v2c_enabled else "v3"

    def community_text(self, reveal, which: str = "community") -> str:
        """The community string in clear, for the agent and the trap sender only."""
        value = getattr(self, which)
        return reveal(value) if value is not None else DEFAULT_COMMUNITY


#: The appliance's default SNMP community, used until one is set.
DEFAULT_COMMUNITY = "ironport"


def community_problem(text: str) -> str | None:
    """Checked before sealing: once sealed, the schema cannot see the text."""
    if not text or len(text) > 64 or not text.isprintable():
        return "The community string is 1 to 64 printable characters."
    return None


def check_engine_id(text: str) -> None:
    """RFC 3411 snmpEngineID: 5 to 32 octets, written in hex (an optional 0x)."""
    hexpart = text[2:] if text.lower().startswith("0x") else text
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2}){5,32}", hexpart):
        raise ConfigError("the SNMP engine ID is 5 to 32 octets in hex (for example 0x80003c8904...)", "engine_id")


ALERT_CLASSES = ("System", "Hardware", "Updater", "Outbreak Filters", "Anti-Virus", "Anti-Spam",
                 "Directory Harvest Attack Prevention", "Release and Support Notifications")
ALERT_SEVERITIES = ("Critical", "Warning", "Information")


@dataclass(frozen=True)
class AlertRecipient(Record):
    address: str
    classes: tuple[str, ...] = field(default=ALERT_CLASSES, metadata={"item": "class"})
    severities: tuple[str, ...] = field(default=ALERT_SEVERITIES, metadata={"item": "severity"})

    def validate(self) -> None:
        from .addresses import address_problem

        problem = address_problem(self.address)
        if problem:
            raise ConfigError(problem, "address")
        if not self.classes:
            raise ConfigError("choose at least one alert class", "classes")
        for c in self.classes:
            if c not in ALERT_CLASSES:
                raise ConfigError(f"unknown alert class {c!r}", "classes")
        for s in self.severities:
            if s not in ALERT_SEVERITIES:
                raise ConfigError(f"unknown severity {s!r}; severities: {', '.join(ALERT_SEVERITIES)}", "severities")

    def wants(self, alert_class: str, severity: str) -> bool:
        # Release and Support Notifications have no severity on the appliance.
        return alert_class in self.classes and (
            alert_class == "Release and Support Notifications" or severity in self.severities)


@dataclass(frozen=True)
class AlertsSection(Section):
    """alertconfig: who gets which alert classes and severities, and how alerts are sent."""

    name: ClassVar[str] = "alerts"
    title: ClassVar[str] = "Alerts"

    recipients: tuple[AlertRecipient, ...] = field(default=(), metadata={"item": "recipient"})
    #: Empty: alert@<hostname>, the appliance's default.
    from_address: str = ""
    initial_interval_seconds: int = 300
    max_interval_seconds: int = 3600
    max_saved: int = 50
    tls: bool = True
    #: Where supportrequest sends (the appliance's is Cisco TAC; an open gateway names its own).
    support_address: str = ""

    def validate(self) -> None:
        from .addresses import address_problem

        check_unique([r.address.lower() for r in self.recipients], "recipients", "recipient")
        for f in ("from_address", "support_address"):
            problem = getattr(self, f) and address_problem(getattr(self, f))
            if problem:
                raise ConfigError(problem, f)
        check_range(self.initial_interval_seconds, 0, 86400, "initial_interval_seconds")
        check_range(self.max_interval_seconds, 0, 7 * 86400, "max_interval_seconds")
        if self.max_interval_seconds < self.initial_interval_seconds:
            raise ConfigError("debounce interval cannot be less than the initial interval", "max_interval_seconds")
        check_range(self.max_saved, 1, 1000, "max_saved")

    def sender(self, hostname: str) -> str:
        return self.from_address or f"alert@{hostname}"


#: Every section, in the order the XML and diffs show them.
SECTIONS: tuple[type[Section], ...] = (
    SystemSection,
    UsersSection,
    PassphrasePolicySection,
    SshSection,
    ListenersSection,
    HatSection,
    RoutesSection,
    DeliverySection,
    MailPoliciesSection,
    MessageFiltersSection,
    ContentFiltersSection,
    ScanningSection,
    ProtectedAttachmentsSection,
    HashListsSection,
    ReputationSection,
    QuarantinesSection,
    CertificatesSection,
    SslSection,
    DnsSection,
    DlpSection,
    AwarenessSection,
    SnmpSection,
    AlertsSection,
    *ENGINE_SECTIONS,
    *CLOUD_SECTIONS,
    RemediationSection,
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

    def __reduce__(self):
        # Worker processes get the snapshot by pickle; a mappingproxy does not pickle itself.
        return (Config, (dict(self._sections),))

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

    @property
    def listeners(self) -> ListenersSection:
        return self._sections["listeners"]  # type: ignore[return-value]

    @property
    def hat(self) -> HatSection:
        return self._sections["hat"]  # type: ignore[return-value]

    @property
    def routes(self) -> RoutesSection:
        return self._sections["routes"]  # type: ignore[return-value]

    @property
    def delivery(self) -> DeliverySection:
        return self._sections["delivery"]  # type: ignore[return-value]

    @property
    def mail_policies(self) -> MailPoliciesSection:
        return self._sections["mail_policies"]  # type: ignore[return-value]

    @property
    def message_filters(self) -> MessageFiltersSection:
        return self._sections["message_filters"]  # type: ignore[return-value]

    @property
    def content_filters(self) -> ContentFiltersSection:
        return self._sections["content_filters"]  # type: ignore[return-value]

    @property
    def scanning(self) -> ScanningSection:
        return self._sections["scanning"]  # type: ignore[return-value]

    @property
    def protected_attachments(self) -> ProtectedAttachmentsSection:
        return self._sections["protected_attachments"]  # type: ignore[return-value]

    @property
    def hash_lists(self) -> HashListsSection:
        return self._sections["hash_lists"]  # type: ignore[return-value]

    @property
    def reputation(self) -> ReputationSection:
        return self._sections["reputation"]  # type: ignore[return-value]

    @property
    def quarantines(self) -> QuarantinesSection:
        return self._sections["quarantines"]  # type: ignore[return-value]

    @property
    def certificates(self) -> CertificatesSection:
        return self._sections["certificates"]  # type: ignore[return-value]

    @property
    def ssl(self) -> SslSection:
        return self._sections["ssl"]  # type: ignore[return-value]

    @property
    def dns(self) -> DnsSection:
        return self._sections["dns"]  # type: ignore[return-value]

    @property
    def awareness(self) -> AwarenessSection:
        return self._sections["awareness"]  # type: ignore[return-value]

    @property
    def dlp(self) -> DlpSection:
        return self._sections["dlp"]  # type: ignore[return-value]

    @property
    def snmp(self) -> SnmpSection:
        return self._sections["snmp"]  # type: ignore[return-value]

    @property
    def alerts(self) -> AlertsSection:
        return self._sections["alerts"]  # type: ignore[return-value]

    @property
    def antivirus(self) -> AntivirusSection:
        return self._sections["antivirus"]  # type: ignore[return-value]

    @property
    def antispam(self) -> AntispamSection:
        return self._sections["antispam"]  # type: ignore[return-value]

    @property
    def file_reputation(self) -> FileReputationSection:
        return self._sections["file_reputation"]  # type: ignore[return-value]

    @property
    def licensing(self) -> LicensingSection:
        return self._sections["licensing"]  # type: ignore[return-value]

    @property
    def cloud(self) -> CloudSection:
        return self._sections["cloud"]  # type: ignore[return-value]

    @property
    def remediation(self) -> RemediationSection:
        return self._sections["remediation"]  # type: ignore[return-value]


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
