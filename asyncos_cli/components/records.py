"""The gateway's records: log files (their subscriptions follow logconfig) and message tracking."""

from __future__ import annotations

import asyncio
from typing import Callable

from asyncos_cli.config.schema import Config

from .base import Component


class Logs(Component):
    def __init__(self, service, config: Config):
        self.service = service
        self._settings = config.logs

    def configure(self, config: Config) -> None:
        if config.logs != self._settings:
            self.service.configure(config.logs)
            self._settings = config.logs

    def rows(self) -> list[list[str]]:
        return [["Event bus and logs", f"on; {len(self._settings.subscriptions)} log subscriptions"]]

    async def stop(self) -> None:
        self.service.close()


class Tracking(Component):
    def __init__(self, service):
        self.service = service
        self._counting = None

    async def tick(self, now: float) -> None:
        self.service.flush()
        if self._counting is None:  # once, in a thread: a million rows take a second to count
            self._counting = asyncio.get_running_loop().run_in_executor(None, self.service.count_finished)

    def operations(self) -> dict[str, Callable]:
        return {"tracking": self._record, "tracking_flush": self._flush}

    def _flush(self, req: dict) -> int:
        self.service.flush(in_flight=True)
        return self.service.in_flight

    def _record(self, req: dict):
        rec = self.service.get(int(req.get("mid", 0)))
        return None if rec is None else rec.__dict__

    def rows(self) -> list[list[str]]:
        return [["Message tracking records", "on"]]

    def facts(self) -> dict:
        return {"tracking_in_flight": self.service.in_flight, "tracking_finished": self.service.finished_count()}

    async def stop(self) -> None:
        self.service.flush()
