"""Resource gauges of the machine the gateway runs on, sampled once a second.

``status``, the SNMP agent and the CPU/memory traps all read the same
sample, so what an administrator sees in the shell and what a monitoring
system polls agree. Readings come from /proc: CPU over the last sampling
interval (all cores), memory in use (MemTotal - MemAvailable), disk busy time
of the busiest block device, and the daemon's open files and sockets.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    at: float = 0.0
    cpu_percent: int = 0
    memory_percent: int = 0
    disk_io_percent: int = 0
    open_files: int = 0


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs since boot."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already inside user/nice
    return total - idle, total


def _memory_percent() -> int:
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, rest = line.partition(":")
            info[key] = int(rest.split()[0])
    total = info.get("MemTotal", 0)
    if not total:
        return 0
    available = info.get("MemAvailable", info.get("MemFree", 0))
    return round(100 * (total - available) / total)


def _disk_busy_ms() -> dict[str, int]:
    """Milliseconds each whole disk spent doing I/O (field 13 of /proc/diskstats)."""
    busy = {}
    try:
        with open("/proc/diskstats") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 13 and not parts[2].startswith(("loop", "ram")):
                    busy[parts[2]] = int(parts[12])
    except OSError:
        pass
    return busy


def _open_files() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


class Gauges:
    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._cpu = _cpu_times()
        self._disk = _disk_busy_ms()
        self._at = clock()
        self.current = Sample(at=time.time(), memory_percent=_memory_percent(), open_files=_open_files())

    def sample(self) -> Sample:
        now = self.clock()
        cpu = _cpu_times()
        disk = _disk_busy_ms()
        elapsed_ms = max((now - self._at) * 1000, 1.0)
        d_busy, d_total = cpu[0] - self._cpu[0], cpu[1] - self._cpu[1]
        cpu_percent = round(100 * d_busy / d_total) if d_total > 0 else self.current.cpu_percent
        disk_percent = max((v - self._disk.get(k, v) for k, v in disk.items()), default=0)
        self._cpu, self._disk, self._at = cpu, disk, now
        self.current = Sample(
            at=time.time(),
            cpu_percent=max(0, min(100, cpu_percent)),
            memory_percent=_memory_percent(),
            disk_io_percent=max(0, min(100, round(100 * disk_percent / elapsed_ms))),
            open_files=_open_files(),
        )
        return self.current
