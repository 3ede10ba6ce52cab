"""The loop's side of the DKIM verifier process (relay/dkimworker.py): one long-lived process, requests
pipelined over a socket pair, each answer awaited by the SMTP session that sent it before its 250.

One batch is in flight at a time: the requests made while the process works gather here and are written
together when its answers come; with nothing in flight, a request waits up to GATHER_SECONDS for others (as the
spool's group commit does). Each write and each wake-up of either side then carries several messages: on a
busy machine a process woken from sleep does its first work several times slower than back to back
(bench/cold_cpu.py), which costs more than the verification's own hashing.

Whatever goes wrong here, the caller still gets a verification: ``verify`` answers None when the process
cannot (not started, died, a key it was not given), and the caller verifies the message itself as before.
A process that does not answer in time is stopped and the message gets a temperror, as a key that could not
be fetched does.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import time

from scanning import dkim

from . import frames

log = logging.getLogger("asyncos.relay")

#: A verification taking longer than this is not one dkimpy should take: the process is stopped and restarted.
TIMEOUT = 30.0
#: After the process died, the loop verifies by itself for this long before starting another.
RESTART_AFTER = 10.0
#: With nothing in flight, how long a request waits for others to share its write, and how many go at once.
GATHER_SECONDS = 0.002
GATHER_MESSAGES = 32


class DkimVerifier:
    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._transport: asyncio.Transport | None = None
        #: seq -> the future its session awaits, and when it was sent (loop time, for the watchdog).
        self._pending: dict[int, tuple[asyncio.Future, float]] = {}
        self._seq = 0
        self._outbox: list[bytes] = []
        #: Requests written to the process and not answered yet; the timer that ends the gathering.
        self._in_flight = 0
        self._gathering: asyncio.TimerHandle | None = None
        self._starting: asyncio.Future | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._died_at = -RESTART_AFTER
        #: Processes started, messages they verified, and the writes that carried the requests (relay status).
        self.started = self.verified = self.writes = 0

    async def verify(self, data: bytes, keys: dict[str, bytes],
                     limits: tuple) -> tuple[dkim.SignatureResult, ...] | None:
        """The results, or None: verify it yourself. ``limits``: the verification profile's limits()."""
        if self._transport is None and not await self._started():
            return None
        self._seq += 1
        seq, loop = self._seq, asyncio.get_running_loop()
        future = loop.create_future()
        self._pending[seq] = future, loop.time()
        self._outbox.append(frames.pack((seq, data, keys, limits)))
        if not self._in_flight:  # else the batch goes when the one in flight is answered
            if len(self._outbox) >= GATHER_MESSAGES:
                self._flush()
            elif self._gathering is None:
                self._gathering = loop.call_later(GATHER_SECONDS, self._flush)
        if self._watchdog is None:  # one timer for every request, not one each
            self._watchdog = loop.call_later(min(1.0, TIMEOUT / 4), self._watch)
        kind, value = await future
        if kind == "timeout":
            return (dkim.SignatureResult("temperror", reason="verification timed out"),)
        if kind == "results":
            self.verified += 1
            return value
        if kind == "failed":
            log.error("the DKIM verifier failed: %s", value)
        return None

    def _watch(self) -> None:
        self._watchdog = None
        loop = asyncio.get_running_loop()
        late = [seq for seq, (_, sent) in self._pending.items() if loop.time() - sent > TIMEOUT]
        if late:
            log.error("the DKIM verifier gave no answer in %.0f s: restarted", TIMEOUT)
            for seq in late:
                self._answer(seq, ("timeout", None))
            self.close()
        if self._pending:
            self._watchdog = loop.call_later(min(1.0, TIMEOUT / 4), self._watch)

    def _answer(self, seq: int, answer: tuple) -> None:
        future, _ = self._pending.pop(seq, (None, 0.0))
        if future is not None and not future.done():
            future.set_result(answer)

    def _flush(self) -> None:
        self._stop_gathering()
        outbox, self._outbox = self._outbox, []
        if self._transport is not None and outbox:
            self._transport.write(b"".join(outbox))
            self._in_flight += len(outbox)
            self.writes += 1

    def _stop_gathering(self) -> None:
        if self._gathering is not None:
            self._gathering.cancel()
            self._gathering = None

    def _answers(self, answers: list) -> None:
        self._in_flight = max(0, self._in_flight - len(answers))
        for seq, answer in answers:
            self._answer(seq, answer)
        if self._outbox and not self._in_flight:
            self._flush()

    def state(self) -> str:
        if self._transport is None:
            return "not running (signatures are verified in the relay)" if self.started else "not started"
        return (f"running, pid {self._proc.pid}; {self.verified} messages verified, "
                f"the requests sent in {self.writes} writes")

    async def _started(self) -> bool:
        """One start, however many sessions ask at once."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
            self._starting.add_done_callback(lambda _: setattr(self, "_starting", None))
        return await asyncio.shield(self._starting)

    async def _start(self) -> bool:
        if time.monotonic() - self._died_at < RESTART_AFTER:
            return False
        ours, theirs = socket.socketpair()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "asyncos_cli.relay.dkimworker", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
        except OSError as e:
            log.error("the DKIM verifier could not start: %s", e)
            ours.close()
            self._died_at = time.monotonic()
            return False
        finally:
            theirs.close()
        self._transport, _ = await asyncio.get_running_loop().create_unix_connection(lambda: _Answers(self),
                                                                                     sock=ours)
        self.started += 1
        return True

    def _lost(self, transport: asyncio.BaseTransport) -> None:
        if transport is self._transport:  # not a stop of ours: the process died
            log.error("the DKIM verifier stopped; verifying in the relay for %.0f s", RESTART_AFTER)
            self._died_at = time.monotonic()
            self.close()

    def close(self) -> None:
        """Stop the process; whoever still waits verifies by itself."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        transport, self._transport = self._transport, None
        self._in_flight, self._outbox = 0, []
        self._stop_gathering()
        if transport is not None:
            transport.close()
        for seq in list(self._pending):
            self._answer(seq, ("stopped", None))
        if self._proc is not None:
            proc, self._proc = self._proc, None
            try:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass


class _Answers(asyncio.Protocol):
    """The process's answers handed to their sessions as the bytes arrive: no reader task wakes for each one,
    and answers that came together are one call."""

    def __init__(self, verifier: DkimVerifier) -> None:
        self.verifier = verifier
        self.buffer = bytearray()
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.verifier._answers(frames.unpack_all(self.buffer))

    def connection_lost(self, exc: Exception | None) -> None:
        self.verifier._lost(self.transport)
