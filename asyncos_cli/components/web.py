"""The API and web server: a child process the daemon keeps running, as it does the SSH server."""

from __future__ import annotations

import os
import sys
from typing import Callable

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.config.schema import Config
from asyncos_cli.services import listening

from .base import Component
from .sshd import ChildProcess, service_rows


class WebServer(Component):
    def __init__(self, data_root, config: Callable[[], Config]):
        self._config = config
        self._run_dir = DataDir(data_root).run
        self.child = ChildProcess(
            "API and web server",
            [sys.executable, "-m", "asyncos_cli.web"],
            {**os.environ, "ASYNCOS_DATA": str(data_root), "ASYNCOS_PARENT_PID": str(os.getpid())},
        )
        self.child.start()

    def rows(self) -> list[list[str]]:
        return service_rows("AsyncOS API and web interface", self.child, listening.read(self._run_dir, "web"))

    async def stop(self) -> None:
        await self.child.stop()
