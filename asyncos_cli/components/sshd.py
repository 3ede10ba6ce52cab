"""The SSH server for the shell: a child process the daemon keeps running."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from typing import Callable

from asyncos_cli.config.schema import Config

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


class SshServer(Component):
    """It reads sshconfig from the store itself; the daemon supervises it and reports its state."""

    def __init__(self, data_root, config: Callable[[], Config]):
        self._config = config
        self.child = ChildProcess(
            "SSH server",
            [sys.executable, "-m", "asyncos_cli.shell.sshd"],
            # The child compares its parent with this pid, so it never outlives the daemon.
            {**os.environ, "ASYNCOS_DATA": str(data_root), "ASYNCOS_PARENT_PID": str(os.getpid())},
        )
        self.child.start()

    def rows(self) -> list[list[str]]:
        ssh = self._config().ssh
        if not ssh.enabled:
            return [["SSH access to the shell", "disabled"]]
        state = "on" if self.child.running else "starting"
        restarts = f", restarted {self.child.restarts} times" if self.child.restarts else ""
        return [["SSH access to the shell", f"{state}; {ssh.listen} port {ssh.port}{restarts}"]]

    async def stop(self) -> None:
        await self.child.stop()
