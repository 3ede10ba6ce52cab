"""Log files in the appliance's layout, rolled over by size and time.

``ASYNCOS_DATA/logs/<subscription>/<prefix>.current`` is the live file;
rolled files are ``<prefix>.@YYYYMMDDTHHMMSS.s``. Every file starts with
``Begin Logfile`` and the version line and ends with ``Logfile rolled over``
and ``End Logfile``, as on the appliance. Lines read
``Fri Nov 27 09:26:34 2026 Info: <message>``.

Several processes write the same subscription (each shell session writes the
CLI audit log, the daemon writes mail logs), so a write and a rollover happen
under an exclusive ``flock`` on the subscription's lock file, and a writer
whose file was rolled by another process reopens the new one.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from pathlib import Path

from asyncos_cli import __version__
from asyncos_cli.config.schema import LOG_LEVELS, LogsSection, LogSubscription

#: Level names as they appear in a line (the configuration says "Information").
LINE_LEVEL = {"Critical": "Critical", "Warning": "Warning", "Information": "Info", "Debug": "Debug", "Trace": "Trace"}
_RANK = {name: i for i, name in enumerate(LOG_LEVELS)}
_RANK.update({"Info": _RANK["Information"]})


_TRAILER_BYTES = 128


_last_stamp: tuple[int, str, str] = (-1, "", "")


def stamp(now: float) -> str:
    """The appliance's time stamp; formatted once per second and zone (settz may change it within a second)."""
    global _last_stamp
    second, zone = int(now), time.tzname[0]
    if _last_stamp[0] != second or _last_stamp[2] != zone:
        _last_stamp = (second, time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(second)), zone)
    return _last_stamp[1]


class LogFile:
    def __init__(self, directory: Path, sub: LogSubscription, serial: str = ""):
        self.sub = sub
        self.directory = directory
        self.serial = serial
        self.path = directory / f"{sub.prefix}.current"
        self._lock_path = directory / ".lock"
        self._fd: int | None = None
        self._ino: int | None = None
        self._lock: int | None = None
        self._pending: list[tuple[bytes, float]] = []
        self._flush_scheduled = False
        # Several threads of one process may write one log (the SSH server checks passphrases in worker
        # threads): taking the pending lines and writing them is one step, or a line can be lost.
        self._guard = threading.Lock()
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def accepts(self, level: str) -> bool:
        return _RANK.get(level, 0) <= _RANK[self.sub.level]

    def write(self, level: str, message: str, now: float | None = None) -> None:
        """Append a line. Inside a running event loop (the daemon) the lines of one loop turn are
        written together at its end: one lock, one stat and one write for a message's ten lines."""
        self.write_lines(level, (message,), now)

    def write_lines(self, level: str, messages, now: float | None = None) -> None:
        """Append the lines of one event, under one time stamp."""
        if not self.accepts(level):
            return
        now = time.time() if now is None else now
        # CEF lines too carry the level in the file (a parser reading "2026:" would take the year for the
        # level); over syslog they go bare, as the appliance sends them.
        prefix = f"{stamp(now)} {LINE_LEVEL.get(level, level)}: "
        with self._guard:
            self._pending.extend(((prefix + message + "\n").encode("utf-8", "replace"), now) for message in messages)
            if self._flush_scheduled:
                return
        loop = _running_loop()
        if loop is None:
            self.flush()
        else:
            self._flush_scheduled = True
            loop.call_soon(self.flush)

    def flush(self) -> None:
        with self._guard:
            self._flush_scheduled = False
            pending, self._pending = self._pending, []
            if pending:
                self._write(pending)

    def _write(self, pending: list[tuple[bytes, float]]) -> None:
        if self._lock is None:
            self._lock = os.open(self._lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self._ensure_open(pending[0][1])
            size = os.fstat(self._fd).st_size
            chunk: list[bytes] = []
            for line, now in pending:
                if self._due(size, len(line), now):
                    if chunk:
                        os.write(self._fd, b"".join(chunk))
                        chunk = []
                    self._roll(now)
                    size = os.fstat(self._fd).st_size
                chunk.append(line)
                size += len(line)
            os.write(self._fd, b"".join(chunk))
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def _ensure_open(self, now: float) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        if self._fd is not None and st is not None and st.st_ino == self._ino:
            return
        if self._fd is not None:
            os.close(self._fd)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        if os.fstat(fd).st_size == 0:
            os.write(fd, self._header(now))
        self._fd, self._ino = fd, os.fstat(fd).st_ino
        self._begun = _first_line_time(fd) or now

    def _header(self, now: float) -> bytes:
        sn = f" SN: {self.serial}" if self.serial else ""
        return (
            f"{stamp(now)} Info: Begin Logfile\n"
            f"{stamp(now)} Info: Version: {__version__}{sn}\n"
            f"{stamp(now)} Info: Time offset from UTC: {-time.timezone if not time.daylight else -time.altzone} seconds\n"
        ).encode()

    def _due(self, size: int, incoming: int, now: float) -> bool:
        # Room is kept for the two closing lines, so no file outgrows its limit.
        if size + incoming + _TRAILER_BYTES > self.sub.max_file_bytes:
            return True
        if self.sub.rollover_seconds and now - self._begun >= self.sub.rollover_seconds:
            return True
        return False

    def roll_now(self, now: float) -> None:
        """rollovernow: end the current file and begin a new one (the daemon follows the new file)."""
        self.flush()
        if self._lock is None:
            self._lock = os.open(self._lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self._ensure_open(now)
            self._roll(now)
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def _roll(self, now: float) -> None:
        os.write(self._fd, f"{stamp(now)} Info: Logfile rolled over\n{stamp(now)} Info: End Logfile\n".encode())
        os.fsync(self._fd)
        target = self.directory / f"{self.sub.prefix}.@{time.strftime('%Y%m%dT%H%M%S', time.localtime(now))}.s"
        n = 1
        while target.exists():
            target = target.with_name(f"{self.sub.prefix}.@{time.strftime('%Y%m%dT%H%M%S', time.localtime(now))}-{n}.s")
            n += 1
        os.replace(self.path, target)
        os.close(self._fd)
        self._fd = None
        self._ensure_open(now)
        self._prune()

    def _prune(self) -> None:
        rolled = sorted(self.directory.glob(f"{self.sub.prefix}.@*.s"), key=lambda p: p.stat().st_mtime)
        for old in rolled[: max(0, len(rolled) - self.sub.keep_files)]:
            old.unlink(missing_ok=True)

    def close(self) -> None:
        self.flush()
        for fd in (self._fd, self._lock):
            if fd is not None:
                os.close(fd)
        self._fd = self._lock = None


def _running_loop():
    """The running asyncio loop, without importing asyncio into processes that never loaded it."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _first_line_time(fd: int) -> float | None:
    """When the file began: the time stamp of its ``Begin Logfile`` line."""
    head = os.pread(fd, 24, 0).decode("ascii", "replace")
    try:
        return time.mktime(time.strptime(head, "%a %b %d %H:%M:%S %Y"))
    except ValueError:
        return None


_SEVERITY = {"Critical": 2, "Warning": 4, "Information": 6, "Info": 6, "Debug": 7, "Trace": 7}


class _LineByLine:
    """A sink that sends each line of an event on its own (a syslog datagram, a journal line)."""

    def write(self, level: str, message: str, now: float | None = None) -> None:
        raise NotImplementedError

    def write_lines(self, level: str, messages, now: float | None = None) -> None:
        for message in messages:
            self.write(level, message, now)


class SyslogPush(_LineByLine):
    """A subscription pushed to a syslog server: ``<PRI>Mmm dd hh:mm:ss NAME: Level: message`` (the
    subscription name as the tag, as the appliance writes it), over UDP or TCP (one line per message,
    RFC 6587 newline framing). A server that is down loses lines (counted), never the gateway's time: a
    connection attempt waits at most half a second, and is tried again at most every five seconds."""

    def __init__(self, sub: LogSubscription):
        import socket

        from asyncos_cli.config.schema import SYSLOG_FACILITIES

        self.sub = sub
        self._facility = SYSLOG_FACILITIES.index(sub.syslog_facility)
        self._socket_module = socket
        self._sock = None
        self._retry_at = 0.0
        self.dropped = 0

    def accepts(self, level: str) -> bool:
        return _RANK.get(level, 0) <= _RANK[self.sub.level]

    def write(self, level: str, message: str, now: float | None = None) -> None:
        if not self.accepts(level):
            return
        now = time.time() if now is None else now
        pri = self._facility * 8 + _SEVERITY.get(level, 6)
        stamp_ = time.strftime("%b %d %H:%M:%S", time.localtime(now))
        body = message if self.sub.log_type == "consolidated" else f"{LINE_LEVEL.get(level, level)}: {message}"
        line = f"<{pri}>{stamp_} {self.sub.name}: {body}".encode("utf-8", "replace")
        try:
            sock = self._connect(now)
            if sock is None:
                self.dropped += 1
                return
            if self.sub.syslog_protocol == "udp":
                sock.sendto(line[:8192], (self.sub.syslog_host, self.sub.syslog_port))
            else:
                sock.sendall(line + b"\n")
        except OSError:
            self.dropped += 1
            self.close()
            self._retry_at = now + 5

    def _connect(self, now: float):
        if self._sock is not None:
            return self._sock
        if now < self._retry_at:
            return None
        socket = self._socket_module
        if self.sub.syslog_protocol == "udp":
            self._sock = socket.socket(socket.AF_INET6 if ":" in self.sub.syslog_host else socket.AF_INET,
                                       socket.SOCK_DGRAM)
        else:
            self._sock = socket.create_connection((self.sub.syslog_host, self.sub.syslog_port), timeout=0.5)
        return self._sock

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class JournalEcho(_LineByLine):
    """A subscription's lines also on standard error, for a service manager's journal (systemd reads the
    ``<N>`` prefix as the line's priority): ``<6>mail_logs: Info: message``. Turned on by
    ``ASYNCOS_LOG_STDERR=1`` (the packaged unit sets it); the files stay the record."""

    def __init__(self, sub: LogSubscription):
        self.sub = sub

    def accepts(self, level: str) -> bool:
        return _RANK.get(level, 0) <= _RANK[self.sub.level]

    def write(self, level: str, message: str, now: float | None = None) -> None:
        if not self.accepts(level):
            return
        body = message if self.sub.log_type == "consolidated" else f"{LINE_LEVEL.get(level, level)}: {message}"
        line = f"<{_SEVERITY.get(level, 6)}>{self.sub.name}: {body}\n".encode("utf-8", "replace")
        try:
            os.write(2, line)
        except OSError:
            pass  # a closed journal stream must not stop the mail

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def journal_requested() -> bool:
    """``ASYNCOS_LOG_STDERR=1``: the daemon and its service processes echo their lines (an operator's own shell
    never does: its standard error is a terminal)."""
    return os.environ.get("ASYNCOS_LOG_STDERR", "") in ("1", "yes", "true")


class LogService:
    """Every configured subscription, addressed by log type."""

    def __init__(self, root: Path, section: LogsSection, serial: str = "", echo: bool = False):
        self.root = root
        self.serial = serial
        self.echo = echo
        self._files: dict[str, list[LogFile]] = {}
        self.configure(section)

    def configure(self, section: LogsSection) -> None:
        old = [f for files in self._files.values() for f in files]
        files: dict[str, list[LogFile]] = {}
        for sub in section.subscriptions:
            sink = SyslogPush(sub) if sub.retrieval == "syslog" else LogFile(self.root / sub.name, sub, self.serial)
            files.setdefault(sub.log_type, []).append(sink)
            if self.echo and sub.retrieval != "syslog":
                files[sub.log_type].append(JournalEcho(sub))
        self._files = files
        for f in old:
            f.close()

    def has(self, log_type: str) -> bool:
        return bool(self._files.get(log_type))

    def cef_field_choices(self) -> list[tuple[str, ...]]:
        """The distinct field choices of the consolidated subscriptions (one line is built per choice)."""
        return list(dict.fromkeys(f.sub.cef_fields for f in self._files.get("consolidated", ())))

    def write_to(self, log_type: str, cef_fields: tuple[str, ...], message: str) -> None:
        """Write to the subscriptions of ``log_type`` whose CEF field choice is ``cef_fields``."""
        for f in self._files.get(log_type, ()):
            if f.sub.cef_fields == cef_fields:
                f.write("Information", message)

    def write(self, log_type: str, level: str, message: str) -> None:
        for f in self._files.get(log_type, ()):
            f.write(level, message)

    def write_lines(self, log_type: str, level: str, messages: list[str]) -> None:
        for f in self._files.get(log_type, ()):
            f.write_lines(level, messages)

    def close(self) -> None:
        for files in self._files.values():
            for f in files:
                f.close()
