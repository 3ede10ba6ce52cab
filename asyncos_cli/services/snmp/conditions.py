"""Conditions of the running gateway that become events (and, through them, traps and alerts).

Each condition fires once when it starts and re-arms only when it has
clearly ended, so a value hovering around a threshold does not storm:
utilisation must fall 5 points below the threshold, a connectivity check
must succeed again, an interface must change state.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from asyncos_cli.events.system import (
    ConnectivityFailed,
    LinkStateChanged,
    ResourceThresholdExceeded,
    UpstreamProxyFailed,
)

#: How far below its threshold a value must fall before the condition can fire again.
HYSTERESIS = 5
CONNECTIVITY_SECONDS = 60.0


class Threshold:
    def __init__(self) -> None:
        self.armed = True

    def crossed(self, value: int, threshold: int) -> bool:
        if self.armed and value > threshold:
            self.armed = False
            return True
        if not self.armed and value < threshold - HYSTERESIS:
            self.armed = True
        return False


class LinkWatcher:
    """Operational state of the machine's network interfaces (/sys/class/net/*/operstate)."""

    def __init__(self, root: Path = Path("/sys/class/net")):
        self.root = root
        self.states = self._read()

    def _read(self) -> dict[str, tuple[int, bool]]:
        states = {}
        try:
            entries = list(self.root.iterdir())
        except OSError:
            return states
        for d in entries:
            try:
                state = (d / "operstate").read_text().strip()
                index = int((d / "ifindex").read_text().strip())
            except (OSError, ValueError):
                continue
            if state in ("up", "down", "lowerlayerdown"):  # "unknown" (loopback, tunnels) never flaps
                states[d.name] = (index, state == "up")
        return states

    def changes(self) -> list[tuple[str, int, bool]]:
        now = self._read()
        changed = [(name, idx, up) for name, (idx, up) in now.items()
                   if name in self.states and self.states[name][1] != up]
        self.states = now
        return changed


class ConditionMonitor:
    def __init__(self, emit, link_root: Path = Path("/sys/class/net")):
        self.emit = emit
        self.cpu = Threshold()
        self.memory = Threshold()
        self.links = LinkWatcher(link_root)
        self._next_check = 0.0
        self._connectivity_ok = True
        self._checking: asyncio.Task | None = None

    def on_sample(self, sample, snmp) -> None:
        if self.cpu.crossed(sample.cpu_percent, snmp.cpu_threshold):
            self.emit(ResourceThresholdExceeded("CPU", sample.cpu_percent, snmp.cpu_threshold))
        if self.memory.crossed(sample.memory_percent, snmp.memory_threshold):
            self.emit(ResourceThresholdExceeded("memory", sample.memory_percent, snmp.memory_threshold))
        for name, index, up in self.links.changes():
            self.emit(LinkStateChanged(name, index, up))

    def check_connectivity(self, config, fetch, proxy_failure=lambda e: None) -> None:
        """Start a check of snmpconfig's URL when one is due; ``fetch(url)`` raises on failure (runs in a thread)."""
        url = config.snmp.connectivity_url
        if not (config.snmp.enabled and url) or time.monotonic() < self._next_check:
            return
        if self._checking is not None and not self._checking.done():
            return
        self._next_check = time.monotonic() + CONNECTIVITY_SECONDS
        self._checking = asyncio.get_running_loop().create_task(self._check(url, fetch, proxy_failure))

    async def _check(self, url: str, fetch, proxy_failure) -> None:
        try:
            await asyncio.to_thread(fetch, url)
        except Exception as e:  # any failure is the condition itself
            proxy = proxy_failure(e)
            if proxy:
                self.emit(UpstreamProxyFailed(proxy, "connectivity check", f"{type(e).__name__}: {str(e)[:200]}"))
            if self._connectivity_ok:
                self._connectivity_ok = False
                self.emit(ConnectivityFailed(url, f"{type(e).__name__}: {str(e)[:200]}"))
            return
        self._connectivity_ok = True
