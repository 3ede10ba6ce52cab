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
from .trapservice import TrapService

log = logging.getLogger("asyncos.snmp")


class SnmpService:
    def __init__(self, bus, keyring, serial: str, readings, state_dir=None):
        self.bus = bus
        #: Where pysnmp keeps its engines' boot counters (inside the data directory, never /tmp).
        self.state_dir = state_dir
        self.keyring = keyring
        self.serial = serial
        self.readings = readings
        self.agent = None
        self.error: str | None = None
        self.settings = None
        #: The agent's bound socket, kept across rebuilds on the same address (each agent uses a duplicate).
        self._sock = None
        self._sock_address: tuple[str, int] | None = None
        self.traps = TrapService(bus.emit, lambda: self.readings().uptime_seconds)
        self.conditions = ConditionMonitor(bus.emit)
        #: updateTable rows: service name -> Counter(updates=, failures=).
        self.updates: dict[str, Counter] = {"Repeat clicker list": Counter(updates=0, failures=0)}
        bus.subscribe(Event, self._on_event)

    def configure(self, config) -> None:
        settings = config.snmp
        if settings == self.settings:
            return
        self.settings = settings
        self._close_agent()
        self.error = None
        if not settings.enabled:
            self._release_socket()
            return
        from .agent import SnmpAgent, bind

        try:
            if self._sock_address != (settings.listen, settings.port):
                self._release_socket()
                self._sock = bind(settings.listen, settings.port)
                self._sock_address = (settings.listen, settings.port)
            self.agent = SnmpAgent(settings, self.keyring, self.serial, self.readings, self._sock, self.state_dir)
        except Exception as e:  # a port in use or bad keys: the rest of the gateway runs on
            self.error = str(e)
            self.bus.emit(SnmpAgentFailed(self.error))
        try:
            self.traps.configure(settings, self.keyring, self.serial, self.state_dir)
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
        self._close_agent()
        self._release_socket()

    def _close_agent(self) -> None:
        if self.agent is not None:
            self.agent.close()
            self.agent = None

    def _release_socket(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock, self._sock_address = None, None
