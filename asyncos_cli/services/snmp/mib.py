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
GW_CONNECTION_URL = EXTENSIONS + (20, 0)
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
    #: (description, seconds until expiry) of certificates (keys) the gateway holds.
    keys: list = field(default_factory=list)
    #: (service name, updates, failures).
    updates: list = field(default_factory=list)


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
    gauges = {
        "perCentMemoryUtilization": r.memory_percent,
        "perCentCPUUtilization": r.cpu_percent,
        "perCentDiskIOUtilization": r.disk_io_percent,
        "perCentQueueUtilization": r.queue_percent,
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
    for i, (description, seconds) in enumerate(r.keys, 1):
        out += [(KEY_EXPIRATION_ENTRY + (1, i), v2c.Integer(i)),
                (KEY_EXPIRATION_ENTRY + (2, i), v2c.OctetString(description)),
                (KEY_EXPIRATION_ENTRY + (3, i), v2c.Integer(2)),  # keyIsPerpetual: false
                (KEY_EXPIRATION_ENTRY + (4, i), v2c.Integer(max(-2**31, min(int(seconds), 2**31 - 1))))]
    for i, (service, updates, failures) in enumerate(r.updates, 1):
        out += [(UPDATE_ENTRY + (1, i), v2c.Integer(i)),
                (UPDATE_ENTRY + (2, i), v2c.OctetString(service)),
                (UPDATE_ENTRY + (3, i), v2c.Counter32(updates % 2**32)),
                (UPDATE_ENTRY + (4, i), v2c.Counter32(failures % 2**32))]
    for _, (sub, key) in EXTENSION_COUNTERS.items():
        out.append((EXTENSIONS + (sub, 0), v2c.Counter32(int(r.counters.get(key, 0)) % 2**32)))
    out.append((GW_OPEN_CONNECTIONS, v2c.Gauge32(r.open_connections)))
    out.sort(key=lambda pair: pair[0])
    return out
