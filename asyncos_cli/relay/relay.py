"""The relay service: listeners, the queue and delivery, following the configuration.

Runs inside the daemon's event loop. A committed change of the listeners
re-binds them (sessions already open finish on the old ones); everything
else is read from the snapshot at the moment it is needed, so a message in
flight finishes under the snapshot its attempt started with.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from asyncos_cli.config.schema import Config, MailFlowPolicy
from asyncos_cli.events import Event
from asyncos_cli.events.mail import MessageFinished

from .delivery import DeliveryManager
from .dsn import build as build_dsn
from .listener import make_server
from .spool import BOUNCED, DELIVERED, QueuedMessage, Recipient, Spool

log = logging.getLogger("asyncos.relay")


@dataclass
class Counters:
    """The `status` counters of the appliance (since the daemon started)."""

    messages_received: int = 0
    recipients_received: int = 0
    rejected_recipients: int = 0
    generated_bounces: int = 0
    hard_bounced: int = 0
    soft_bounced: int = 0
    completed_recipients: int = 0
    dropped_recipients: int = 0


class Relay:
    def __init__(self, queue_dir: Path, config: Config, emit: Callable[[Event], None], tls_context,
                 clock: Callable[[], float] = time.time):
        self.config = config
        self.emit = emit
        self.tls_context = tls_context
        self.clock = clock
        self.spool = Spool(queue_dir)
        self.delivery = DeliveryManager(self)
        self.counters = Counters()
        self._servers: dict[str, asyncio.AbstractServer] = {}
        self._suspended: set[str] = set()
        self._icid = 0
        self._connections: dict[str, int] = defaultdict(int)
        self._rate: dict[str, deque] = defaultdict(deque)
        self.listen_errors: dict[str, str] = {}

    # ------------------------------------------------------------ life cycle

    async def start(self) -> None:
        self.spool.start()
        recovered = self.spool.recover()
        for msg in recovered:
            msg.next_attempt = 0.0  # resume at once after a restart
            self.delivery.submit(msg)
        if recovered:
            log.warning("queue resumed with %d messages", len(recovered))
        self.delivery.start()
        await self._bind(self.config)

    async def stop(self) -> None:
        for server in self._servers.values():
            server.close()
        self._servers.clear()
        await self.delivery.stop()
        await self.spool.stop()

    async def _bind(self, config: Config) -> None:
        loop = asyncio.get_running_loop()
        wanted = {l.name: l for l in config.listeners.listeners if l.enabled and l.name not in self._suspended}
        for name in list(self._servers):
            self._servers.pop(name).close()
        self.listen_errors.clear()
        for name, listener in wanted.items():
            try:
                self._servers[name] = await loop.create_server(
                    make_server(self, listener, config.system.hostname, self.tls_context),
                    listener.interface, listener.port, reuse_address=True,
                )
            except OSError as e:
                self.listen_errors[name] = e.strerror or str(e)
                log.error("listener %s cannot listen on %s port %d: %s", name, listener.interface,
                          listener.port, e.strerror)

    def configure(self, config: Config) -> None:
        old, self.config = self.config, config
        if old.listeners != config.listeners or old.system.hostname != config.system.hostname:
            asyncio.get_running_loop().create_task(self._bind(config))

    # ------------------------------------------------------------ listeners and clients

    def next_icid(self) -> int:
        self._icid += 1
        return self._icid

    def connection_opened(self, ip: str) -> None:
        self._connections[ip] += 1

    def connection_closed(self, ip: str) -> None:
        self._connections[ip] -= 1
        if self._connections[ip] <= 0:
            self._connections.pop(ip, None)

    def connections_from(self, ip: str) -> int:
        return self._connections.get(ip, 0)

    def within_rate(self, ip: str, policy: MailFlowPolicy) -> bool:
        if not policy.max_messages_per_hour:
            return True
        now = self.clock()
        q = self._rate[ip]
        while q and now - q[0] > 3600:
            q.popleft()
        if len(q) >= policy.max_messages_per_hour:
            return False
        q.append(now)
        return True

    async def suspend(self, name: str) -> None:
        self._suspended.add(name)
        await self._bind(self.config)

    async def resume(self, name: str) -> None:
        self._suspended.discard(name)
        await self._bind(self.config)

    # ------------------------------------------------------------ messages

    def accepted(self, msg: QueuedMessage) -> None:
        self.delivery.submit(msg)

    async def finish(self, msg: QueuedMessage) -> None:
        """Every recipient has its fate: send the DSN (if any), record, and leave the queue."""
        bounced = [r for r in msg.recipients if r.state == BOUNCED]
        if bounced and msg.sender and not msg.is_bounce:
            await self._queue_bounce(msg, bounced)
        self.spool.remove(msg)  # two unlinks: cheaper inline than a hand-off to a thread
        states = {r.state for r in msg.recipients}
        if states == {DELIVERED}:
            self.emit(MessageFinished(msg.mid, "DELIVERED"))
        elif DELIVERED in states:
            self.emit(MessageFinished(msg.mid, "DELIVERED", "partly bounced"))
        elif BOUNCED in states:
            self.emit(MessageFinished(msg.mid, "BOUNCED", "Bounced"))
        else:
            self.emit(MessageFinished(msg.mid, "DROPPED", "Dropped by route /dev/null"))

    async def _queue_bounce(self, original: QueuedMessage, bounced: list[Recipient]) -> None:
        content = build_dsn(original, bounced, self.config.system.hostname)
        dsn = QueuedMessage(
            mid=self.spool.next_mid(),
            icid=0,
            sender="",
            recipients=[Recipient(0, original.sender)],
            received=self.clock(),
            listener="(bounce)",
            smtputf8=not original.sender.isascii(),
            size=len(content),
            subject="Undelivered Mail Returned to Sender",
            is_bounce=True,
            content=content,
        )
        await self.spool.store(dsn)
        self.counters.generated_bounces += 1
        self.delivery.submit(dsn)

    # ------------------------------------------------------------ views for the control channel

    def status(self) -> dict:
        return {
            "counters": asdict(self.counters),
            "queued": self.delivery.queued,
            "oldest": self.delivery.oldest(),
            "paused": self.delivery.paused,
            "listeners": [
                {"name": l.name, "kind": l.kind, "interface": l.interface, "port": l.port,
                 "state": ("suspended" if l.name in self._suspended else
                           f"error: {self.listen_errors[l.name]}" if l.name in self.listen_errors else
                           "listening" if l.name in self._servers else "disabled")}
                for l in self.config.listeners.listeners
            ],
        }
