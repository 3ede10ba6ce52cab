"""The traps snmpconfig enables, sent as the gateway's events happen; pysnmp itself (traps.py) is
loaded only once there is a trap target: most gateways send none, and it is a fifth of the daemon's start."""

from __future__ import annotations

import asyncio

from asyncos_cli.events.system import SnmpTrapFailed, SnmpTrapSent


class TrapService:
    """Subscribed to the event bus; sends the traps snmpconfig enables."""

    def __init__(self, emit, uptime=None):
        self.emit = emit
        #: The agent's uptime in seconds (the daemon's): a trap's sysUpTime, whatever engine sends it.
        self.uptime = uptime
        self.sender = None
        self._tasks: set[asyncio.Task] = set()
        self.sent = 0

    def configure(self, settings, keyring, serial: str, state_dir=None) -> None:
        if self.sender is not None:
            self.sender.close()
            self.sender = None
        if settings.enabled and settings.trap_targets:
            # pysnmp, loaded only when there are traps to send
            from .traps import TrapSender

            self.sender = TrapSender(settings, keyring, serial, state_dir)

    def on_event(self, event) -> None:
        if self.sender is None:
            return
        from .traps import trap_for

        found = trap_for(event)
        if found is None or found[0] not in self.sender.settings.enabled_traps:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: an event from a shell process, which sends no traps
        task = loop.create_task(self._send(self.sender, *found))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, sender, trap: str, varbinds: list) -> None:
        if self.uptime is not None:  # else pysnmp counts from the sending engine's start: each snmpconfig commit
            from .traps import with_uptime

            varbinds = with_uptime(varbinds, self.uptime())
        sent, failed = await sender.send(trap, varbinds)
        if sent:
            self.sent += 1
            self.emit(SnmpTrapSent(trap, sender.version, tuple(sent)))
        for target, reason in failed:
            self.emit(SnmpTrapFailed(trap, target, reason))

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
