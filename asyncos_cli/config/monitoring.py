"""Monitoring: the SNMP agent and traps (snmpconfig) and alert recipients (alertconfig)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Optional

from .fields import ConfigError, Record, Secret, Section, setting
from .validators import (
    check_hostname_or_ip,
    check_port,
    check_unique,
    ip_problem,
    name_rule,
    printable_problem,
    url_problem,
)

SNMP_LEVELS = ("noAuthNoPriv", "authNoPriv", "authPriv")
SNMP_AUTH_PROTOCOLS = ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
SNMP_PRIV_PROTOCOLS = ("DES", "AES", "AES-192", "AES-256")
SNMP_KEY_EXTENSIONS = ("reeder", "blumenthal")
#: snmpconfig's numbered trap table, in the appliance's order. Hardware traps stay in the table (an
#: administrator's configuration keeps its meaning) but no condition of a software gateway raises them.
SNMP_TRAPS = ("CPUUtilizationExceeded", "RAIDStatusChange", "connectivityFailure", "fanFailure", "highTemperature",
              "keyExpiration", "linkDown", "linkUp", "memoryUtilizationExceeded", "powerSupplyStatusChange",
              "updateFailure", "upstreamProxyFailure")
HARDWARE_TRAPS = ("RAIDStatusChange", "fanFailure", "highTemperature", "powerSupplyStatusChange")
SNMP_PASSPHRASE_MIN = 8


def check_networks(values: tuple[str, ...], version: int, field_name: str) -> None:
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

    enabled: bool = setting(False, help="Whether the SNMP agent runs.")
    listen: str = setting("127.0.0.1", help="The IP address the agent binds to.", check=ip_problem)
    port: int = setting(161, help="The UDP port.", low=1, high=65535)
    v3_user: str = setting("v3get", help="The SNMPv3 user name.", check=name_rule("SNMPv3 user name"))
    v3_level: str = setting("authNoPriv", help="The SNMPv3 security level.", choices=SNMP_LEVELS)
    auth_protocol: str = setting("SHA", help="The SNMPv3 authentication protocol.", choices=SNMP_AUTH_PROTOCOLS)
    auth_passphrase: Optional[Secret] = setting(None, help="The SNMPv3 authentication passphrase.", secret=True)
    priv_protocol: str = setting("AES", help="The SNMPv3 privacy protocol.", choices=SNMP_PRIV_PROTOCOLS)
    priv_passphrase: Optional[Secret] = setting(None, help="The SNMPv3 privacy passphrase.", secret=True)
    #: How AES-192/256 keys are lengthened when the authentication hash is shorter (MD5, SHA-1): "reeder", as
    #: Cisco devices do (net-snmp -x AES-256-C), or "blumenthal" (net-snmp -x AES-256).
    priv_key_extension: str = setting("reeder", help="AES-192/256 key extension: reeder (Cisco; net-snmp -x "
                                      "AES-256-C) or blumenthal (net-snmp -x AES-256).",
                                      choices=SNMP_KEY_EXTENSIONS, option="key-extension")
    #: Hex, RFC 3411 format; empty: derived from the enterprise number and the serial number.
    engine_id: str = ""
    v2c_enabled: bool = setting(False, help="Also service SNMP v1/v2c requests.", option="v2c")
    #: Sealed like every credential; unset means the appliance's default, DEFAULT_COMMUNITY.
    community: Optional[Secret] = setting(None, help="The v1/v2c community.", secret=True)
    v2c_ipv4: bool = setting(True, help="Service v1/v2c over IPv4.")
    v2c_networks_v4: tuple[str, ...] = field(default=("127.0.0.1/32",), metadata={"item": "network"})
    v2c_ipv6: bool = setting(False, help="Service v1/v2c over IPv6.")
    v2c_networks_v6: tuple[str, ...] = field(default=("::1/128",), metadata={"item": "network"})
    #: Asked only when v1/v2c is serviced too; otherwise traps are v3.
    trap_version: str = setting("v3", help="The trap version (v2c only when v1/v2c is serviced).",
                                choices=("v2c", "v3"))
    trap_targets: tuple[str, ...] = field(default=(), metadata={"item": "target"})
    trap_community: Optional[Secret] = setting(None, help="The v2c trap community.", secret=True)
    enabled_traps: tuple[str, ...] = field(
        default=tuple(t for t in SNMP_TRAPS if t != "connectivityFailure"), metadata={"item": "trap"})
    cpu_threshold: int = setting(95, help="CPU use that raises CPUUtilizationExceeded.", low=1, high=100,
                                 unit="%")
    memory_threshold: int = setting(95, help="Memory use that raises memoryUtilizationExceeded.", low=1,
                                    high=100, unit="%")
    connectivity_url: str = setting("", help="The URL connectivityFailure checks.", check=url_problem)
    location: str = setting("", help="sysLocation.", check=printable_problem)
    contact: str = setting("", help="sysContact.", check=printable_problem)

    def validate(self) -> None:
        if self.enabled and self.v3_level != "noAuthNoPriv" and self.auth_passphrase is None:
            raise ConfigError(f"{self.v3_level} needs the SNMPv3 authentication passphrase", "auth_passphrase")
        if self.enabled and self.v3_level == "authPriv" and self.priv_passphrase is None:
            raise ConfigError("authPriv needs the SNMPv3 privacy passphrase", "priv_passphrase")
        if self.engine_id:
            check_engine_id(self.engine_id)
        check_networks(self.v2c_networks_v4, 4, "v2c_networks_v4")
        check_networks(self.v2c_networks_v6, 6, "v2c_networks_v6")
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
        if "connectivityFailure" in self.enabled_traps and not self.connectivity_url:
            raise ConfigError("the connectivityFailure trap needs the URL to check", "connectivity_url")

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
    initial_interval_seconds: int = setting(300, help="Seconds before a repeated alert is sent again.", low=0,
                                            high=86400, unit="seconds", option="initial-interval")
    max_interval_seconds: int = setting(3600, help="The longest interval between repeats.", low=0,
                                        high=7 * 86400, unit="seconds", option="max-interval")
    max_saved: int = setting(50, help="Alerts kept for displayalerts.", low=1, high=1000)
    tls: bool = setting(True, help="Send alerts over TLS when the server offers it.")
    #: Where supportrequest sends (the appliance's is Cisco TAC; an open gateway names its own).
    support_address: str = ""

    def validate(self) -> None:
        from .addresses import address_problem

        check_unique([r.address.lower() for r in self.recipients], "recipients", "recipient")
        for f in ("from_address", "support_address"):
            problem = getattr(self, f) and address_problem(getattr(self, f))
            if problem:
                raise ConfigError(problem, f)
        if self.max_interval_seconds < self.initial_interval_seconds:
            raise ConfigError("debounce interval cannot be less than the initial interval", "max_interval_seconds")

    def sender(self, hostname: str) -> str:
        return self.from_address or f"alert@{hostname}"
