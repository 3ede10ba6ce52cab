"""Traps: events of the gateway become ASYNCOS-MAIL-MIB notifications sent to snmpconfig's targets.

v3 traps are sent with the agent's fixed engine ID (the receiver keys the
user on it, so a random ID would be dropped silently). One pysnmp engine
and one transport target per target host serve all traps of one
configuration: mixing credentials on one engine duplicates traps.
"""

from __future__ import annotations

import logging

from pysnmp.proto.api import v2c

from asyncos_cli.events.system import (
    AwarenessRefreshFailed,
    CertificateAdded,
    CertificateExpiring,
    ConfigStoreUnreachable,
    ConnectivityFailed,
    FeatureKeyChanged,
    LinkStateChanged,
    ResourceThresholdExceeded,
    UpstreamProxyFailed,
)

from . import mib
from .security import engine_files_in, engine_id_octets, usm_protocols

log = logging.getLogger("asyncos.snmp")


def trap_for(event) -> tuple[str, list] | None:
    """The trap an event stands for, with its varbinds, or None."""
    if isinstance(event, ResourceThresholdExceeded):
        if event.resource == "CPU":
            return "CPUUtilizationExceeded", [(mib.scalar("perCentCPUUtilization"), v2c.Integer32(event.percent))]
        return "memoryUtilizationExceeded", [(mib.scalar("perCentMemoryUtilization"), v2c.Integer32(event.percent))]
    if isinstance(event, (CertificateExpiring, CertificateAdded)):
        # The row a walk of keyExpirationTable shows for this key, and its exact seconds (0 once expired).
        row = event.row or 1
        return "keyExpiration", [
            (mib.KEY_EXPIRATION_ENTRY + (2, row), v2c.OctetString(f"Certificate: {event.name}")),
            (mib.KEY_EXPIRATION_ENTRY + (4, row), v2c.Gauge32(max(0, min(event.seconds_left, 2**32 - 1))))]
    if isinstance(event, FeatureKeyChanged):
        return "keyExpiration", [
            (mib.KEY_EXPIRATION_ENTRY + (2, event.row), v2c.OctetString(f"Feature: {event.name}")),
            (mib.KEY_EXPIRATION_ENTRY + (4, event.row), v2c.Gauge32(max(0, min(event.seconds_left, 2**32 - 1))))]
    if isinstance(event, AwarenessRefreshFailed):
        return "updateFailure", [(mib.UPDATE_ENTRY + (2, 1), v2c.OctetString("Repeat clicker list"))]
    if isinstance(event, UpstreamProxyFailed):
        return "upstreamProxyFailure", [(mib.GW_PROXY, v2c.OctetString(f"{event.proxy}: {event.reason}"[:255]))]
    if isinstance(event, ConnectivityFailed):
        return "connectivityFailure", [(mib.CONNECTION_URL, v2c.OctetString(event.url))]
    if isinstance(event, ConfigStoreUnreachable):  # a cluster machine lost its configuration store
        return "connectivityFailure", [(mib.CONNECTION_URL, v2c.OctetString(event.store))]
    if isinstance(event, LinkStateChanged):
        # RFC 2863's objects, for the row an ifTable walk shows: ifIndex, ifAdminStatus, ifOperStatus (then the
        # interface's name, which the appliance's traps also carry).
        n = event.index
        return ("linkUp" if event.up else "linkDown"), [
            (mib.IF_INDEX + (n,), v2c.Integer(n)), (mib.IF_ADMIN_STATUS + (n,), v2c.Integer(1)),
            (mib.IF_OPER_STATUS + (n,), v2c.Integer(1 if event.up else 2)),
            (mib.IF_DESCR + (n,), v2c.OctetString(event.interface))]
    return None


class TrapSender:
    def __init__(self, settings, keyring, serial: str, state_dir=None):
        from pysnmp.hlapi.v3arch.asyncio import CommunityData, SnmpEngine, UsmUserData

        self.settings = settings
        self.version = settings.effective_trap_version
        with engine_files_in(state_dir):
            self.engine = SnmpEngine(snmpEngineID=v2c.OctetString(engine_id_octets(settings, serial)))
        if self.version == "v3":
            (auth_proto, auth_key), (priv_proto, priv_key) = usm_protocols(settings, keyring)
            self.auth = UsmUserData(settings.v3_user, authKey=auth_key, privKey=priv_key,
                                    authProtocol=auth_proto, privProtocol=priv_proto)
        else:
            self.auth = CommunityData(settings.community_text(keyring.reveal, "trap_community"), mpModel=1)
        self._targets: dict[str, object] = {}

    async def _target(self, text: str):
        from pysnmp.hlapi.v3arch.asyncio import Udp6TransportTarget, UdpTransportTarget

        from asyncos_cli.config.schema import parse_trap_target

        if text not in self._targets:
            host, port = parse_trap_target(text)
            cls = Udp6TransportTarget if ":" in host else UdpTransportTarget
            self._targets[text] = await cls.create((host, port), timeout=2, retries=0)
        return self._targets[text]

    async def send(self, trap: str, varbinds: list) -> tuple[list[str], list[tuple[str, str]]]:
        """Send to every target: (targets sent, [(target, reason)] failed)."""
        from pysnmp.hlapi.v3arch.asyncio import (
            ContextData,
            NotificationType,
            ObjectIdentity,
            ObjectType,
            send_notification,
        )

        sent, failed = [], []
        for text in self.settings.trap_targets:
            try:
                notification = NotificationType(ObjectIdentity(mib.TRAP_OIDS[trap])).add_varbinds(
                    *[ObjectType(ObjectIdentity(oid), value) for oid, value in varbinds])
                error, *_ = await send_notification(self.engine, self.auth, await self._target(text), ContextData(),
                                                    "trap", notification)
            except Exception as e:  # a bad target must not stop the others
                failed.append((text, f"{type(e).__name__}: {e}"))
                continue
            if error:
                failed.append((text, str(error)))
            else:
                sent.append(text)
        return sent, failed

    def close(self) -> None:
        try:
            self.engine.close_dispatcher()
        except Exception:  # nothing left to release
            pass


def with_uptime(varbinds: list, seconds: float) -> list:
    """sysUpTime first, as SNMPv2 traps carry it: the daemon's uptime, whatever engine sends the trap."""
    return [(mib.SYS_UPTIME, v2c.TimeTicks(int(seconds * 100) % 2**32)), *varbinds]
