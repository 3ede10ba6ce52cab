"""The API and web server: a child process the daemon keeps running, as it does the SSH server."""

from __future__ import annotations

import os
import sys
from typing import Callable

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.config.schema import Config
from asyncos_cli.services import listening

from .sshd import ChildProcess, ServiceComponent, service_rows


class WebServer(ServiceComponent):
    def __init__(self, data_root, config: Callable[[], Config]):
        self._run_dir = DataDir(data_root).run
        super().__init__(ChildProcess(
            "API and web server",
            [sys.executable, "-m", "asyncos_cli.web"],
            {**os.environ, "ASYNCOS_DATA": str(data_root), "ASYNCOS_PARENT_PID": str(os.getpid())},
        ), config)

    def wanted(self, config: Config) -> bool:
        return any(stem != "ssh" for i in config.interfaces.interfaces for stem, _, _ in i.services())

    def rows(self) -> list[list[str]]:
        return service_rows("AsyncOS API and web interface", self.child, listening.read(self._run_dir, "web"))
