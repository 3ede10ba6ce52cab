"""The relay service: listeners -> queue manager -> scan queue, outcome, delivery.

Runs inside the daemon's event loop. This module only wires the parts and
follows the configuration: a committed change of the listeners re-binds
them (sessions already open finish on the old ones); everything else is
read from the snapshot at the moment it is needed, so a message in flight
finishes under the snapshot its attempt started with. The counters are an
event subscriber (relay.counters).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Callable

from asyncos_cli.config.schema import Config
from asyncos_cli.events import EventBus

from .connections import ConnectionTable
from .counters import COUNTED, Counters
from .delivery import DeliveryAgent
from .dkimverifier import DkimVerifier
from .listener import Intake, make_server
from .qmgr import QueueManager
from .scanq import ScanQueue
from .spool import Spool

log = logging.getLogger("asyncos.relay")


class Relay:
    def __init__(self, queue_dir: Path, config: Config, bus: EventBus, tls_context,
                 clock: Callable[[], float] = time.time, keyring=None, quarantine_dir: Path | None = None,
                 maturity=None, engines=None, run_dir: Path | None = None, login=None):
        from asyncos_cli.events.system import ReputationProviderFailed
        from asyncos_cli.services.quarantine import QuarantineStore
        from asyncos_cli.services.reputation import ReputationService

        self.config = config
        emit = self.emit = bus.emit
        self.counters = Counters()
        for event_type in COUNTED:
            bus.subscribe(event_type, self.counters.count)
        self.reputation = ReputationService(
            config, keyring, on_failure=lambda provider, reason: emit(ReputationProviderFailed(provider, reason)))
        if engines is None:
            from asyncos_cli.services.engines.service import EngineService

            engines = EngineService(config, keyring, emit)
        self.engines = engines
        self.tls_context = tls_context
        current = self.current
        run_dir = run_dir or queue_dir.parent / "run"
        self.scans = ScanQueue(current, emit, engines, self.reputation, keyring, maturity, run_dir / "engines.sock")
        self.agent = DeliveryAgent(emit, clock, keyring.reveal if keyring is not None else None)
        self.queue = QueueManager(Spool(queue_dir), QuarantineStore(quarantine_dir or queue_dir.parent / "quarantine"),
                                  self.scans, self.agent, emit, clock, current)
        self.connections = ConnectionTable(clock)
        self.intake = Intake(current, emit, clock, self.connections, self.reputation, maturity,
                             self.queue.next_mid, self.queue.receive, login, DkimVerifier())
        self._servers: dict[str, asyncio.AbstractServer] = {}
        #: Per listener: its socket's settings (_socket_settings), and what makes its connections' protocol.
        self._addresses: dict[str, tuple[str, int, int]] = {}
        self._factories: dict[str, Callable] = {}
        self._suspended: set[str] = set()
        self.listen_errors: dict[str, str] = {}
        #: The re-binding a committed change of the listeners started (done: they follow the version in effect).
        self.binding: asyncio.Task | None = None

    def current(self) -> Config:
        return self.config

    # ------------------------------------------------------------ life cycle

    async def start(self) -> None:
        await self.scans.start()
        recovered = self.queue.start()
        if recovered:
            log.warning("queue resumed with %d messages", recovered)
        await self._bind(self.config)

    async def stop(self) -> None:
        for server in self._servers.values():
            server.close()
        self._servers.clear()
        await self.queue.stop()
        self.scans.close()
        self.intake.verifier.close()

    def configure(self, config: Config) -> None:
        old, self.config = self.config, config
        self.reputation.configure(config)
        self.engines.configure(config)
        if (old.listeners != config.listeners or old.system.hostname != config.system.hostname
                or old.ssl != config.ssl or old.certificates != config.certificates):
            # The settings now, before this version is reported applied; the sockets a moment later.
            made = self._make_factories(config)
            self.binding = asyncio.get_running_loop().create_task(self._bind(config, made))

    # ------------------------------------------------------------ listeners

    async def _bind(self, config: Config, made: tuple[dict, dict] | None = None) -> None:
        """Listen as the configuration says. A listener whose address stays keeps its socket: new connections
        get the new settings (limits, TLS, certificate) at once and none is refused meanwhile."""
        loop = asyncio.get_running_loop()
        wanted, where = made or self._make_factories(config)
        for name in list(self._servers):
            if name not in wanted or self._addresses[name] != _socket_settings(wanted[name], where[name][1]):
                self._servers.pop(name).close()
        self.listen_errors.clear()
        for name, listener in wanted.items():
            if name in self._servers:
                continue
            address, port, backlog = settings = _socket_settings(listener, where[name][1])
            try:
                self._servers[name] = await loop.create_server(
                    # Each connection asks for the listener's current factory (see above).
                    lambda name=name: self._factories[name](), address, port, reuse_address=True, backlog=backlog)
                self._addresses[name] = settings
            except OSError as e:
                self.listen_errors[name] = e.strerror or str(e)
                log.error("listener %s cannot listen on %s port %d: %s", name, address, port, e.strerror)

    def _make_factories(self, config: Config) -> tuple[dict, dict]:
        """Each enabled listener's connection factory with the configuration's settings: (listeners by name,
        their (interface, address))."""
        wanted = {l.name: l for l in config.listeners.listeners if l.enabled and l.name not in self._suspended}
        where = {name: config.interfaces.resolve(l.interface) for name, l in wanted.items()}
        for name, listener in wanted.items():
            self._factories[name] = make_server(self.intake, listener, where[name], config.system.hostname,
                                                self._tls_for(listener, config))
        return wanted, where

    def _tls_for(self, listener, config: Config):
        """The listener's server context: a callable from the daemon, or one context for all (tests)."""
        if callable(self.tls_context):
            try:
                return self.tls_context(listener, config)
            except Exception as e:  # a broken certificate must not keep the listener down: STARTTLS is off
                from asyncos_cli.events.system import ListenerTlsUnavailable

                log.error("listener %s: no TLS (%s)", listener.name, e)
                self.emit(ListenerTlsUnavailable(listener.name, str(e) or type(e).__name__,
                                                 listener.starttls == "required"))
                return None
        return self.tls_context

    async def suspend_receiving(self, seconds: float) -> int:
        """Every listener stops accepting; sessions still open after ``seconds`` are closed: how many."""
        self._suspended = {l.name for l in self.config.listeners.listeners}
        await self._bind(self.config)
        deadline = asyncio.get_running_loop().time() + seconds
        while self.connections.sessions and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        return self.connections.close_sessions()

    async def resume_receiving(self) -> None:
        self._suspended.clear()
        await self._bind(self.config)

    async def suspend(self, name: str) -> None:
        self._suspended.add(name)
        await self._bind(self.config)

    async def resume(self, name: str) -> None:
        self._suspended.discard(name)
        await self._bind(self.config)

    # ------------------------------------------------------------ views for the control channel

    def status(self) -> dict:
        return {
            "counters": self.counters.as_dict(),
            "queued": self.queue.queued,
            "oldest": self.queue.oldest(),
            "paused": self.queue.paused,
            "listeners": [
                {"name": l.name, "kind": l.kind, "interface": l.interface, "port": l.port,
                 "state": ("suspended" if l.name in self._suspended else
                           f"error: {self.listen_errors[l.name]}" if l.name in self.listen_errors else
                           "listening" if l.name in self._servers else "disabled")}
                for l in self.config.listeners.listeners
            ],
        }


def _socket_settings(listener, address: str) -> tuple[str, int, int]:
    """What only a new socket can change: the address, and the accept queue's length (a flood waits there and
    gets its 421 at once; with asyncio's default of 100 the kernel drops the handshake's last ACK and clients
    hang unanswered)."""
    return address, listener.port, max(1024, listener.max_connections)
