"""The SNMP side of the daemon: agent, traps and the conditions behind them, following snmpconfig."""

from __future__ import annotations

import logging
from collections import Counter

from asyncos_cli.events import Event
from asyncos_cli.events.system import (
    AwarenessRefreshed,
    AwarenessRefreshFailed,
    SnmpAgentFailed,
)

from .conditions import ConditionMonitor
from .traps import TrapService

log = logging.getLogger("asyncos.snmp")


class SnmpService:
    def __init__(self, bus, keyring, serial: str, readings):
        self.bus = bus
        self.keyring = keyring
        self.serial = serial
        self.readings = readings
        self.agent = None
        self.error: str | None = None
        self.settings = None
        self.traps = TrapService(bus.emit)
        self.conditions = ConditionMonitor(bus.emit)
        #: updateTable rows: service name -> Counter(updates=, failures=).
        self.updates: dict[str, Counter] = {"Repeat clicker list": Counter(updates=0, failures=0)}
        bus.subscribe(Event, self._on_event)

    def configure(self, config) -> None:
        settings = config.snmp
        if settings == self.settings:
            return
        self.settings = settings
        self.close()
        self.error = None
        if not settings.enabled:
            return
        from .agent import SnmpAgent

        try:
            self.agent = SnmpAgent(settings, self.keyring, self.serial, self.readings)
        except Exception as e:  # a port in use or bad keys: the rest of the gateway runs on
            self.error = str(e)
            self.bus.emit(SnmpAgentFailed(self.error))
        try:
            self.traps.configure(settings, self.keyring, self.serial)
        except Exception as e:
            self.error = f"traps: {e}"
            self.bus.emit(SnmpAgentFailed(self.error))

    def _on_event(self, event) -> None:
        if isinstance(event, AwarenessRefreshed):
            self.updates["Repeat clicker list"]["updates"] += 1
        elif isinstance(event, AwarenessRefreshFailed):
            self.updates["Repeat clicker list"]["failures"] += 1
        self.traps.on_event(event)

    def update_rows(self) -> list[tuple[str, int, int]]:
        return [(name, c["updates"], c["failures"]) for name, c in self.updates.items()]

    def status(self) -> str:
        s = self.settings
        if s is None or not s.enabled:
            return "disabled"
        if self.error:
            return f"error: {self.error}"
        traps = f"{s.effective_trap_version} traps to {', '.join(s.trap_targets)}" if s.trap_targets else "no trap target"
        host, port = self.agent.address
        return f"on; {host} port {port} (v3 {s.v3_level}{', v2c' if s.v2c_enabled else ''}); {traps}"

    def close(self) -> None:
        if self.agent is not None:
            self.agent.close()
            self.agent = None
