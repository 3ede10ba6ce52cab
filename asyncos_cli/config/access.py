"""Where administrators reach the appliance: named IP interfaces and their services, and the inactivity timeout.

On the appliance, services (SSH, the AsyncOS API, the web interface) are turned on per interface
(``interfaceconfig``), and one inactivity timeout (``adminaccessconfig timeout``) ends idle shell, SSH,
API and web sessions alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Mapping

from .fields import ConfigError, Record, Section, setting
from .validators import (
    check_unique,
    hostname_problem,
    ip_problem,
    name_rule,
    optional_name_rule,
)

#: (field stem, what the appliance calls the service): each has ``<stem>`` (on/off) and ``<stem>_port``.
SERVICES = (("ssh", "SSH"), ("api_http", "AsyncOS API HTTP"), ("api_https", "AsyncOS API HTTPS"),
            ("web_http", "HTTP"), ("web_https", "HTTPS"))


@dataclass(frozen=True)
class Interface(Record):
    """A named IP interface and the administrative services that listen on it."""

    name: str = setting(help="The interface's name.", check=name_rule("interface name"))
    address: str = setting(help="The interface's IP address.", check=ip_problem)
    hostname: str = setting("", help="The interface's host name (empty: the system host name).",
                            check=lambda v: hostname_problem(v) if v else None)
    ssh: bool = setting(False, help="SSH access to the shell on this interface.")
    ssh_port: int = setting(22, help="The SSH port.", low=1, high=65535)
    api_http: bool = setting(False, help="The AsyncOS API over plain HTTP.")
    api_http_port: int = setting(6080, help="The AsyncOS API's HTTP port.", low=1, high=65535)
    api_https: bool = setting(False, help="The AsyncOS API over HTTPS.")
    api_https_port: int = setting(6443, help="The AsyncOS API's HTTPS port.", low=1, high=65535)
    web_http: bool = setting(False, help="The web interface over plain HTTP.")
    web_http_port: int = setting(80, help="The web interface's HTTP port.", low=1, high=65535)
    web_https: bool = setting(False, help="The web interface over HTTPS.")
    web_https_port: int = setting(443, help="The web interface's HTTPS port.", low=1, high=65535)
    certificate: str = setting("", help="The certificate HTTPS presents (certconfig); empty: the demonstration "
                               "certificate.", check=optional_name_rule("certificate name"))

    def validate(self) -> None:
        ports = [(getattr(self, f"{stem}_port"), label) for stem, label in SERVICES if getattr(self, stem)]
        seen: dict[int, str] = {}
        for port, label in ports:
            if port in seen:
                raise ConfigError(f"{seen[port]} and {label} cannot share port {port}", "ports")
            seen[port] = label

    def services(self) -> list[tuple[str, str, int]]:
        """(field stem, label, port) of each service turned on here."""
        return [(stem, label, getattr(self, f"{stem}_port")) for stem, label in SERVICES if getattr(self, stem)]


DEFAULT_INTERFACES = (
    Interface("Management", "127.0.0.1", ssh=True, ssh_port=2222, api_https=True, api_https_port=6443,
              web_https=True, web_https_port=8443),
)


@dataclass(frozen=True)
class InterfacesSection(Section):
    name: ClassVar[str] = "interfaces"
    title: ClassVar[str] = "IP interfaces and the services on them"

    interfaces: tuple[Interface, ...] = field(default=DEFAULT_INTERFACES, metadata={"item": "interface"})

    def validate(self) -> None:
        check_unique((i.name.lower() for i in self.interfaces), "interfaces", "interface name")
        check_unique((i.address for i in self.interfaces), "interfaces", "interface address")

    @classmethod
    def first_appearance(cls, stored: Mapping[str, dict]) -> "InterfacesSection":
        """A store from before interfaces kept the SSH address and port in the ssh section: keep them."""
        ssh = stored.get("ssh") or {}
        listen, port = ssh.get("listen"), ssh.get("port")
        if not isinstance(listen, str) or not isinstance(port, int):
            return cls()
        default = DEFAULT_INTERFACES[0]
        try:
            return cls((default.replace(address=listen, ssh_port=port, ssh=bool(ssh.get("enabled", True))),))
        except ConfigError:
            return cls()

    def get(self, name: str) -> Interface | None:
        return next((i for i in self.interfaces if i.name.lower() == name.lower()), None)

    def by_address(self, address: str) -> Interface | None:
        return next((i for i in self.interfaces if i.address == address), None)

    def resolve(self, ref: str) -> tuple[str, str]:
        """(interface name, address) for a listener's interface, named by name or by address.

        An address no interface holds keeps working (listeners predate interfaces): it names itself.
        """
        iface = self.get(ref) or self.by_address(ref)
        return (iface.name, iface.address) if iface else (ref, ref)

    def with_service(self, stem: str) -> list[Interface]:
        return [i for i in self.interfaces if getattr(i, stem)]


@dataclass(frozen=True)
class AdminAccessSection(Section):
    name: ClassVar[str] = "admin_access"
    title: ClassVar[str] = "Administrative access"

    timeout_minutes: int = setting(30, help="Minutes of inactivity that end a shell, SSH, API or web session.",
                                   low=5, high=1440, unit="minutes", option="timeout")

    @classmethod
    def first_appearance(cls, stored: Mapping[str, dict]) -> "AdminAccessSection":
        """Earlier releases kept an SSH-only idle timeout in the ssh section."""
        minutes = (stored.get("ssh") or {}).get("idle_timeout_minutes")
        if isinstance(minutes, int):
            return cls(min(max(minutes, 5), 1440))
        return cls()
