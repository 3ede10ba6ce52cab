"""Starting the gateway daemon in the background and stopping it: `serve --detach`, `stop`, and the shell's
reboot and shutdown all do it this one way."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from .client import ControlError, DaemonUnavailable, request


class DaemonProcessError(Exception):
    """The daemon would not start or stop; the message says what to look at."""


def running(datadir) -> bool:
    try:
        request(datadir.control_socket, "ping", timeout=1)
        return True
    except Exception:
        return False


def start_detached(datadir, wait_seconds: float = 20) -> int:
    """Start `serve` in its own session (output to logs/daemon.out); its pid once it answers."""
    out_path = datadir.private_dir(datadir.logs) / "daemon.out"
    fd = os.open(out_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "asyncos_cli", "serve"], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=out, start_new_session=True,
                                env={**os.environ, "ASYNCOS_DATA": str(datadir.root)})
    deadline = time.time() + wait_seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise DaemonProcessError(f"the daemon exited at start (status {proc.returncode}); see {out_path}")
        try:
            request(datadir.control_socket, "ping", timeout=1)
            return proc.pid
        except DaemonUnavailable:
            time.sleep(0.1)
    raise DaemonProcessError(f"the daemon did not answer within {wait_seconds:.0f} s; see {out_path}")


def stop(datadir, wait_seconds: float = 15) -> int | None:
    """Ask the running daemon to stop and wait until its process is gone; its pid, or None if none ran."""
    try:
        pid = request(datadir.control_socket, "status")["pid"]
        request(datadir.control_socket, "shutdown")
    except (DaemonUnavailable, ControlError):
        return None
    deadline = time.time() + wait_seconds
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        time.sleep(0.1)
    raise DaemonProcessError(f"the gateway (pid {pid}) did not stop within {wait_seconds:.0f} s")


def restart_detached(datadir) -> None:
    """Stop and start the daemon from a process of its own: a shell inside the gateway (an SSH session, a child
    of the daemon) would end with it before it could start it again."""
    out_path = datadir.private_dir(datadir.logs) / "daemon.out"
    fd = os.open(out_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "ab") as out:
        subprocess.Popen([sys.executable, "-m", "asyncos_cli.control.daemonproc", "restart"], stdin=subprocess.DEVNULL,
                         stdout=out, stderr=out, start_new_session=True,
                         env={**os.environ, "ASYNCOS_DATA": str(datadir.root)})


if __name__ == "__main__" and sys.argv[1:] == ["restart"]:
    from asyncos_cli.config.datadir import DataDir

    here = DataDir.from_env()
    time.sleep(0.5)  # the command that asked says so before its session goes
    stop(here, 60)
    print(f"asyncos-cli: gateway restarted (pid {start_detached(here)})", flush=True)
