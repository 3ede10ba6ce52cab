"""SNTP (RFC 4330) as a client: how far this machine's clock is from a time server's. Nothing is set."""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

NTP_EPOCH = 2208988800  # seconds from 1900 to 1970


@dataclass(frozen=True)
class Reading:
    server: str
    offset: float | None  # server's clock minus ours, in seconds (None: no answer)
    stratum: int = 0
    at: float = 0.0
    problem: str = ""


def query(server: str, timeout: float = 2.0) -> Reading:
    host, _, port = server.partition(":") if server.count(":") == 1 else (server, "", "123")
    now = time.time()
    packet = bytearray(48)
    packet[0] = (4 << 3) | 3  # version 4, client
    struct.pack_into("!II", packet, 40, int(now + NTP_EPOCH), int((now % 1) * 2**32))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(packet, (host, int(port or 123)))
            data, _ = s.recvfrom(512)
        arrived = time.time()
    except OSError as e:
        return Reading(server, None, at=now, problem=str(e.strerror or e) if not isinstance(e, socket.timeout)
                       else "no answer")
    if len(data) < 48 or data[0] & 0x07 != 4 or data[1] == 0:  # not a server's answer, or a kiss-o'-death
        return Reading(server, None, at=now, problem="not a usable time server answer")

    def stamp(offset: int) -> float:
        seconds, fraction = struct.unpack_from("!II", data, offset)
        return seconds - NTP_EPOCH + fraction / 2**32

    received, sent = stamp(32), stamp(40)
    return Reading(server, ((received - now) + (sent - arrived)) / 2, data[1], now)
