"""The durable queue: a message is on disk, fsynced, before its 250.

Each message is one file, ``<MID>.msg``: a JSON header line (envelope,
recipients and their state) and the message bytes. Concurrent messages are
committed together (group commit): the writer gathers what arrives within a
short window, writes and fsyncs every file in one hand-off to a thread, then
fsyncs the directory once, and only then are their 250s sent. Per-recipient
progress is rewritten atomically (temp file, fsync, rename) so that a restart
after a crash never delivers a recipient twice that was recorded as done,
and never forgets one that was not.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

WINDOW_SECONDS = 0.002
WINDOW_MESSAGES = 32

PENDING, DELIVERED, BOUNCED, DROPPED = "pending", "delivered", "bounced", "dropped"


@dataclass
class Recipient:
    rid: int
    address: str
    state: str = PENDING
    detail: str = ""


@dataclass
class QueuedMessage:
    mid: int
    icid: int
    sender: str
    recipients: list[Recipient]
    received: float
    listener: str
    smtputf8: bool = False
    size: int = 0
    attempts: int = 0
    next_attempt: float = 0.0
    last_error: str = ""
    #: Message-ID and Subject, for logs and tracking.
    message_id: str = ""
    subject: str = ""
    is_bounce: bool = False
    content: bytes = field(default=b"", repr=False)

    def header(self) -> bytes:
        data = asdict(self)
        data.pop("content")
        return json.dumps(data, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_header(cls, line: bytes, content: bytes) -> "QueuedMessage":
        data = json.loads(line)
        data["recipients"] = [Recipient(**r) for r in data["recipients"]]
        return cls(**data, content=content)

    def pending(self) -> list[Recipient]:
        return [r for r in self.recipients if r.state == PENDING]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


class Spool:
    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._pending: list[tuple[QueuedMessage, asyncio.Future]] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self.batches = 0
        self.last_mid = self._read_counter()

    # ------------------------------------------------------------ MIDs

    def _counter_path(self) -> Path:
        return self.directory / "mid.counter"

    def _read_counter(self) -> int:
        try:
            return int(self._counter_path().read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def next_mid(self) -> int:
        self.last_mid += 1
        return self.last_mid

    # ------------------------------------------------------------ group commit

    def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._writer())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def store(self, msg: QueuedMessage) -> None:
        """Returns once the message is durable (file and directory entry fsynced)."""
        fut = asyncio.get_running_loop().create_future()
        self._pending.append((msg, fut))
        self._wakeup.set()
        await fut

    async def _writer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            if len(self._pending) < WINDOW_MESSAGES:
                await asyncio.sleep(WINDOW_SECONDS)  # let concurrent sessions join this batch
            batch, self._pending = self._pending[:WINDOW_MESSAGES * 4], self._pending[WINDOW_MESSAGES * 4:]
            if not self._pending:
                self._wakeup.clear()
            if not batch:
                continue
            try:
                await loop.run_in_executor(None, self._commit_batch, [m for m, _ in batch])
            except Exception as e:  # the clients get a 451: nothing was accepted
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            self.batches += 1
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(None)

    def _commit_batch(self, messages: list[QueuedMessage]) -> None:
        for msg in messages:
            _write_file(self.directory / f"{msg.mid}.msg", msg.header() + b"\n" + msg.content)
        _write_file(self._counter_path(), str(max(m.mid for m in messages)).encode())
        _fsync_dir(self.directory)

    # ------------------------------------------------------------ progress and removal

    def save_state(self, msg: QueuedMessage) -> None:
        """Record recipient progress durably (blocking: call from a thread)."""
        _write_file(self.directory / f"{msg.mid}.state", msg.header())

    def remove(self, msg: QueuedMessage) -> None:
        for suffix in (".msg", ".state"):
            try:
                os.unlink(self.directory / f"{msg.mid}{suffix}")
            except FileNotFoundError:
                pass
        _fsync_dir(self.directory)

    def recover(self) -> list[QueuedMessage]:
        """Every message still in the queue after a restart, with its recorded progress."""
        out = []
        for path in sorted(self.directory.glob("*.msg"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0):
            raw = path.read_bytes()
            header, _, content = raw.partition(b"\n")
            try:
                msg = QueuedMessage.from_header(header, content)
            except (ValueError, TypeError, KeyError):
                # Never drop it silently: keep the bytes aside for an operator.
                path.rename(path.with_suffix(".corrupt"))
                continue
            state = path.with_suffix(".state")
            if state.exists():
                try:
                    saved = QueuedMessage.from_header(state.read_bytes(), b"")
                    msg.recipients, msg.attempts = saved.recipients, saved.attempts
                    msg.next_attempt, msg.last_error = saved.next_attempt, saved.last_error
                except (ValueError, TypeError, KeyError):
                    pass  # the .msg header is the older, safe truth: pending recipients stay pending
            out.append(msg)
            self.last_mid = max(self.last_mid, msg.mid)
        for tmp in self.directory.glob("*.tmp"):
            tmp.unlink(missing_ok=True)
        return out


def now() -> float:
    return time.time()
