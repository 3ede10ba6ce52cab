"""The scan queue: the hand-off of queued messages to the scanning workers.

Each message crosses to a worker once; ``scan`` gives the queue manager a
future of its one typed ScanOutcome (scanning.verdict). A message nothing
configured could look at is not parsed at all: ``needs_scan`` says so, and
``default_outcome`` is its direction's default policy, from the envelope
alone. The messages of one group commit go to the workers together. With
the threat engines on, a worker asks this loop's engine broker for each
message's answers (the engines' connections, health and counts stay in the
daemon) and sends each outcome as soon as it has it (relay/scanworker.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from pathlib import Path
from typing import Callable

from asyncos_cli.config.schema import Config
from asyncos_cli.events.mail import StageVerdict
from scanning.verdict import PolicyOutcome, ScanOutcome

from . import frames
from .fates import Emit
from .spool import QueuedMessage

log = logging.getLogger("asyncos.relay")

#: Messages handed to a worker in one task, at most (one hand-off costs about as much as a small scan).
SCAN_BATCH = 16

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_HEADER_FROM = re.compile(rb"(?im)^from:[^\r\n]*?@([a-z0-9.-]+\.[a-z]{2,})")
# Matched at a field's start in the lowered head (found with bytes.find: a (?im)^ search tries every position).
_CONTENT_TYPE = re.compile(rb"content-type:[ \t]*(?:\r?\n[ \t]+)?([a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+)")
_DISPOSITION = re.compile(rb"content-disposition:[ \t]*(?:\r?\n[ \t]+)?attachment")


def may_have_attachments(content: bytes) -> bool:
    """False only for a single text part with no attachment disposition: the one shape with nothing to extract."""
    end = _HEAD_END.search(content, 0, 256 * 1024)
    head = b"\n" + content[: end.start() if end else 256 * 1024].lower()
    m = _first_field(head, b"content-type:", _CONTENT_TYPE)
    if m is not None and not m.group(1).startswith(b"text/"):
        return True  # multipart/*, application/*, image/*, ...
    return _first_field(head, b"content-disposition:", _DISPOSITION) is not None


def _first_field(head: bytes, name: bytes, pattern: re.Pattern) -> re.Match | None:
    """The first field ``name`` at a line's start in ``head`` that ``pattern`` matches."""
    at = 0
    while (at := head.find(b"\n" + name, at)) >= 0:
        at += 1
        if (m := pattern.match(head, at)) is not None:
            return m
    return None


def direction_of(msg: QueuedMessage, config: Config) -> str:
    """Mail from a private listener is outgoing; every other message incoming."""
    listener = config.listeners.get(msg.listener)
    return "outgoing" if listener is not None and listener.kind == "private" else "incoming"


class ScanQueue:
    def __init__(self, config: Callable[[], Config], emit: Emit, engines, reputation, keyring, maturity,
                 broker_path: Path):
        self.config = config
        self.emit = emit
        #: services.engines.service.EngineService: clamd, Rspamd, file reputation (reached from this loop).
        self.engines = engines
        self.reputation = reputation
        #: Opens the protected-attachment passphrases for the workers.
        self.keyring = keyring
        #: services.maturity.SenderMaturity (first-seen sender domains), or None.
        self.maturity = maturity
        #: MID -> the future of its ScanOutcome (the queue manager awaits it).
        self._waiting: dict[int, asyncio.Future] = {}
        #: The awareness service's repeat clickers (the daemon keeps it current).
        self.repeat_clickers: frozenset = frozenset()
        self._tasks: set[asyncio.Task] = set()
        self._to_scan: list[QueuedMessage] = []
        self._pool = None
        self._blob = None
        self._blob_key = 0
        #: Where the workers ask for the engines' answers (a Unix socket in the private run folder).
        self.broker_path = broker_path
        self._broker = None
        #: MID -> (message, envelope for the engines, configuration): at a worker, no outcome yet.
        self._at_workers: dict[int, tuple] = {}
        #: Batch number -> set when that batch's worker connection has closed (every outcome read).
        self._batches: dict[int, asyncio.Event] = {}
        self._batch_seq = 0

    async def start(self) -> None:
        self.broker_path.unlink(missing_ok=True)
        self._broker = await asyncio.start_unix_server(self._serve_worker, str(self.broker_path))
        os.chmod(self.broker_path, 0o600)

    def state(self) -> str:
        """The `status` row: the worker processes, and the messages they hold now."""
        if self._pool is None:
            return "not started (no message has needed scanning yet)"
        return f"{os.cpu_count() or 1} processes; {len(self._waiting)} messages being scanned"

    def close(self) -> None:
        for future in self._waiting.values():  # the messages stay queued on disk: scanned at the next start
            future.cancel()
        self._waiting.clear()
        if self._broker is not None:
            self._broker.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.engines.close()

    # ------------------------------------------------------------ in

    def default_outcome(self, msg: QueuedMessage) -> ScanOutcome:
        """With one policy per direction, the policy is that direction's DEFAULT: no parse needed."""
        config = self.config()
        direction = direction_of(msg, config)
        policy = getattr(config.mail_policies, direction)[-1].name
        return ScanOutcome(direction, (PolicyOutcome(policy, tuple(r.address for r in msg.pending())),))

    def needs_scan(self, msg: QueuedMessage) -> bool:
        config = self.config()
        if self.engines.wanted(config):
            return True
        if config.message_filters.filters or config.content_filters.filters:
            return True
        if len(config.mail_policies.incoming) > 1 or len(config.mail_policies.outgoing) > 1:
            return True  # a message may split between policies, each with its own settings
        if any(p.dlp and p.dlp_policies for p in config.mail_policies.outgoing):
            return True  # DLP reads message bodies too
        # Everything else the engine does today looks at attachments: a single text part has none.
        return may_have_attachments(msg.content)

    def scan(self, msg: QueuedMessage) -> asyncio.Future:
        """The future of ``msg``'s ScanOutcome (never an exception: a failed scan is an outcome that says so)."""
        future = self._waiting[msg.mid] = asyncio.get_running_loop().create_future()
        self._to_scan.append(msg)
        if len(self._to_scan) == 1:
            asyncio.get_running_loop().call_soon(self._dispatch)
        return future

    def _resolve(self, msg: QueuedMessage, outcome: ScanOutcome) -> None:
        future = self._waiting.pop(msg.mid, None)
        if future is not None and not future.done():
            future.set_result(outcome)

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _dispatch(self) -> None:
        batch, self._to_scan = self._to_scan, []
        workers = os.cpu_count() or 1
        size = min(SCAN_BATCH, max(1, -(-len(batch) // workers)))  # every worker gets a share
        for i in range(0, len(batch), size):
            self._spawn(self._scan(batch[i:i + size]))

    # ------------------------------------------------------------ the workers

    def _snapshot_blob(self, config: Config) -> tuple[int, bytes]:
        """Configuration and clients pickled once per version; workers unpickle them once per version too."""
        if self._blob is None or self._blob[0] is not config or self._blob[3] is not self.repeat_clickers:
            import pickle

            from scanning.pipeline import Clients

            clients = Clients()
            if config.protected_attachments.passphrases:
                clients = Clients.for_config(config, self.keyring.reveal)
            if self.repeat_clickers and any(p.repeat_clickers for p in config.mail_policies.incoming):
                clients = clients.with_clickers(self.repeat_clickers)
            self._blob_key += 1
            blob = pickle.dumps((config, clients), protocol=pickle.HIGHEST_PROTOCOL)
            self._blob = (config, self._blob_key, blob, self.repeat_clickers)
        return self._blob[1], self._blob[2]

    def _workers(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn, not fork: the daemon has threads, and a forked copy of their locks can deadlock.
            self._pool = ProcessPoolExecutor(max_workers=os.cpu_count() or 1,
                                             mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def _in_workers(self, function, jobs: list[tuple], config: Config, *extra) -> list:
        """``function`` (scanning.worker) over the jobs in a worker; when the hand-off fails, that exception each."""
        try:
            key, blob = self._snapshot_blob(config)
            return await asyncio.get_running_loop().run_in_executor(self._workers(), function, jobs, key, blob,
                                                                    *extra)
        except Exception as e:  # the scan failed: the messages are not lost, they go on unscanned and say so
            from concurrent.futures.process import BrokenProcessPool

            if isinstance(e, BrokenProcessPool):  # a worker died (killed, out of memory): a fresh pool next time
                log.error("a scanning worker died; starting new workers")
                self._pool = None
            return [e] * len(jobs)

    def _jobs(self, batch: list[QueuedMessage], config: Config) -> list[tuple]:
        from scanning.pipeline import Envelope

        jobs = []
        for msg in batch:
            verdict, _, category = msg.sdr.partition(":")
            jobs.append((msg.content, Envelope(msg.sender, tuple(r.address for r in msg.pending()),
                                               direction_of(msg, config), msg.remote_ip, msg.mid,
                                               self._maturity_of(msg.sender), verdict, category, msg.dkim,
                                               msg.spf, msg.dmarc, msg.spf_helo, msg.spf_pra)))
        return jobs

    def _maturity_of(self, sender: str) -> int | None:
        if self.maturity is None or "@" not in sender:
            return None
        return self.maturity.days(sender.rpartition("@")[2])

    async def _scan(self, batch: list[QueuedMessage]) -> None:
        from scanning.worker import scan_batch

        config = self.config()  # the snapshot these messages are scanned under
        if self.reputation.can_answer("domain") and config.reputation.sdr_enabled:
            await asyncio.gather(*(self._header_from_sdr(m) for m in batch))
        jobs = self._jobs(batch, config)
        if self.engines.wanted(config):
            await self._scan_with_engines(batch, jobs, config)
            return
        self._deliver(batch, jobs, await self._in_workers(scan_batch, jobs, config))

    def _deliver(self, batch: list[QueuedMessage], jobs: list[tuple], results: list) -> None:
        for msg, job, result in zip(batch, jobs, results):
            if isinstance(result, BaseException):
                result = ScanOutcome(job[1].direction, failure=f"{type(result).__name__}: {result}")
            self._resolve(msg, result)

    # ------------------------------------------------------------ the threat engines

    async def _scan_with_engines(self, batch: list[QueuedMessage], jobs: list[tuple], config: Config) -> None:
        """One hand-off: the worker asks the broker for the engines' answers; outcomes come back through it."""
        from .scanworker import scan_with_engines

        for msg, (_, envelope) in zip(batch, jobs):
            self._at_workers[msg.mid] = (msg, {"From": msg.sender, "Rcpt": list(envelope.recipients),
                                               "IP": msg.remote_ip, "Hostname": config.system.hostname}, config)
        self._batch_seq += 1
        batch_id, closed = self._batch_seq, asyncio.Event()
        self._batches[batch_id] = closed
        try:
            done = await self._in_workers(scan_with_engines, jobs, config, str(self.broker_path), batch_id)
            failure = done[0] if isinstance(done, list) and done and isinstance(done[0], BaseException) else None
            # The outcomes travel on the broker's connection, not with the worker's return: read them all first
            # (a dead worker's connection closes too; one that never connected gives nothing to wait for).
            try:
                await asyncio.wait_for(closed.wait(), 5 if failure else 60)
            except asyncio.TimeoutError:
                pass
        finally:
            self._batches.pop(batch_id, None)
        for msg, job in zip(batch, jobs):  # what the worker never answered (it died, the daemon is stopping)
            if msg.mid in self._at_workers:
                why = failure or RuntimeError("the scanning worker gave no outcome")
                self._settle(msg.mid, ScanOutcome(job[1].direction, failure=f"{type(why).__name__}: {why}"))

    def _settle(self, mid: int, outcome: ScanOutcome) -> None:
        found = self._at_workers.pop(mid, None)
        if found is not None:  # once per message, whoever is first
            self._resolve(found[0], outcome)

    async def _serve_worker(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One worker's batch: its EngineWork in, the engines' answers out, its outcomes in."""
        asked: set[asyncio.Task] = set()
        batch = None
        try:
            while (frame := await frames.read(reader)) is not None:
                kind, mid, payload = frame
                if kind == "batch":
                    batch = mid
                elif kind == "outcome":
                    self._settle(mid, payload)
                elif kind == "work":
                    task = asyncio.get_running_loop().create_task(self._examine(mid, payload, writer))
                    asked.add(task)
                    task.add_done_callback(asked.discard)
        finally:
            for task in asked:
                task.cancel()
            writer.close()
            if batch in self._batches:
                self._batches[batch].set()

    async def _examine(self, mid: int, work, writer: asyncio.StreamWriter) -> None:
        """The engines answer each message on its own time: a slow one holds up no other."""
        found = self._at_workers.get(mid)
        if found is None:
            writer.write(frames.pack(("settled", mid, None)))
            return
        msg, envelope, config = found
        try:
            answers = await self.engines.examine(mid, msg.content, envelope, work, config)
        except Exception as e:  # never leave an accepted message without a way out of the queue
            log.exception("MID %d: the engines failed", mid)
            self._settle(mid, ScanOutcome(direction_of(msg, config), failure=f"{type(e).__name__}: {e}"))
            writer.write(frames.pack(("settled", mid, None)))
            return
        writer.write(frames.pack(("answers", mid, answers)))

    async def _header_from_sdr(self, msg: QueuedMessage) -> None:
        """After DATA: the reputation of the header From domain too, when it differs from the envelope's."""
        m = _HEADER_FROM.search(msg.content, 0, 64 * 1024)
        if m is None:
            return
        domain = m.group(1).decode("ascii", "replace").lower()
        if msg.sender.lower().endswith("@" + domain):
            return
        verdict = await self.reputation.domain(domain)
        self.emit(StageVerdict(msg.mid, "sdr_header_from", verdict.verdict.upper(),
                               f"{domain}" + (f" {verdict.category}" if verdict.category else "")))
