"""The relay service: listeners, the queue and delivery, following the configuration.

Runs inside the daemon's event loop. A committed change of the listeners
re-binds them (sessions already open finish on the old ones); everything
else is read from the snapshot at the moment it is needed, so a message in
flight finishes under the snapshot its attempt started with.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections import defaultdict, deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from asyncos_cli.config.schema import Config, MailFlowPolicy
from asyncos_cli.events import Event
from asyncos_cli.events.mail import MessageFinished, PolicyMatched

from .delivery import DeliveryManager
from .dsn import build as build_dsn
from .listener import make_server
from .spool import (
    BOUNCED,
    DELIVERED,
    DROPPED,
    QUARANTINED,
    SPLIT,
    QueuedMessage,
    Recipient,
    Spool,
)

log = logging.getLogger("asyncos.relay")

#: The threat engines' stages (scanning.engines).
ENGINE_STAGES = ("antispam", "antivirus", "file_reputation")

#: Messages handed to a worker in one task, at most (one hand-off costs about as much as a small scan).
SCAN_BATCH = 16

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_HEADER_FROM = re.compile(rb"(?im)^from:[^\r\n]*?@([a-z0-9.-]+\.[a-z]{2,})")
_CONTENT_TYPE = re.compile(rb"(?im)^content-type:[ \t]*(?:\r?\n[ \t]+)?([a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+)")
_DISPOSITION = re.compile(rb"(?im)^content-disposition:[ \t]*(?:\r?\n[ \t]+)?attachment")


def may_have_attachments(content: bytes) -> bool:
    """False only for a single text part with no attachment disposition: the one shape with nothing to extract."""
    end = _HEAD_END.search(content, 0, 256 * 1024)
    head = content[: end.start() if end else 256 * 1024]
    m = _CONTENT_TYPE.search(head)
    if m is not None and not m.group(1).lower().startswith(b"text/"):
        return True  # multipart/*, application/*, image/*, ...
    return _DISPOSITION.search(head) is not None


@dataclass
class Counters:
    """The `status` counters of the appliance (since the daemon started)."""

    messages_received: int = 0
    recipients_received: int = 0
    rejected_recipients: int = 0
    generated_bounces: int = 0
    hard_bounced: int = 0
    soft_bounced: int = 0
    completed_recipients: int = 0
    dropped_recipients: int = 0
    #: Connections refused on the client's IP reputation (an SBRS sender group with a reject policy).
    stopped_by_ip_reputation: int = 0
    #: Senders refused at MAIL FROM on their domain's reputation (SDR).
    stopped_by_domain_reputation: int = 0


class Relay:
    def __init__(self, queue_dir: Path, config: Config, emit: Callable[[Event], None], tls_context,
                 clock: Callable[[], float] = time.time, keyring=None, quarantine_dir: Path | None = None,
                 maturity=None, engines=None):
        from asyncos_cli.events.system import ReputationProviderFailed
        from asyncos_cli.services.quarantine import QuarantineStore
        from asyncos_cli.services.reputation import ReputationService

        self.config = config
        #: services.maturity.SenderMaturity (first-seen sender domains), or None.
        self.maturity = maturity
        #: The awareness service's repeat clickers (the daemon keeps it current).
        self.repeat_clickers: frozenset = frozenset()
        self.reputation = ReputationService(
            config, keyring, on_failure=lambda provider, reason: emit(ReputationProviderFailed(provider, reason)))
        #: Opens the protected-attachment passphrases for the scanning workers.
        self.keyring = keyring
        #: services.engines.service.EngineService: clamd, Rspamd, file reputation (reached from this loop).
        if engines is None:
            from asyncos_cli.services.engines.service import EngineService

            engines = EngineService(config, keyring, emit)
        self.engines = engines
        self.quarantines = QuarantineStore(quarantine_dir or queue_dir.parent / "quarantine")
        self.emit = emit
        self.tls_context = tls_context
        self.clock = clock
        self.spool = Spool(queue_dir)
        self.delivery = DeliveryManager(self)
        self.counters = Counters()
        self._servers: dict[str, asyncio.AbstractServer] = {}
        self._suspended: set[str] = set()
        self._icid = 0
        self._connections: dict[str, int] = defaultdict(int)
        self._rate: dict[str, deque] = defaultdict(deque)
        self.listen_errors: dict[str, str] = {}
        self._scans: set[asyncio.Task] = set()
        self._to_scan: list[QueuedMessage] = []
        #: Messages the engines have answered for, waiting for the workers' second pass: (msg, job, config).
        self._examined: list = []
        self._pool = None
        self._blob = None
        self._blob_key = 0

    # ------------------------------------------------------------ life cycle

    async def start(self) -> None:
        self.spool.start()
        recovered = self.spool.recover()
        self.delivery.start()
        for msg in recovered:
            msg.next_attempt = 0.0  # resume at once after a restart
            # Scanned again: a rewrite (headers, stripped attachments) is not on disk, only the original.
            self.accepted(msg)
        if recovered:
            log.warning("queue resumed with %d messages", len(recovered))
        await self._bind(self.config)

    async def stop(self) -> None:
        for server in self._servers.values():
            server.close()
        self._servers.clear()
        await self.delivery.stop()
        await self.spool.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.engines.close()

    async def _bind(self, config: Config) -> None:
        loop = asyncio.get_running_loop()
        wanted = {l.name: l for l in config.listeners.listeners if l.enabled and l.name not in self._suspended}
        for name in list(self._servers):
            self._servers.pop(name).close()
        self.listen_errors.clear()
        for name, listener in wanted.items():
            try:
                self._servers[name] = await loop.create_server(
                    make_server(self, listener, config.system.hostname, self._tls_for(listener, config)),
                    listener.interface, listener.port, reuse_address=True,
                    # A flood waits in the accept queue and gets its 421 at once; with asyncio's default
                    # of 100 the kernel drops the handshake's last ACK and clients hang unanswered.
                    backlog=max(1024, listener.max_connections),
                )
            except OSError as e:
                self.listen_errors[name] = e.strerror or str(e)
                log.error("listener %s cannot listen on %s port %d: %s", name, listener.interface,
                          listener.port, e.strerror)

    def _tls_for(self, listener, config: Config):
        """The listener's server context: a callable from the daemon, or one context for all (tests)."""
        if callable(self.tls_context):
            try:
                return self.tls_context(listener, config)
            except Exception as e:  # a broken certificate must not keep the listener down: STARTTLS is off
                from asyncos_cli.events.system import ListenerTlsUnavailable

                log.error("listener %s: no TLS (%s)", listener.name, e)
                self.emit(ListenerTlsUnavailable(listener.name, str(e) or type(e).__name__,
                                                 listener.starttls == "required"))
                return None
        return self.tls_context

    def configure(self, config: Config) -> None:
        old, self.config = self.config, config
        self.reputation.configure(config)
        self.engines.configure(config)
        if (old.listeners != config.listeners or old.system.hostname != config.system.hostname
                or old.ssl != config.ssl or old.certificates != config.certificates):
            asyncio.get_running_loop().create_task(self._bind(config))

    # ------------------------------------------------------------ listeners and clients

    def next_icid(self) -> int:
        self._icid += 1
        return self._icid

    def connection_opened(self, ip: str) -> None:
        self._connections[ip] += 1

    def connection_closed(self, ip: str) -> None:
        self._connections[ip] -= 1
        if self._connections[ip] <= 0:
            self._connections.pop(ip, None)

    @property
    def open_connections(self) -> int:
        return sum(self._connections.values())

    def connections_from(self, ip: str) -> int:
        return self._connections.get(ip, 0)

    def within_rate(self, ip: str, policy: MailFlowPolicy) -> bool:
        if not policy.max_messages_per_hour:
            return True
        now = self.clock()
        q = self._rate[ip]
        while q and now - q[0] > 3600:
            q.popleft()
        if len(q) >= policy.max_messages_per_hour:
            return False
        q.append(now)
        return True

    async def suspend(self, name: str) -> None:
        self._suspended.add(name)
        await self._bind(self.config)

    async def resume(self, name: str) -> None:
        self._suspended.discard(name)
        await self._bind(self.config)

    # ------------------------------------------------------------ messages

    def accepted(self, msg: QueuedMessage) -> None:
        """A message is durable: scan it when there is scanning to do, then deliver it."""
        if msg.sdr:
            from asyncos_cli.events.mail import StageVerdict

            verdict, _, category = msg.sdr.partition(":")
            self.emit(StageVerdict(msg.mid, "sdr", verdict.upper(), category))
        if not self._needs_scan(msg):
            # Nothing configured could look at it: no parsing cost. Its policy is still recorded (tracking,
            # mail_logs, consolidated events): with one policy per direction it is that direction's DEFAULT.
            direction = self._direction(msg, self.config)
            self.emit(PolicyMatched(msg.mid, getattr(self.config.mail_policies, direction)[-1].name, direction, True))
            self.delivery.submit(msg)
            return
        # The messages of one group commit arrive in one loop turn: they go to the workers together.
        self._to_scan.append(msg)
        if len(self._to_scan) == 1:
            asyncio.get_running_loop().call_soon(self._dispatch_scans)

    def _dispatch_scans(self) -> None:
        batch, self._to_scan = self._to_scan, []
        workers = os.cpu_count() or 1
        size = min(SCAN_BATCH, max(1, -(-len(batch) // workers)))  # every worker gets a share
        for i in range(0, len(batch), size):
            task = asyncio.get_running_loop().create_task(self._scan(batch[i:i + size]))
            self._scans.add(task)
            task.add_done_callback(self._scans.discard)

    def _needs_scan(self, msg: QueuedMessage) -> bool:
        config = self.config
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
            import os
            from concurrent.futures import ProcessPoolExecutor

            # spawn, not fork: the daemon has threads, and a forked copy of their locks can deadlock.
            self._pool = ProcessPoolExecutor(max_workers=os.cpu_count() or 1,
                                             mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    @staticmethod
    def _direction(msg: QueuedMessage, config: Config) -> str:
        """Mail from a private listener is outgoing; every other message incoming."""
        listener = config.listeners.get(msg.listener)
        return "outgoing" if listener is not None and listener.kind == "private" else "incoming"

    def _jobs(self, batch: list[QueuedMessage], config: Config) -> list[tuple]:
        from scanning.pipeline import Envelope

        jobs = []
        for msg in batch:
            direction = self._direction(msg, config)
            verdict, _, category = msg.sdr.partition(":")
            jobs.append((msg.content, Envelope(msg.sender, tuple(r.address for r in msg.pending()), direction,
                                               msg.remote_ip, msg.mid, self._maturity_of(msg.sender), verdict,
                                               category)))
        return jobs

    async def _in_workers(self, function, jobs: list[tuple], config: Config) -> list:
        """``function`` (scanning.worker) over the jobs in a worker; when the hand-off fails, that exception each."""
        try:
            key, blob = self._snapshot_blob(config)
            return await asyncio.get_running_loop().run_in_executor(self._workers(), function, jobs, key, blob)
        except Exception as e:  # the scan failed: the messages are not lost, they go on unscanned and say so
            from concurrent.futures.process import BrokenProcessPool

            if isinstance(e, BrokenProcessPool):  # a worker died (killed, out of memory): a fresh pool next time
                log.error("a scanning worker died; starting new workers")
                self._pool = None
            return [e] * len(jobs)

    async def _scan(self, batch: list[QueuedMessage]) -> None:
        from scanning.worker import scan_batch

        config = self.config  # the snapshot these messages are scanned under
        if self.reputation.can_answer("domain") and config.reputation.sdr_enabled:
            await asyncio.gather(*(self._header_from_sdr(m) for m in batch))
        jobs = self._jobs(batch, config)
        if self.engines.wanted(config):
            # The engines answer each message on its own time: a slow one must not hold up the others.
            await asyncio.gather(*(self._examine(msg, job, work, config) for msg, job, work
                                   in zip(batch, jobs, await self._engine_work(batch, jobs, config))))
            return
        await self._finish_scan(batch, jobs, await self._in_workers(scan_batch, jobs, config))

    async def _engine_work(self, batch: list[QueuedMessage], jobs: list[tuple], config: Config) -> list:
        """What each message needs from the engines; a single text part needs no parse to know: nothing."""
        from scanning.engines import EngineWork
        from scanning.worker import work_batch

        works: list = [EngineWork() for _ in batch]
        parse = [i for i, msg in enumerate(batch) if may_have_attachments(msg.content)]
        if parse:
            for i, work in zip(parse, await self._in_workers(work_batch, [jobs[i] for i in parse], config)):
                works[i] = work
        return works

    async def _examine(self, msg: QueuedMessage, job: tuple, work, config: Config) -> None:
        from scanning.engines import EngineResults

        raw, envelope = job
        if isinstance(work, BaseException):
            await self._finish_scan([msg], [job], [work])
            return
        try:
            answers = await self.engines.examine(msg.mid, raw, {"From": msg.sender, "Rcpt": list(envelope.recipients),
                                                                "IP": msg.remote_ip,
                                                                "Hostname": config.system.hostname}, work, config)
        except Exception as e:  # never leave an accepted message without a way out of the queue
            log.exception("MID %d: the engines failed", msg.mid)
            await self._finish_scan([msg], [job], [e])
            return
        # The answers that arrive in one loop turn go to the workers together, as accepted messages do.
        self._examined.append((msg, (raw, envelope, EngineResults(**answers)), config))
        if len(self._examined) == 1:
            asyncio.get_running_loop().call_soon(self._dispatch_examined)

    def _dispatch_examined(self) -> None:
        ready, self._examined = self._examined, []
        by_config: dict[int, list] = {}
        for item in ready:
            by_config.setdefault(id(item[2]), []).append(item)
        for items in by_config.values():
            for i in range(0, len(items), SCAN_BATCH):
                task = asyncio.get_running_loop().create_task(self._scan_examined(items[i:i + SCAN_BATCH]))
                self._scans.add(task)
                task.add_done_callback(self._scans.discard)

    async def _scan_examined(self, items: list) -> None:
        from scanning.worker import scan_batch

        batch, jobs, config = [m for m, _, _ in items], [j for _, j, _ in items], items[0][2]
        await self._finish_scan(batch, jobs, await self._in_workers(scan_batch, jobs, config))

    async def _finish_scan(self, batch: list[QueuedMessage], jobs: list[tuple], outcomes: list) -> None:
        from asyncos_cli.events.mail import StageVerdict

        for msg, job, results in zip(batch, jobs, outcomes):
            direction = job[1].direction
            if isinstance(results, BaseException):
                self.emit(StageVerdict(msg.mid, "scanning", "UNSCANNABLE", f"{type(results).__name__}: {results}"))
                self.delivery.submit(msg)
                continue
            self._report(msg, results, direction)
            copies = await self._split(msg, results, direction)
            for copy, result in zip(copies, results):
                await self._apply(copy, result)

    async def _header_from_sdr(self, msg: QueuedMessage) -> None:
        """After DATA: the reputation of the header From domain too, when it differs from the envelope's."""
        from asyncos_cli.events.mail import StageVerdict

        m = _HEADER_FROM.search(msg.content, 0, 64 * 1024)
        if m is None:
            return
        domain = m.group(1).decode("ascii", "replace").lower()
        if msg.sender.lower().endswith("@" + domain):
            return
        verdict = await self.reputation.domain(domain)
        self.emit(StageVerdict(msg.mid, "sdr_header_from", verdict.verdict.upper(),
                               f"{domain}" + (f" {verdict.category}" if verdict.category else "")))

    def _maturity_of(self, sender: str) -> int | None:
        if self.maturity is None or "@" not in sender:
            return None
        return self.maturity.days(sender.rpartition("@")[2])

    def _report(self, msg: QueuedMessage, results: list[dict], direction: str) -> None:
        from asyncos_cli.events.mail import (
            AttachmentsFound,
            AttachmentUnlocked,
            AttachmentUrl,
            CustomLogEntry,
            DlpViolation,
            PolicyMatched,
            StageVerdict,
        )

        seen: set = set()

        def once(event) -> None:
            if event not in seen:
                seen.add(event)
                self.emit(event)

        if results[0]["attachments"]:
            self.emit(AttachmentsFound(msg.mid, tuple(tuple(a) for a in results[0]["attachments"])))
        # The first policy's recipients stay on this MID; the others' get their line with their new MID.
        self.emit(PolicyMatched(msg.mid, results[0]["policy"], direction, len(results) == 1))
        for r in results:
            for name, label, protection in r["unlocked"]:
                once(AttachmentUnlocked(msg.mid, name, label, protection))
            for u in r["urls"]:
                once(AttachmentUrl(msg.mid, u["url"], u["attachment"], u["verdict"], u["source"]))
            for d in r["dlp"]:
                once(DlpViolation(msg.mid, d["policy"], d["severity"], d["risk_factor"], d["action"],
                                  tuple((m["classifier"], m["confidence"], m["masked"], m["where"])
                                        for m in d["matches"])))
            for stage, verdict, detail in r["stages"]:
                # An engine that is on but passed this message by (its size, the policy) says so in the log.
                if verdict != "NOT_CONFIGURED" and (verdict != "SKIPPED" or stage in ENGINE_STAGES):
                    once(StageVerdict(msg.mid, stage, verdict, detail))
            for text in r["filters"]["log_entries"]:
                once(CustomLogEntry(msg.mid, text))
            for kind in ("notify", "bcc"):
                if r["filters"][kind]:
                    once(StageVerdict(msg.mid, kind, "NOT_SUPPORTED", f"{kind}() to {', '.join(r['filters'][kind])} "
                                      "is not supported yet: nothing was sent"))

    async def _split(self, msg: QueuedMessage, results: list[dict], direction: str) -> list[QueuedMessage]:
        """One message per mail policy: the first policy keeps the MID, the others get new ones."""
        if len(results) == 1:
            return [msg]
        from asyncos_cli.events.mail import MessageSplit, PolicyMatched

        copies = [msg]
        by_address = {r.address: r for r in msg.pending()}
        for result in results[1:]:
            moved = [by_address[a] for a in result["recipients"] if a in by_address]
            child = QueuedMessage(
                mid=self.spool.next_mid(), icid=msg.icid, sender=msg.sender,
                recipients=[Recipient(r.rid, r.address) for r in moved], received=msg.received,
                listener=msg.listener, smtputf8=msg.smtputf8, size=msg.size, message_id=msg.message_id,
                subject=msg.subject, remote_ip=msg.remote_ip, content=msg.content)
            await self.spool.store(child)  # durable before the parent lets go of these recipients
            for r in moved:
                r.state, r.detail = SPLIT, f"MID {child.mid}"
            self.emit(MessageSplit(msg.mid, child.mid, result["policy"], tuple(result["recipients"])))
            self.emit(PolicyMatched(child.mid, result["policy"], direction, True))
            copies.append(child)
        await asyncio.to_thread(self.spool.save_state, msg)
        return copies

    async def _apply(self, msg: QueuedMessage, result: dict) -> None:
        action = result["action"]
        by = result["final_by"] or "a message filter"
        engine = by.split(" ", 1)[0] in ("antivirus", "antispam", "file_reputation")
        by = by if by in ("url_scanning", "unscannable") or by.startswith("DLP policy") or engine else f"filter {by}"
        if result["content"] is not None:
            msg.content = result["content"]
            msg.size = len(msg.content)
        if action == "drop":
            for r in msg.pending():
                r.state, r.detail = DROPPED, by
                self.counters.dropped_recipients += 1
            await self.finish(msg)
        elif action == "bounce":
            self.delivery.bounce_all(msg, f"550 5.7.1 Bounced by {by}")
            await self.finish(msg)
        elif action == "quarantine":
            await self._quarantine(msg, result["quarantine"] or "Policy", by, result["policy"])
        elif action == "defer":
            self._defer(msg, result)
        else:
            self.delivery.submit(msg)
        await self._notify(msg, result)

    def _defer(self, msg: QueuedMessage, result: dict) -> None:
        """An engine was unavailable: the message stays queued (durable already) and is scanned again later."""
        from asyncos_cli.events.engines import MessageDeferred

        stage = result["final_by"].split(" ", 1)[0]
        retry = getattr(self.config, stage).retry_seconds if stage in ("antivirus", "antispam") else 60
        self.emit(MessageDeferred(msg.mid, f"{stage} engine unavailable", retry))
        asyncio.get_running_loop().call_later(retry, self.accepted, msg)

    async def _notify(self, msg: QueuedMessage, result: dict) -> None:
        """The notifications the engines' actions asked for: a short message, queued like a DSN."""
        wanted = result.get("notifications") or []
        if not wanted:
            return
        from .notify import build as build_notice

        for note in wanted:
            to = {"sender": [msg.sender] if msg.sender else [],
                  "recipients": [r.address for r in msg.recipients]}.get(note["to"], [note["to"]])
            if not to:
                continue
            content = build_notice(msg, note["stage"], note["verdict"], result["policy"], self.config.system.hostname)
            notice = QueuedMessage(mid=self.spool.next_mid(), icid=0, sender="", received=self.clock(),
                                   recipients=[Recipient(i, a) for i, a in enumerate(to)], listener="(notify)",
                                   size=len(content), subject="Message notification", is_bounce=True,
                                   content=content)
            await self.spool.store(notice)
            self.delivery.submit(notice)

    async def _quarantine(self, msg: QueuedMessage, name: str, by: str, policy: str) -> None:
        rcpts = [r.address for r in msg.pending()]
        await asyncio.to_thread(self.quarantines.put, name, msg.mid, msg.sender, rcpts, msg.subject, msg.content,
                                by, policy)
        for r in msg.pending():  # held on disk (fsynced) before the queue lets go
            r.state, r.detail = QUARANTINED, f'quarantined to "{name}" ({by})'
        await self.finish(msg)

    async def expire_quarantines(self, now: float | None = None) -> int:
        """Carry out each quarantine's expiry action on messages held past its retention."""
        from asyncos_cli.events.mail import QuarantineExpired

        done = 0
        for q in self.config.quarantines.quarantines:
            for held in self.quarantines.expired(q.name, q.retention_days, now):
                if q.expiry_action == "release":
                    await self.release(q.name, held.mid)
                elif self.quarantines.remove(q.name, held.mid):
                    self.emit(QuarantineExpired(q.name, held.mid, q.retention_days))
                done += 1
        return done

    async def release(self, name: str, mid: int) -> int:
        """Put a held message back on its way (a new MID, delivered without scanning again)."""
        from asyncos_cli.events.mail import QuarantineReleased

        held = self.quarantines.get(name, mid)
        if held is None:
            raise KeyError(f"no message {mid} in quarantine {name}")
        content = self.quarantines.content(name, mid)
        msg = QueuedMessage(mid=self.spool.next_mid(), icid=0, sender=held.sender,
                            recipients=[Recipient(i, a) for i, a in enumerate(held.recipients)],
                            received=self.clock(), listener="(quarantine)", size=len(content),
                            subject=held.subject, content=content)
        await self.spool.store(msg)
        self.quarantines.remove(name, mid)  # after the queue holds it: never in neither place
        self.emit(QuarantineReleased(name, mid, msg.mid))
        self.delivery.submit(msg)
        return msg.mid

    async def finish(self, msg: QueuedMessage) -> None:
        """Every recipient has its fate: send the DSN (if any), record, and leave the queue."""
        bounced = [r for r in msg.recipients if r.state == BOUNCED]
        if bounced and msg.sender and not msg.is_bounce:
            await self._queue_bounce(msg, bounced)
        self.spool.remove(msg)  # two unlinks: cheaper inline than a hand-off to a thread
        states = {r.state for r in msg.recipients} - {SPLIT}
        if states == {QUARANTINED}:
            self.emit(MessageFinished(msg.mid, "QUARANTINED", next(r.detail for r in msg.recipients
                                                                   if r.state == QUARANTINED)))
        elif states == {DELIVERED}:
            self.emit(MessageFinished(msg.mid, "DELIVERED"))
        elif DELIVERED in states:
            self.emit(MessageFinished(msg.mid, "DELIVERED", "partly bounced"))
        elif BOUNCED in states:
            self.emit(MessageFinished(msg.mid, "BOUNCED", "Bounced"))
        else:
            by = next((r.detail for r in msg.recipients if r.detail), "policy")
            self.emit(MessageFinished(msg.mid, "DROPPED", f"Dropped by {by}"))

    async def _queue_bounce(self, original: QueuedMessage, bounced: list[Recipient]) -> None:
        content = build_dsn(original, bounced, self.config.system.hostname)
        dsn = QueuedMessage(
            mid=self.spool.next_mid(),
            icid=0,
            sender="",
            recipients=[Recipient(0, original.sender)],
            received=self.clock(),
            listener="(bounce)",
            smtputf8=not original.sender.isascii(),
            size=len(content),
            subject="Undelivered Mail Returned to Sender",
            is_bounce=True,
            content=content,
        )
        await self.spool.store(dsn)
        self.counters.generated_bounces += 1
        self.delivery.submit(dsn)

    # ------------------------------------------------------------ views for the control channel

    def status(self) -> dict:
        return {
            "counters": asdict(self.counters),
            "queued": self.delivery.queued,
            "oldest": self.delivery.oldest(),
            "paused": self.delivery.paused,
            "listeners": [
                {"name": l.name, "kind": l.kind, "interface": l.interface, "port": l.port,
                 "state": ("suspended" if l.name in self._suspended else
                           f"error: {self.listen_errors[l.name]}" if l.name in self.listen_errors else
                           "listening" if l.name in self._servers else "disabled")}
                for l in self.config.listeners.listeners
            ],
        }
