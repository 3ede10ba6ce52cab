"""The SSH server for the shell: a child process the daemon keeps running."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from typing import Callable

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.config.schema import Config
from asyncos_cli.services import listening

from .base import Component

log = logging.getLogger("asyncos.daemon")


class ChildProcess:
    """A helper process the daemon keeps running.

    Restarted when it dies, with a growing pause so a crash loop does not spin.
    """

    def __init__(self, name: str, argv: list[str], env: dict):
        self.name = name
        self.argv = argv
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._task: asyncio.Task | None = None
        self._stopping = False

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        pause = 0.5
        while not self._stopping:
            started = time.monotonic()
            self.proc = await asyncio.create_subprocess_exec(*self.argv, env=self.env, stdin=asyncio.subprocess.DEVNULL)
            if self._stopping:  # stop() came while the process was being spawned
                self.proc.terminate()
                await self.proc.wait()
                return
            code = await self.proc.wait()
            if self._stopping:
                return
            self.restarts += 1
            log.warning("%s exited with status %s; restarting", self.name, code)
            pause = 0.5 if time.monotonic() - started > 30 else min(pause * 2, 30)
            await asyncio.sleep(pause)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def started(self) -> bool:
        return self._task is not None and not self._stopping

    async def stop(self) -> None:
        self._stopping = True
        if self.running:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except asyncio.TimeoutError:
                self.proc.kill()
        if self._task is not None:
            self._task.cancel()


class ServiceComponent(Component):
    """A service child that runs while the configuration gives it a port to listen on, and not otherwise: an
    appliance with no interface offering the service has no process for it (and spends no start on one)."""

    def __init__(self, child: ChildProcess, config: Callable[[], Config]):
        self.child = child
        self._config = config
        self._wanted = False
        self._change: asyncio.Task | None = None
        self.configure(config())

    def wanted(self, config: Config) -> bool:
        raise NotImplementedError

    def configure(self, config: Config) -> None:
        wanted = self.wanted(config)
        if wanted != self._wanted:
            self._wanted = wanted
            self._change = asyncio.get_running_loop().create_task(self._follow(wanted, self._change))

    async def _follow(self, wanted: bool, previous: asyncio.Task | None) -> None:
        """Start or stop the child, after the change before this one has been made (one at a time, in order)."""
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        if wanted:
            self.child.start()
        else:
            await self.child.stop()

    async def stop(self) -> None:
        if self._change is not None:
            self._change.cancel()
            await asyncio.gather(self._change, return_exceptions=True)
        await self.child.stop()


def service_rows(title: str, child: ChildProcess, bindings) -> list[list[str]]:
    """One row per port a service child listens on (or could not open), for status."""
    restarts = f"; restarted {child.restarts} times" if child.restarts else ""
    if not child.started:
        return [[title, "off; no interface has it turned on"]]
    if not child.running or bindings is None:
        return [[title, f"starting{restarts}"]]
    if not bindings:
        return [[title, f"on; no interface has it turned on{restarts}"]]
    return [[title if n == 0 else "", ("on; " if not b.error else "") + f"{b.service} on {b.describe()}"
             + (restarts if n == 0 else "")] for n, b in enumerate(bindings)]


class SshServer(ServiceComponent):
    """It reads sshconfig from the store itself; the daemon supervises it and reports its state."""

    def __init__(self, data_root, config: Callable[[], Config]):
        self._run_dir = DataDir(data_root).run
        super().__init__(ChildProcess(
            "SSH server",
            [sys.executable, "-m", "asyncos_cli.shell.sshd"],
            # The child compares its parent with this pid, so it never outlives the daemon.
            {**os.environ, "ASYNCOS_DATA": str(data_root), "ASYNCOS_PARENT_PID": str(os.getpid())},
        ), config)

    def wanted(self, config: Config) -> bool:
        return config.ssh.enabled and bool(config.interfaces.with_service("ssh"))

    def rows(self) -> list[list[str]]:
        if not self._config().ssh.enabled:
            return [["SSH access to the shell", "disabled"]]
        return service_rows("SSH access to the shell", self.child, listening.read(self._run_dir, "sshd"))
