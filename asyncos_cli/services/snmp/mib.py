"""The objects the agent serves, computed from one set of readings.

Names and numbers follow the published ASYNCOS-MAIL-MIB (enterprise 15497,
objects under 1.3.6.1.4.1.15497.1.1.1, notifications under .1.1.2). Hardware
tables (power supplies, temperature, fans, RAID) are empty, as on a virtual
appliance. What the appliance's MIB has no object for (the relay's message
counters, the URL of a connectivity trap) lives in this gateway's own
subtree, ``gatewayExtensions`` (.1.1.99), declared in the shipped MIB file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pysnmp.proto.api import v2c

ENTERPRISE = (1, 3, 6, 1, 4, 1, 15497)
MAIL_OBJECTS = ENTERPRISE + (1, 1, 1)
NOTIFICATIONS = ENTERPRISE + (1, 1, 2)
EXTENSIONS = ENTERPRISE + (1, 1, 99)
SYSTEM = (1, 3, 6, 1, 2, 1, 1)
SYS_OBJECT_ID = ENTERPRISE + (1, 1)
SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
SYS_UPTIME = SYSTEM + (3, 0)
#: The MIB file shipped for ``snmpwalk -m +ASYNCOS-MAIL-MIB -M +DIR``.
MIB_DIR = Path(__file__).with_name("mibs")

#: Scalars of ASYNCOS-MAIL-MIB by name (instance .0 is appended).
SCALARS = {
    "perCentMemoryUtilization": 1,
    "perCentCPUUtilization": 2,
    "perCentDiskIOUtilization": 3,
    "perCentQueueUtilization": 4,
    "queueAvailabilityStatus": 5,
    "resourceConservationReason": 6,
    "memoryAvailabilityStatus": 7,
    "workQueueMessages": 11,
    "oldestMessageAge": 14,
    "outstandingDNSRequests": 15,
    "pendingDNSRequests": 16,
    "openFilesOrSockets": 19,
    "mailTransferThreads": 20,
}
KEY_EXPIRATION_ENTRY = MAIL_OBJECTS + (12, 1)
UPDATE_ENTRY = MAIL_OBJECTS + (13, 1)

#: Notifications (snmpTrapOID values): the MIB's numbers; upstreamProxyFailure is 14.0's addition.
TRAP_OIDS = {
    "resourceConservationMode": NOTIFICATIONS + (1,),
    "powerSupplyStatusChange": NOTIFICATIONS + (2,),
    "highTemperature": NOTIFICATIONS + (3,),
    "fanFailure": NOTIFICATIONS + (4,),
    "keyExpiration": NOTIFICATIONS + (5,),
    "updateFailure": NOTIFICATIONS + (6,),
    "RAIDStatusChange": NOTIFICATIONS + (7,),
    "connectivityFailure": NOTIFICATIONS + (8,),
    "memoryUtilizationExceeded": NOTIFICATIONS + (9,),
    "CPUUtilizationExceeded": NOTIFICATIONS + (10,),
    "upstreamProxyFailure": NOTIFICATIONS + (13,),
    # IF-MIB's generic traps (RFC 2863 / SNMPv2-MIB snmpTraps).
    "linkDown": (1, 3, 6, 1, 6, 3, 1, 1, 5, 3),
    "linkUp": (1, 3, 6, 1, 6, 3, 1, 1, 5, 4),
}
IF_INDEX = (1, 3, 6, 1, 2, 1, 2, 2, 1, 1)
IF_DESCR = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)

#: gatewayExtensions: the relay's counters (Counter32) and trap-only strings.
EXTENSION_COUNTERS = {
    "gwMessagesReceived": (1, "messages_received"),
    "gwRecipientsReceived": (2, "recipients_received"),
    "gwRejectedRecipients": (3, "rejected_recipients"),
    "gwGeneratedBounces": (4, "generated_bounces"),
    "gwHardBouncedRecipients": (5, "hard_bounced"),
    "gwSoftBouncedEvents": (6, "soft_bounced"),
    "gwCompletedRecipients": (7, "completed_recipients"),
    "gwDroppedRecipients": (8, "dropped_recipients"),
}
GW_OPEN_CONNECTIONS = EXTENSIONS + (9, 0)
CONNECTION_URL = MAIL_OBJECTS + (21, 0)  # connectionURL: only in connectivityFailure notifications
RAID_EVENTS = MAIL_OBJECTS + (17, 0)
GW_PROXY = EXTENSIONS + (21, 0)


def scalar(name: str) -> tuple[int, ...]:
    return MAIL_OBJECTS + (SCALARS[name], 0)


@dataclass
class Readings:
    """Everything the agent reports, gathered by the daemon at the time of the request."""

    sys_descr: str = ""
    hostname: str = ""
    contact: str = ""
    location: str = ""
    uptime_seconds: float = 0.0
    cpu_percent: int = 0
    memory_percent: int = 0
    disk_io_percent: int = 0
    queue_percent: int = 0
    work_queue: int = 0
    oldest_message_age: int = 0
    dns_outstanding: int = 0
    dns_pending: int = 0
    open_files: int = 0
    transfer_threads: int = 0
    open_connections: int = 0
    counters: dict = field(default_factory=dict)
    #: (description, seconds until expiry, perpetual) of certificates and licensed features.
    keys: list = field(default_factory=list)
    #: (service name, updates, failures).
    updates: list = field(default_factory=list)
    #: The machine's interfaces, storage and processors (IF-MIB, HOST-RESOURCES-MIB); None: not read.
    host: object = None


def _availability(percent: int) -> int:
    return 3 if percent >= 99 else 2 if percent >= 90 else 1


def objects(r: Readings) -> list[tuple[tuple[int, ...], object]]:
    """Every (OID, value) pair, sorted: the agent's whole view for one request."""
    memory_status = _availability(r.memory_percent)
    queue_status = _availability(r.queue_percent)
    conservation = 4 if queue_status == 3 else 3 if queue_status == 2 else 2 if memory_status > 1 else 1
    out: list[tuple[tuple[int, ...], object]] = [
        (SYSTEM + (1, 0), v2c.OctetString(r.sys_descr)),
        (SYSTEM + (2, 0), v2c.ObjectIdentifier(SYS_OBJECT_ID)),
        (SYS_UPTIME, v2c.TimeTicks(int(r.uptime_seconds * 100) % 2**32)),
        (SYSTEM + (4, 0), v2c.OctetString(r.contact)),
        (SYSTEM + (5, 0), v2c.OctetString(r.hostname)),
        (SYSTEM + (6, 0), v2c.OctetString(r.location)),
        (SYSTEM + (7, 0), v2c.Integer(72)),  # application + end-to-end layers
    ]
    for name, value in (("perCentMemoryUtilization", r.memory_percent), ("perCentCPUUtilization", r.cpu_percent),
                        ("perCentDiskIOUtilization", r.disk_io_percent),
                        ("perCentQueueUtilization", r.queue_percent)):
        out.append((scalar(name), v2c.Integer32(max(0, min(int(value), 100)))))  # the published type
    out.append((RAID_EVENTS, v2c.Counter32(0)))  # a software gateway has no RAID: no event ever
    gauges = {
        "workQueueMessages": r.work_queue,
        "oldestMessageAge": r.oldest_message_age,
        "outstandingDNSRequests": r.dns_outstanding,
        "pendingDNSRequests": r.dns_pending,
        "openFilesOrSockets": r.open_files,
        "mailTransferThreads": r.transfer_threads,
    }
    for name, value in gauges.items():
        out.append((scalar(name), v2c.Gauge32(max(0, min(int(value), 2**32 - 1)))))
    for name, value in (("queueAvailabilityStatus", queue_status), ("resourceConservationReason", conservation),
                        ("memoryAvailabilityStatus", memory_status)):
        out.append((scalar(name), v2c.Integer(value)))
    for i, (description, seconds, perpetual) in enumerate(r.keys, 1):
        out += [(KEY_EXPIRATION_ENTRY + (1, i), v2c.Integer(i)),
                (KEY_EXPIRATION_ENTRY + (2, i), v2c.OctetString(description)),
                (KEY_EXPIRATION_ENTRY + (3, i), v2c.Integer(1 if perpetual else 2)),  # keyIsPerpetual
                (KEY_EXPIRATION_ENTRY + (4, i), v2c.Gauge32(max(0, min(int(seconds), 2**32 - 1))))]  # 0: expired
    for i, (service, updates, failures) in enumerate(r.updates, 1):
        out += [(UPDATE_ENTRY + (1, i), v2c.Integer(i)),
                (UPDATE_ENTRY + (2, i), v2c.OctetString(service)),
                (UPDATE_ENTRY + (3, i), v2c.Counter32(updates % 2**32)),
                (UPDATE_ENTRY + (4, i), v2c.Counter32(failures % 2**32))]
    for _, (sub, key) in EXTENSION_COUNTERS.items():
        out.append((EXTENSIONS + (sub, 0), v2c.Counter32(int(r.counters.get(key, 0)) % 2**32)))
    out.append((GW_OPEN_CONNECTIONS, v2c.Gauge32(r.open_connections)))
    out += _sys_or_table()
    if r.host is not None:
        out += _if_mib(r.host) + _host_resources(r.host)
    out.sort(key=lambda pair: pair[0])
    return out


# ---------------------------------------------------------------- the machine: IF-MIB and HOST-RESOURCES-MIB

MIB2 = (1, 3, 6, 1, 2, 1)
IF_NUMBER = MIB2 + (2, 1, 0)
IF_ENTRY = MIB2 + (2, 2, 1)
IF_X_ENTRY = MIB2 + (31, 1, 1, 1)
IF_ADMIN_STATUS = IF_ENTRY + (7,)
IF_OPER_STATUS = IF_ENTRY + (8,)
HR = MIB2 + (25,)
HR_STORAGE_TYPES = {"ram": HR + (2, 1, 2), "virtual": HR + (2, 1, 3), "disk": HR + (2, 1, 4)}
HR_DEVICE_PROCESSOR = HR + (3, 1, 3)
#: sysORTable: the MIB modules this agent implements (sysORID, sysORDescr).
SYS_OR = (
    ((1, 3, 6, 1, 6, 3, 1), "The MIB module for SNMP entities (SNMPv2-MIB)"),
    (MIB2 + (31,), "The MIB module to describe generic objects for network interface sub-layers (IF-MIB)"),
    (HR + (7, 1), "The MIB module for managing host systems (HOST-RESOURCES-MIB)"),
    ((1, 3, 6, 1, 6, 3, 10, 3, 1, 1), "The SNMP Management Architecture MIB (SNMP-FRAMEWORK-MIB)"),
    (ENTERPRISE + (1, 1), "The mail gateway's monitoring objects (ASYNCOS-MAIL-MIB)"),
)


def _c32(n: int):
    return v2c.Counter32(int(n) % 2**32)


def _i32(n: int):
    return v2c.Integer(max(-2**31, min(int(n), 2**31 - 1)))


def _sys_or_table() -> list:
    out = [(SYSTEM + (8, 0), v2c.TimeTicks(0))]  # sysORLastChange: the table is fixed from the start
    for i, (oid, descr) in enumerate(SYS_OR, 1):
        out += [(SYSTEM + (9, 1, 2, i), v2c.ObjectIdentifier(oid)), (SYSTEM + (9, 1, 3, i), v2c.OctetString(descr)),
                (SYSTEM + (9, 1, 4, i), v2c.TimeTicks(0))]
    return out


def _if_mib(host) -> list:
    out = [(IF_NUMBER, _i32(len(host.interfaces)))]
    for i in host.interfaces:
        n = i.index
        speed_bps = i.speed_mbps * 1_000_000
        out += [
            (IF_ENTRY + (1, n), _i32(n)), (IF_ENTRY + (2, n), v2c.OctetString(i.name)),
            (IF_ENTRY + (3, n), _i32(i.kind)), (IF_ENTRY + (4, n), _i32(i.mtu)),
            (IF_ENTRY + (5, n), v2c.Gauge32(min(speed_bps, 2**32 - 1))),
            (IF_ENTRY + (6, n), v2c.OctetString(i.mac)), (IF_ADMIN_STATUS + (n,), _i32(1 if i.admin_up else 2)),
            (IF_OPER_STATUS + (n,), _i32(i.oper)), (IF_ENTRY + (9, n), v2c.TimeTicks(0)),
            (IF_ENTRY + (10, n), _c32(i.in_octets)), (IF_ENTRY + (11, n), _c32(i.in_packets - i.in_multicast)),
            (IF_ENTRY + (13, n), _c32(i.in_drops)), (IF_ENTRY + (14, n), _c32(i.in_errors)),
            (IF_ENTRY + (16, n), _c32(i.out_octets)), (IF_ENTRY + (17, n), _c32(i.out_packets)),
            (IF_ENTRY + (19, n), _c32(i.out_drops)), (IF_ENTRY + (20, n), _c32(i.out_errors)),
            (IF_X_ENTRY + (1, n), v2c.OctetString(i.name)), (IF_X_ENTRY + (2, n), _c32(i.in_multicast)),
            (IF_X_ENTRY + (6, n), v2c.Counter64(i.in_octets % 2**64)),
            (IF_X_ENTRY + (7, n), v2c.Counter64((i.in_packets - i.in_multicast) % 2**64)),
            (IF_X_ENTRY + (10, n), v2c.Counter64(i.out_octets % 2**64)),
            (IF_X_ENTRY + (11, n), v2c.Counter64(i.out_packets % 2**64)),
            (IF_X_ENTRY + (15, n), v2c.Gauge32(i.speed_mbps)), (IF_X_ENTRY + (18, n), v2c.OctetString("")),
        ]
    return out


def _host_resources(host) -> list:
    from .hostinfo import date_and_time

    out = [
        (HR + (1, 1, 0), v2c.TimeTicks(int(host.uptime_seconds * 100) % 2**32)),
        (HR + (1, 2, 0), v2c.OctetString(date_and_time())),
        (HR + (1, 6, 0), v2c.Gauge32(host.processes)),
        (HR + (1, 7, 0), _i32(0)),  # hrSystemMaxProcesses: no fixed maximum
        (HR + (2, 2, 0), _i32(host.memory_kb)),
    ]
    for s in host.storage:
        n = s.index
        out += [(HR + (2, 3, 1, 1, n), _i32(n)), (HR + (2, 3, 1, 2, n), v2c.ObjectIdentifier(HR_STORAGE_TYPES[s.kind])),
                (HR + (2, 3, 1, 3, n), v2c.OctetString(s.description)), (HR + (2, 3, 1, 4, n), _i32(s.unit)),
                (HR + (2, 3, 1, 5, n), _i32(s.size)), (HR + (2, 3, 1, 6, n), _i32(s.used)),
                (HR + (2, 3, 1, 7, n), _c32(0))]
    for k, (descr, load) in enumerate(host.processors):
        n = 196608 + k  # the device index net-snmp gives processors, which host checks expect
        out += [(HR + (3, 2, 1, 1, n), _i32(n)), (HR + (3, 2, 1, 2, n), v2c.ObjectIdentifier(HR_DEVICE_PROCESSOR)),
                (HR + (3, 2, 1, 3, n), v2c.OctetString(descr)), (HR + (3, 2, 1, 4, n), v2c.ObjectIdentifier((0, 0))),
                (HR + (3, 2, 1, 5, n), _i32(2)), (HR + (3, 2, 1, 6, n), _c32(0)),  # running, no errors
                (HR + (3, 3, 1, 1, n), v2c.ObjectIdentifier((0, 0))), (HR + (3, 3, 1, 2, n), _i32(load))]
    return out
