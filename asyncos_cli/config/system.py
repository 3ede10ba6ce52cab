"""System-wide sections: host name and model, outbound clients, log subscriptions, DNS."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Iterator, Optional

from .fields import ConfigError, Record, Section, setting
from .proxy import HttpProxy
from .validators import (
    check_hostname_or_ip,
    check_port,
    check_unique,
    hostname_problem,
    name_rule,
)

#: Appliance models (the lifecycle table in asyncos_cli.lifecycle has their dates).
MODELS = ("OEG-50", "OEG-100", "OEG-300", "OEG-600")

#: The appliance's factory host name.
DEFAULT_HOSTNAME = "ironport.example.com"


def timezone_problem(name: str) -> str | None:
    """What is wrong with a time zone name (None: the machine's zone database knows it)."""
    import zoneinfo

    if not name or name.startswith(("/", ".")) or ".." in name:
        return f"{name!r} is not a time zone name"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {name!r} (settz lists them)"
    return None


@dataclass(frozen=True)
class SystemSection(Section):
    name: ClassVar[str] = "system"
    title: ClassVar[str] = "System settings"

    hostname: str = setting(DEFAULT_HOSTNAME, help="The fully qualified host name.", check=hostname_problem)
    model: str = setting("OEG-100", help="The appliance model this installation stands for (sizing, lifecycle "
                         "dates).", choices=MODELS)
    #: settz: the zone of the times in logs, reports and the shell (an IANA name).
    timezone: str = setting("UTC", help="The time zone of logs, reports and the shell.", check=timezone_problem)


@dataclass(frozen=True)
class OutboundSection(Section):
    """Settings every outbound client shares (HTTP, DNS, SMTP for alerts)."""

    name: ClassVar[str] = "outbound"
    title: ClassVar[str] = "Outbound clients (proxy, timeouts, TLS validation)"

    proxy: Optional[HttpProxy] = None
    timeout_seconds: float = setting(20.0, help="Seconds an outbound request may take.", low=1, high=300,
                                     unit="seconds", option="timeout")
    retries: int = setting(1, help="Retries after a failed request.", low=0, high=10)
    verify_peer_fqdn: bool = setting(True, help="The server's certificate must name the host.",
                                     option="verify-fqdn")
    verify_peer_x509: bool = setting(True, help="The server's certificate must verify to a trusted CA.",
                                     option="verify-x509")


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
    "gui": "HTTP Logs",
    "bounces": "Bounce Logs",
    "antivirus": "Anti-Virus Logs",
    "antispam": "Anti-Spam Logs",
    "status": "Status Logs",
    "error": "Error Logs",
}
LOG_LEVELS = ("Critical", "Warning", "Information", "Debug", "Trace")
#: Syslog facilities by their RFC 5424 numbers (the index).
SYSLOG_FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
                     "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3",
                     "local4", "local5", "local6", "local7")


@dataclass(frozen=True)
class LogSubscription(Record):
    name: str = setting(help="The subscription's name.", check=name_rule("log name"))
    log_type: str = setting(help="What the subscription records.", choices=tuple(LOG_TYPES), option="type")
    prefix: str = setting(help="The file name stem.", check=name_rule("file name"))
    level: str = setting("Information", help="The least severe level written.", choices=LOG_LEVELS)
    max_file_bytes: int = setting(10 * 1024 * 1024, help="A file's size before it rolls over.", low=100 * 1024,
                                  high=10 * 1024**3, unit="bytes", option="max-size")
    rollover_seconds: int = setting(86400, help="A file's age before it rolls over (0: by size only).", low=0,
                                    high=366 * 86400, unit="seconds", option="rollover")
    keep_files: int = setting(10, help="Rolled-over files kept.", low=1, high=1000, option="keep")
    retrieval: str = setting("file", help="file (manual download: local files) or syslog (pushed).",
                             choices=("file", "syslog"))
    syslog_host: str = setting("", help="The syslog server.")
    syslog_port: int = setting(514, help="The syslog server's port.", low=1, high=65535)
    syslog_protocol: str = setting("udp", help="How syslog lines travel.", choices=("udp", "tcp"))
    syslog_facility: str = setting("user", help="The syslog facility.", choices=SYSLOG_FACILITIES)
    cef_fields: tuple[str, ...] = setting((), help="Consolidated Event Logs: the CEF fields written (empty: all).",
                                          item="field", check=lambda f: None if re.fullmatch(
                                              r"[A-Za-z][A-Za-z0-9]{1,40}", f) else f"{f!r} is not a CEF field name")

    def validate(self) -> None:
        if self.retrieval == "syslog":
            check_hostname_or_ip(self.syslog_host, "syslog_host")


DEFAULT_LOGS = (
    LogSubscription("cli_logs", "cli_audit", "cli"),
    LogSubscription("mail_logs", "mail", "mail"),
    LogSubscription("system_logs", "system", "system"),
    LogSubscription("authentication", "authentication", "authentication"),
    LogSubscription("amp", "amp", "amp"),
    LogSubscription("cloud_connector", "cloud_connector", "cloud_connector"),
    LogSubscription("gui_logs", "gui", "gui"),
    LogSubscription("bounces", "bounces", "bounces"),
    LogSubscription("antivirus", "antivirus", "antivirus"),
    LogSubscription("antispam", "antispam", "antispam"),
    LogSubscription("status", "status", "status"),
    LogSubscription("error_logs", "error", "errors"),
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
class DnsSection(Section):
    """dnsconfig: the resolvers the gateway asks (MX and address lookups); empty: the system's."""

    name: ClassVar[str] = "dns"
    title: ClassVar[str] = "DNS resolvers"

    #: "IP" or "IP:PORT" (IPv6: "[IP]:PORT").
    servers: tuple[str, ...] = setting((), help="Resolvers: IP or IP:PORT (IPv6: [IP]:PORT).", item="server")
    timeout_seconds: float = setting(5.0, help="Seconds a DNS query may take.", low=0.1, high=60, unit="seconds",
                                     option="timeout")

    def validate(self) -> None:
        for s in self.servers:
            parse_dns_server(s)


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


def ntp_server_problem(text: str) -> str | None:
    """What is wrong with an NTP server entry: HOST or HOST:PORT (a host name or an IPv4 address)."""
    host, _, port = text.partition(":") if text.count(":") == 1 else (text, "", "")
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        return f"{text!r}: the port is a number from 1 to 65535"
    import ipaddress

    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        problem = hostname_problem(host)
        return f"{text!r}: {problem}" if problem else None


@dataclass(frozen=True)
class NtpSection(Section):
    """ntpconfig: the time servers the gateway compares its clock with (the drift shows in status).

    Setting the machine's clock is the operating system's job (chrony, systemd-timesyncd); no server by
    default, so a gateway asks nobody until an administrator names one."""

    name: ClassVar[str] = "ntp"
    title: ClassVar[str] = "Time servers (NTP) the clock is compared with"

    servers: tuple[str, ...] = setting((), help="Time servers: HOST or HOST:PORT.", item="server",
                                       check=ntp_server_problem)
