"""Daemons for the tests forked from a process that has already imported the gateway.

A daemon started as ``python -m asyncos_cli serve`` spends about half a second of CPU importing before it does
anything, and the suite starts some two hundred of them. Here one process per pytest worker imports what the daemon
imports once; each test's daemon is a fork of it that runs the same entry point with the test's arguments,
environment, working directory and streams, exactly as `python -m asyncos_cli ARGS` would from there on.

The test side gets a ``ForkedProcess``: pid, poll, wait, send_signal, terminate, kill, returncode and stdout, as a
``subprocess.Popen`` has them. The fork's parent is the server, which reaps it and reports its exit status.
ASYNCOS_TEST_SUBPROCESS=1 starts every daemon with exec instead (conftest.py).

    python -m tests.forkserver SOCKET        (started by ``Server``; ends when its parent does)
"""

from __future__ import annotations

import array
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

#: What ``python -m asyncos_cli serve`` imports on its way to answering (daemon.Daemon._build's components).
PRELOAD = (
    "asyncos_cli.main", "asyncos_cli.daemon", "asyncos_cli.auth.throttle", "asyncos_cli.components.certificates",
    "asyncos_cli.components.clock", "asyncos_cli.components.cloud", "asyncos_cli.components.cluster",
    "asyncos_cli.components.dmarc", "asyncos_cli.components.mail", "asyncos_cli.components.monitoring",
    "asyncos_cli.components.records", "asyncos_cli.components.sshd", "asyncos_cli.components.web",
    "asyncos_cli.relay.relay", "asyncos_cli.services.alerts", "asyncos_cli.services.cef",
    "asyncos_cli.services.engines.service", "asyncos_cli.services.licensing", "asyncos_cli.services.logingate",
    "asyncos_cli.services.logs", "asyncos_cli.services.maturity", "asyncos_cli.services.outbound",
    "asyncos_cli.services.tracking",
)

_FDS = 3  # stdin, stdout, stderr of the process to start


# ---------------------------------------------------------------- the server (its own process)

def _serve(path: str) -> None:
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    try:
        _loop(listener, selector, parent)
    finally:
        _stop_children(selector)
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)


def _stop_children(selector: selectors.BaseSelector) -> None:
    """A daemon a test left running does not outlive the test run (the server ends with its pytest process)."""
    children = [key.data[0] for key in selector.get_map().values() if isinstance(key.data, tuple)]
    for pid in children:  # not reaped yet, so each pid is still this process's child
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for pid in children:
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                break
            time.sleep(0.05)


def _loop(listener: socket.socket, selector: selectors.BaseSelector, parent: int) -> None:
    while os.getppid() == parent:
        for key, _ in selector.select(1.0):
            if key.data == "accept":
                conn, _ = listener.accept()
                selector.register(conn, selectors.EVENT_READ, "request")
            elif key.data == "request":
                conn = key.fileobj
                selector.unregister(conn)
                pid = _fork(conn, listener, selector)
                if pid:
                    selector.register(os.pidfd_open(pid), selectors.EVENT_READ, (pid, conn))
            else:  # a child's pidfd: it exited
                pid, conn = key.data
                selector.unregister(key.fileobj)
                os.close(key.fileobj)
                _, status = os.waitpid(pid, 0)
                try:
                    conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
                except OSError:
                    pass
                conn.close()


def _fork(conn: socket.socket, listener: socket.socket, selector: selectors.BaseSelector) -> int:
    """Fork the requested process; its pid (0 when the request was unreadable and the connection closed)."""
    fds = array.array("i")
    msg, ancdata, _, _ = conn.recvmsg(1 << 20, socket.CMSG_SPACE(_FDS * fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    if len(fds) != _FDS or not msg:
        for fd in fds:
            os.close(fd)
        conn.close()
        return 0
    request = json.loads(msg)
    pid = os.fork()
    if pid == 0:
        _child(request, list(fds), [conn, listener, selector])
    for fd in fds:
        os.close(fd)
    conn.sendall(f"pid {pid}\n".encode())
    return pid


def _child(request: dict, fds: list[int], inherited: list) -> None:
    code = 1
    try:
        conn, listener, selector = inherited
        for key in list(selector.get_map().values()):  # the other children's connections and pidfds
            if isinstance(key.fileobj, int):
                os.close(key.fileobj)
            else:
                key.fileobj.close()
        for thing in inherited:
            thing.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in set(fds):
            if fd > 2:
                os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the server's own handler; the rest are as at start
        sys.argv = ["-m", *request["args"]]
        import runpy

        try:
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as e:
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


# ---------------------------------------------------------------- the test's side

class ForkedProcess:
    """A forked daemon, as much of a ``subprocess.Popen`` as the tests use."""

    def __init__(self, conn: socket.socket, pid: int, stdout, received: bytes = b""):
        self._conn = conn
        #: What the server has said past the pid line (its "exit" line may come in the same read).
        self._received = received
        self.pid = pid
        self.stdout = stdout
        self.returncode: int | None = None
        self.args = ["(forked)"]

    def poll(self) -> int | None:
        if self.returncode is None:
            self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None and not self._read(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode

    def _read(self, timeout: float | None) -> bool:
        self._conn.settimeout(timeout)
        while not self._received.endswith(b"\n"):
            try:
                chunk = self._conn.recv(64)
            except (BlockingIOError, TimeoutError, socket.timeout):
                return False
            if not chunk:
                break
            self._received += chunk
        # The server reports "exit CODE"; a server gone away reports nothing, and the process is gone with it.
        line = self._received
        self.returncode = int(line.split()[1]) if line.startswith(b"exit ") else -signal.SIGKILL
        self._conn.close()
        return True

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Server:
    """One fork server (started at the first request) for this pytest process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._path = ""

    def start(self, module: str, args: list[str], env: dict, cwd: Path) -> ForkedProcess:
        """``python -m MODULE ARGS`` with ``env`` in ``cwd``; stdin /dev/null, stdout and stderr together in a
        pipe (text)."""
        self._ensure(env, cwd)
        read_end, write_end = os.pipe()
        null = os.open(os.devnull, os.O_RDONLY)
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self._path)
            request = json.dumps({"module": module, "args": args, "env": env, "cwd": str(cwd)}).encode()
            conn.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                      array.array("i", [null, write_end, write_end]))])
        finally:
            os.close(write_end)
            os.close(null)
        reply = b""
        while b"\n" not in reply:
            chunk = conn.recv(64)
            if not chunk:
                os.close(read_end)
                raise RuntimeError("the fork server did not start the process")
            reply += chunk
        line, _, rest = reply.partition(b"\n")
        return ForkedProcess(conn, int(line.split()[1]), open(read_end, "r", errors="replace"), rest)

    def _ensure(self, env: dict, cwd: Path) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return
            import tempfile

            self._path = os.path.join(tempfile.mkdtemp(prefix="asyncos-fork-"), "fork.sock")
            self._proc = subprocess.Popen([sys.executable, "-m", "tests.forkserver", self._path], env=env, cwd=cwd,
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
            if self._proc.stdout.readline().strip() != "ready":
                raise RuntimeError("the fork server did not start")

    def stop(self) -> None:
        with self._lock:
            if self._proc is not None:
                self._proc.terminate()
                self._proc.wait(30)
                self._proc.stdout.close()
                self._proc = None


if __name__ == "__main__":
    _serve(sys.argv[1])
