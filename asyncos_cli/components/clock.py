"""The clock compared with ntpconfig's time servers: the drift shows in status; a large one is a warning."""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from asyncos_cli.config.schema import Config
from asyncos_cli.events.system import ClockDrift
from asyncos_cli.services import ntp

from .base import Component, Every

#: How often the servers are asked (and at once at start and after each change of the list).
CHECK_SECONDS = 300.0
#: An offset beyond this is worth a warning in the system log (mail timestamps, TLS, token expiry suffer).
WARN_SECONDS = 1.0


class Clock(Component):
    def __init__(self, emit, config: Config):
        self._emit = emit
        self._servers = config.ntp.servers
        self._every = Every(CHECK_SECONDS)
        self._checking: asyncio.Task | None = None
        self.readings: list[ntp.Reading] = []

    def configure(self, config: Config) -> None:
        if config.ntp.servers != self._servers:
            self._servers = config.ntp.servers
            self._every = Every(CHECK_SECONDS)  # a new list is asked at once
            self.readings = []

    async def tick(self, now: float) -> None:
        if self._servers and self._checking is None and self._every.due(now):
            self._checking = asyncio.get_running_loop().create_task(self.check())
            self._checking.add_done_callback(lambda _t: setattr(self, "_checking", None))

    async def check(self) -> list[ntp.Reading]:
        """Ask every server (in threads: a silent one waits out its timeout, never the loop)."""
        readings = list(await asyncio.gather(*(asyncio.to_thread(ntp.query, s) for s in self._servers)))
        self.readings = readings
        for r in readings:
            if r.offset is not None and abs(r.offset) > WARN_SECONDS:
                self._emit(ClockDrift(r.server, r.offset))
        return readings

    def operations(self) -> dict[str, Callable]:
        return {"ntp_check": self._check_now}

    async def _check_now(self, req: dict) -> list[dict]:
        return [_as_dict(r) for r in await self.check()] if self._servers else []

    def rows(self) -> list[list[str]]:
        if not self._servers:
            return [["Clock (NTP)", "no time server configured (ntpconfig)"]]
        return [["Clock (NTP)", "; ".join(_summary(r) for r in self.readings) or "checking"]]

    def facts(self) -> dict:
        return {"ntp": [_as_dict(r) for r in self.readings]}


def _summary(r: ntp.Reading) -> str:
    if r.offset is None:
        return f"{r.server}: {r.problem}"
    return (f"offset {r.offset:+.6f} s from {r.server} (stratum {r.stratum}), checked "
            f"{time.strftime('%H:%M:%S', time.localtime(r.at))}")


def _as_dict(r: ntp.Reading) -> dict:
    return {"server": r.server, "offset": r.offset, "stratum": r.stratum, "at": r.at, "problem": r.problem}
