"""What a part of the running gateway offers the daemon.

Each component follows the configuration (``configure``), does its periodic
work when the daemon's loop turns (``tick``), answers control requests
(``operations``), and says how it is doing (``rows`` for `status`, ``facts``
for the status record). The daemon calls them in list order and stops them
in reverse.
"""

from __future__ import annotations

from typing import Callable

from asyncos_cli.config.schema import Config


class Component:
    def configure(self, config: Config) -> None:
        """A newly committed version is in effect (raise to refuse it: the previous one stays)."""

    async def tick(self, now: float) -> None:
        """Periodic work; ``now`` is time.monotonic(). Called every loop turn: schedule with ``Every``."""

    def operations(self) -> dict[str, Callable]:
        """Control channel operations: name -> handler(request dict), plain or async."""
        return {}

    def rows(self) -> list[list[str]]:
        """The `status` Components rows: [name, state]."""
        return []

    def facts(self) -> dict:
        """Fields of the status record (read by `status`, SNMP and the alerts)."""
        return {}

    async def stop(self) -> None:
        pass


class Every:
    """A schedule that is due every ``seconds`` (and at once the first time)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._next = 0.0

    def due(self, now: float) -> bool:
        if now < self._next:
            return False
        self._next = now + self.seconds
        return True
