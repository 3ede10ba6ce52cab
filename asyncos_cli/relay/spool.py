"""The durable queue: a message is on disk, fsynced, before its 250.

Concurrent messages are committed together (group commit): the writer
gathers what arrives within a short window and writes the batch as one
segment file, ``seg-<first MID>.q`` (per message: a JSON header line with
the envelope and its length, then the bytes), with one fsync of the file and
one of the directory; only then are the batch's 250s sent. One fsync per
batch rather than per message is what lets a Python relay keep up.

A message leaves the queue when every recipient has its fate: its MID is
appended to ``done.log`` and the segment is deleted once all its messages
are done. Per-recipient progress of messages that wait for a retry is kept
in ``<MID>.state`` (temp file, fsync, rename). After a crash, a message not
recorded as done is delivered again: at least once, never lost.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from asyncos_cli.config.datadir import fsync_dir, write_private

WINDOW_SECONDS = 0.002
WINDOW_MESSAGES = 32

PENDING, DELIVERED, BOUNCED, DROPPED = "pending", "delivered", "bounced", "dropped"
#: Held in a quarantine; handed to a new MID by the per-policy split.
QUARANTINED, SPLIT = "quarantined", "split"


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
    #: Delay warnings sent to the sender so far (bounce profile).
    warnings_sent: int = 0
    #: DKIM verification at reception (the message's result), "" when the policy does not verify.
    dkim: str = ""
    #: SPF of the MAIL FROM identity at reception, "" when the policy does not verify; of the HELO identity, and
    #: Sender ID of the PRA (SIDF conformance levels), "" when not checked.
    spf: str = ""
    spf_helo: str = ""
    spf_pra: str = ""
    #: DMARC at reception (pass, fail, none, temperror, permerror), and the quarantine a failure sends it to.
    dmarc: str = ""
    dmarc_quarantine: str = ""
    #: Message-ID and Subject, for logs and tracking.
    message_id: str = ""
    subject: str = ""
    is_bounce: bool = False
    remote_ip: str = ""
    #: The envelope sender's domain reputation at MAIL FROM, "verdict:category" (empty: not checked).
    sdr: str = ""
    #: What the logs and the Consolidated Event Log say of where it came from: the HELO name, the From and
    #: Reply-To headers, and the sender domain's maturity in days (None: not known).
    helo: str = ""
    header_from: str = ""
    reply_to: str = ""
    sender_maturity: int | None = None
    #: The segment file holding the message (set by the spool).
    segment: str = ""
    content: bytes = field(default=b"", repr=False)

    def header(self) -> bytes:
        data = asdict(self)
        data.pop("content")
        data["length"] = len(self.content)
        return json.dumps(data, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_header(cls, line: bytes, content: bytes) -> "QueuedMessage":
        data = json.loads(line)
        data.pop("length", None)
        data["recipients"] = [Recipient(**r) for r in data["recipients"]]
        return cls(**data, content=content)

    def pending(self) -> list[Recipient]:
        return [r for r in self.recipients if r.state == PENDING]


class Spool:
    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._pending: list[tuple[QueuedMessage, asyncio.Future]] = []
        #: segment name -> MIDs in it still queued
        self._segments: dict[str, set[int]] = {}
        self._with_state: set[int] = set()
        self._done_log = None
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
        name = f"seg-{min(m.mid for m in messages)}.q"
        parts = []
        for msg in messages:
            msg.segment = name
            parts += [msg.header(), b"\n", msg.content]
        write_private(self.directory / name, b"".join(parts))
        fsync_dir(self.directory)
        self._segments[name] = {m.mid for m in messages}
        # The counter only keeps MIDs from being reused after a restart: no fsync needed.
        tmp = self._counter_path().with_suffix(".tmp")
        tmp.write_text(str(max(m.mid for m in messages)))
        os.replace(tmp, self._counter_path())

    # ------------------------------------------------------------ progress and removal

    def save_state(self, msg: QueuedMessage) -> None:
        """Record recipient progress durably (blocking: call from a thread)."""
        write_private(self.directory / f"{msg.mid}.state", msg.header())
        self._with_state.add(msg.mid)

    def remove(self, msg: QueuedMessage) -> None:
        """Leave the queue. No fsync: a removal lost in a power cut means the message is
        delivered again (at least once), never that one is lost."""
        if self._done_log is None:
            self._done_log = open(self.directory / "done.log", "a", buffering=1)
        self._done_log.write(f"{msg.mid}\n")
        if msg.mid in self._with_state:
            self._with_state.discard(msg.mid)
            (self.directory / f"{msg.mid}.state").unlink(missing_ok=True)
        left = self._segments.get(msg.segment)
        if left is not None:
            left.discard(msg.mid)
            if not left:
                del self._segments[msg.segment]
                (self.directory / msg.segment).unlink(missing_ok=True)
        if not self._segments:
            self._truncate_done_log()

    def _truncate_done_log(self) -> None:
        """With no segment left, no MID in done.log can matter any more."""
        if self._done_log is not None:
            self._done_log.close()
        self._done_log = open(self.directory / "done.log", "w", buffering=1)

    def recover(self) -> list[QueuedMessage]:
        """Every message still in the queue after a restart, with its recorded progress."""
        done = set()
        try:
            done = {int(x) for x in (self.directory / "done.log").read_text().split() if x.isdigit()}
        except FileNotFoundError:
            pass
        out = []
        for path in sorted(self.directory.glob("seg-*.q"), key=lambda p: int(p.stem[4:]) if p.stem[4:].isdigit() else 0):
            try:
                messages = list(_read_segment(path.read_bytes()))
            except (ValueError, TypeError, KeyError):
                # Never drop it silently: keep the bytes aside for an operator.
                path.rename(path.with_suffix(".corrupt"))
                continue
            alive = set()
            for msg in messages:
                msg.segment = path.name
                self.last_mid = max(self.last_mid, msg.mid)
                if msg.mid in done:
                    continue
                self._apply_state(msg)
                alive.add(msg.mid)
                out.append(msg)
            if alive:
                self._segments[path.name] = alive
            else:
                path.unlink()
        for tmp in self.directory.glob("*.tmp"):
            tmp.unlink(missing_ok=True)
        if not self._segments:
            self._truncate_done_log()
        return out

    def _apply_state(self, msg: QueuedMessage) -> None:
        state = self.directory / f"{msg.mid}.state"
        if not state.exists():
            return
        self._with_state.add(msg.mid)
        try:
            saved = QueuedMessage.from_header(state.read_bytes(), b"")
        except (ValueError, TypeError, KeyError):
            return  # the segment's header is the older, safe truth: pending recipients stay pending
        msg.recipients, msg.attempts = saved.recipients, saved.attempts
        msg.next_attempt, msg.last_error = saved.next_attempt, saved.last_error


def _read_segment(raw: bytes):
    pos = 0
    while pos < len(raw):
        end = raw.index(b"\n", pos)
        header = json.loads(raw[pos:end])
        length = header["length"]
        content = raw[end + 1 : end + 1 + length]
        if len(content) != length:
            raise ValueError("truncated segment")
        yield QueuedMessage.from_header(raw[pos:end], content)
        pos = end + 1 + length


def now() -> float:
    return time.time()
