"""The machine's facts that generic monitors poll (IF-MIB, HOST-RESOURCES-MIB), read from Linux's /proc and /sys.

Nothing is invented: a value the machine does not give (an interface's speed on a virtual NIC) is 0, as RFC 2863
asks for an unknown speed; a table the machine has no rows for is empty.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Interface:
    index: int
    name: str
    kind: int  # IANAifType: 6 ethernetCsmacd, 24 softwareLoopback, 1 other
    mtu: int
    speed_mbps: int
    mac: bytes
    admin_up: bool
    oper: int  # ifOperStatus: 1 up, 2 down, 4 unknown, 5 dormant, 7 lowerLayerDown
    in_octets: int
    in_packets: int
    in_errors: int
    in_drops: int
    in_multicast: int
    out_octets: int
    out_packets: int
    out_errors: int
    out_drops: int


@dataclass(frozen=True)
class Storage:
    index: int
    kind: str  # "ram", "virtual", "disk"
    description: str
    unit: int  # bytes per allocation unit
    size: int  # in units
    used: int  # in units


@dataclass
class HostFacts:
    interfaces: list[Interface] = field(default_factory=list)
    storage: list[Storage] = field(default_factory=list)
    #: Per CPU: (description, load percent over the last sampling interval).
    processors: list[tuple[str, int]] = field(default_factory=list)
    uptime_seconds: float = 0.0
    processes: int = 0
    memory_kb: int = 0


_OPER = {"up": 1, "down": 2, "unknown": 4, "dormant": 5, "notpresent": 6, "lowerlayerdown": 7, "testing": 3}


class HostReader:
    """Reads the facts; remembers the last /proc/stat sample so a CPU's load is over the time between polls."""

    def __init__(self, proc: Path = Path("/proc"), sys_net: Path = Path("/sys/class/net")):
        self.proc, self.sys_net = proc, sys_net
        self._cpu_before: dict[str, tuple[int, int]] = {}

    def read(self, data_dir: Path) -> HostFacts:
        facts = HostFacts()
        facts.interfaces = self._interfaces()
        facts.memory_kb = self._memory()
        facts.storage = self._storage(data_dir)
        facts.processors = self._processors()
        facts.uptime_seconds = _float_first(self.proc / "uptime")
        try:
            facts.processes = sum(1 for e in os.scandir(self.proc) if e.name.isdigit())
        except OSError:
            facts.processes = 0
        return facts

    def _interfaces(self) -> list[Interface]:
        counters = {}
        try:
            lines = (self.proc / "net" / "dev").read_text().splitlines()[2:]
        except OSError:
            lines = []
        for line in lines:
            name, _, rest = line.partition(":")
            v = [int(x) for x in rest.split()]
            if len(v) >= 16:
                counters[name.strip()] = v
        out = []
        for name, v in counters.items():
            d = self.sys_net / name
            index = _int(d / "ifindex")
            if index is None:
                continue
            flags = _int(d / "flags", 16) or 0
            kind = {1: 6, 772: 24}.get(_int(d / "type") or 0, 1)  # ARPHRD_ETHER, ARPHRD_LOOPBACK
            speed = _int(d / "speed")
            mac_text = _text(d / "address")
            mac = bytes.fromhex(mac_text.replace(":", "")) if mac_text and kind != 24 else b""
            oper = _OPER.get(_text(d / "operstate"), 4)
            if oper == 4:  # the loopback and virtual links say "unknown": up with a carrier is up, as net-snmp says
                oper = 1 if flags & 1 and _int(d / "carrier") == 1 else 2
            out.append(Interface(index, name, kind, _int(d / "mtu") or 0, max(speed or 0, 0), mac,
                                 bool(flags & 1), oper,
                                 v[0], v[1], v[2], v[3], v[7], v[8], v[9], v[10], v[11]))
        return sorted(out, key=lambda i: i.index)

    def _memory(self) -> int:
        info = self._meminfo()
        return info.get("MemTotal", 0)

    def _meminfo(self) -> dict[str, int]:
        out = {}
        try:
            for line in (self.proc / "meminfo").read_text().splitlines():
                key, _, value = line.partition(":")
                if value.split():
                    out[key] = int(value.split()[0])
        except (OSError, ValueError):
            pass
        return out

    def _storage(self, data_dir: Path) -> list[Storage]:
        info = self._meminfo()
        rows = []
        if info.get("MemTotal"):
            used = info["MemTotal"] - info.get("MemAvailable", info.get("MemFree", 0))
            rows.append(Storage(1, "ram", "Physical memory", 1024, info["MemTotal"], used))
        if info.get("SwapTotal"):
            rows.append(Storage(3, "virtual", "Swap space", 1024, info["SwapTotal"],
                                info["SwapTotal"] - info.get("SwapFree", 0)))
        try:
            st = os.statvfs(data_dir)
            rows.append(Storage(31, "disk", str(data_dir), st.f_frsize, st.f_blocks, st.f_blocks - st.f_bfree))
        except OSError:
            pass
        return rows

    def _processors(self) -> list[tuple[str, int]]:
        now: dict[str, tuple[int, int]] = {}
        try:
            for line in (self.proc / "stat").read_text().splitlines():
                name, *values = line.split()
                if name.startswith("cpu") and name != "cpu":
                    v = [int(x) for x in values]
                    idle = v[3] + (v[4] if len(v) > 4 else 0)
                    now[name] = (sum(v[:8]), idle)
        except (OSError, ValueError):
            return []
        model = "CPU"
        try:
            for line in (self.proc / "cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    model = line.partition(":")[2].strip()
                    break
        except OSError:
            pass
        out = []
        for name, (total, idle) in sorted(now.items(), key=lambda kv: int(kv[0][3:])):
            before = self._cpu_before.get(name)
            load = 0
            if before and total > before[0]:
                load = round(100 * (1 - (idle - before[1]) / (total - before[0])))
            out.append((f"{model} ({name})", max(0, min(100, load))))
        self._cpu_before = now
        return out


def _text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _int(path: Path, base: int = 10) -> int | None:
    try:
        return int(_text(path), base)
    except ValueError:
        return None


def _float_first(path: Path) -> float:
    try:
        return float(_text(path).split()[0])
    except (IndexError, ValueError):
        return 0.0


def date_and_time(epoch: float | None = None) -> bytes:
    """SNMPv2-TC DateAndTime (8 octets: local time, no zone) for hrSystemDate."""
    t = time.localtime(epoch if epoch is not None else time.time())
    return bytes([t.tm_year >> 8, t.tm_year & 0xFF, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, min(t.tm_sec, 59), 0])
