"""The SNMP agent: SNMPv3 (USM, at the configured security level) and, optionally, v1/v2c.

pysnmp does the protocol (message processing, USM keys, VACM levels); the
objects come from one callable that gathers the gateway's readings, so every
answer is read at the time of the request, never a constant. A request
from outside snmpconfig's allowed networks gets no answer at all, as with a
wrong community string.
"""

from __future__ import annotations

import bisect
import ipaddress
import logging
import socket
import time
from typing import Callable

from pysnmp.entity import config as snmp_config
from pysnmp.entity import engine
from pysnmp.entity.rfc3413 import cmdrsp, context
from pysnmp.error import PySnmpError
from pysnmp.proto import rfc1905
from pysnmp.proto.api import v2c

from . import mib
from .security import engine_files_in, engine_id_octets, usm_protocols

log = logging.getLogger("asyncos.snmp")

#: One walk asks many GETNEXTs; the readings are gathered once for requests this close together.
READINGS_TTL = 0.25


class _Refused(PySnmpError):
    """Not an SMI error: pysnmp's responder answers nothing (the source is not allowed)."""


class GatewayInstrumentation:
    """pysnmp's MIB instrumentation interface, answered from :func:`mib.objects`."""

    def __init__(self, readings: Callable[[], mib.Readings], allowed: Callable[[int, str], bool],
                 engine_objects: Callable[[], list] = list):
        self._readings = readings
        self._allowed = allowed
        self._engine_objects = engine_objects
        self._objects: list = []
        self._oids: list = []
        self._at = 0.0

    def _view(self):
        now = time.monotonic()
        if now - self._at > READINGS_TTL:
            self._objects = sorted(mib.objects(self._readings()) + self._engine_objects(), key=lambda p: p[0])
            self._oids = [oid for oid, _ in self._objects]
            self._at = now
        return self._objects, self._oids

    def _check_source(self, ctx) -> None:
        exec_ctx = ctx["snmpEngine"].observer.get_execution_context("rfc3412.receiveMessage:request")
        model = exec_ctx.get("securityModel", 3)
        address = exec_ctx.get("transportAddress")
        host = address[0] if address else ""
        if not self._allowed(model, host):
            raise _Refused(f"SNMP request from {host} refused: not in the allowed networks")

    def _access(self, oid, value, idx, ctx) -> bool:
        """True when the object is visible; raises for an authorisation failure."""
        return not ctx["acFun"]("read", (v2c.ObjectIdentifier(oid), value), idx=idx, **ctx)

    def read_variables(self, *var_binds, **ctx):
        self._check_source(ctx)
        objects, oids = self._view()
        out = []
        for idx, (name, _) in enumerate(var_binds):
            oid = tuple(name)
            i = bisect.bisect_left(oids, oid)
            if i < len(oids) and oids[i] == oid:
                value = objects[i][1]
                out.append((name, value if self._access(oid, value, idx, ctx) else rfc1905.noSuchObject))
            elif any(o[:len(oid) - 1] == oid[:-1] for o in oids[max(i - 1, 0):i + 1]):
                out.append((name, rfc1905.noSuchInstance))
            else:
                out.append((name, rfc1905.noSuchObject))
        return out

    def read_next_variables(self, *var_binds, **ctx):
        self._check_source(ctx)
        objects, oids = self._view()
        out = []
        for idx, (name, _) in enumerate(var_binds):
            i = bisect.bisect_right(oids, tuple(name))
            while i < len(oids) and not self._access(oids[i], objects[i][1], idx, ctx):
                i += 1
            if i < len(oids):
                out.append((v2c.ObjectIdentifier(oids[i]), objects[i][1]))
            else:
                out.append((name, rfc1905.endOfMibView))
        return out

    def write_variables(self, *var_binds, **ctx):
        from pysnmp.smi import error as smi_error

        raise smi_error.NotWritableError(name=var_binds[0][0] if var_binds else None, idx=0)


class SnmpAgent:
    """One agent for one snmpconfig: rebuilt when the SNMP settings change."""

    def __init__(self, settings, keyring, serial: str, readings: Callable[[], mib.Readings],
                 sock: socket.socket | None = None, state_dir=None):
        self.settings = settings
        with engine_files_in(state_dir):
            self.engine = engine.SnmpEngine(snmpEngineID=v2c.OctetString(engine_id_octets(settings, serial)))
        # The transport gets its own descriptor of the service's socket: asyncio closes a transport's socket
        # a loop turn after close(), too late for an agent rebuilt at once on the same port.
        self._sock = sock.dup() if sock is not None else bind(settings.listen, settings.port)
        self._sock.setblocking(False)
        from pysnmp.carrier.asyncio.dgram import udp, udp6

        transport_cls, domain = (udp6.Udp6Transport, udp6.DOMAIN_NAME) if ":" in settings.listen else \
            (udp.UdpTransport, udp.DOMAIN_NAME)
        snmp_config.add_transport(self.engine, domain, transport_cls().open_server_mode(sock=self._sock))
        everything = (1, 3, 6, 1)
        auth, priv = usm_protocols(settings, keyring)
        snmp_config.add_v3_user(self.engine, settings.v3_user, auth[0], auth[1], priv[0], priv[1])
        snmp_config.add_vacm_user(self.engine, 3, settings.v3_user, settings.v3_level, everything)
        if settings.v2c_enabled:
            snmp_config.add_v1_system(self.engine, "gateway-area", settings.community_text(keyring.reveal))
            snmp_config.add_vacm_user(self.engine, 1, "gateway-area", "noAuthNoPriv", everything)
            snmp_config.add_vacm_user(self.engine, 2, "gateway-area", "noAuthNoPriv", everything)
        self._v4 = [ipaddress.ip_network(n, strict=False) for n in settings.v2c_networks_v4] \
            if settings.v2c_ipv4 else []
        self._v6 = [ipaddress.ip_network(n, strict=False) for n in settings.v2c_networks_v6] \
            if settings.v2c_ipv6 else []
        ctx = context.SnmpContext(self.engine)
        ctx.unregister_context_name(b"")
        self._started = time.monotonic()
        ctx.register_context_name(b"", GatewayInstrumentation(readings, self._source_allowed, self._engine_group))
        for responder in (cmdrsp.GetCommandResponder, cmdrsp.NextCommandResponder,
                          cmdrsp.BulkCommandResponder, cmdrsp.SetCommandResponder):
            responder(self.engine, ctx)
        self.engine.open_dispatcher()
        self.requests = 0

    def _engine_group(self) -> list:
        """SNMP-FRAMEWORK-MIB's snmpEngine group: this engine's ID, boots, seconds since it started, max size."""
        (boots,) = self.engine.get_mib_builder().import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineBoots")
        group = (1, 3, 6, 1, 6, 3, 10, 2, 1)
        return [(group + (1, 0), v2c.OctetString(bytes(self.engine.snmpEngineID))),
                (group + (2, 0), v2c.Integer(int(boots.syntax))),
                (group + (3, 0), v2c.Integer(int(time.monotonic() - self._started))),
                (group + (4, 0), v2c.Integer(65507))]

    @property
    def address(self) -> tuple[str, int]:
        return self._sock.getsockname()[:2]

    def _source_allowed(self, security_model: int, host: str) -> bool:
        if security_model == 3:
            return True
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        nets = self._v4 if ip.version == 4 else self._v6
        return any(ip in n for n in nets)

    def close(self) -> None:
        self.engine.close_dispatcher()
        try:
            self._sock.close()
        except OSError:
            pass


def bind(host: str, port: int) -> socket.socket:
    """Bind here, at once, so a port in use is a clear error rather than a task's exception later."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise OSError(e.errno, f"cannot listen for SNMP on {host} port {port}: {e.strerror}") from None
    sock.setblocking(False)
    return sock
