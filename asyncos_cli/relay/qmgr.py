"""The queue manager: the only writer of queue state.

Messages enter through ``receive`` (the listener) and leave through
``finish``; in between the queue manager hands each to the scan queue,
carries out its ScanOutcome (splits it between mail policies, delivers,
drops, bounces, quarantines, requeues), schedules delivery attempts and
retries, and releases from quarantine. Calls go one way: the listener and
the control channel call it; it calls the scan queue (a future comes back),
the outcome helpers and the delivery agent (which only records what the far
end answered): Postfix's qmgr(8) beside cleanup(8) and smtp(8).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import re
from typing import Callable, Protocol

from asyncos_cli.config.addresses import AddressError, ascii_domain, split
from asyncos_cli.config.schema import BounceProfile, Config
from asyncos_cli.events.engines import MessageDeferred
from asyncos_cli.events.mail import (
    BounceGenerated,
    BounceNotSent,
    DelayWarningGenerated,
    MessageFinished,
    MessageReceived,
    MessageSplit,
    PolicyMatched,
    QuarantineDeleted,
    QuarantineExpired,
    QuarantineReleased,
    SdrConsolidated,
    StageVerdict,
)
from scanning.verdict import Action, PolicyOutcome, ScanOutcome

from . import fates, outcome
from .delivery import IDLE_SECONDS, DeliveryAgent
from .dsn import build as build_dsn
from .fates import Emit
from .headers import strip_fields
from .signing import sign_if_wanted
from .spool import (
    BOUNCED,
    DELIVERED,
    QUARANTINED,
    SPLIT,
    QueuedMessage,
    Recipient,
    Spool,
)

log = logging.getLogger("asyncos.relay")


class Scanner(Protocol):
    """The scan queue as the queue manager uses it (relay.scanq.ScanQueue)."""

    def needs_scan(self, msg: QueuedMessage) -> bool: ...

    def default_outcome(self, msg: QueuedMessage) -> ScanOutcome: ...

    def scan(self, msg: QueuedMessage) -> asyncio.Future: ...


class QueueManager:
    def __init__(self, spool: Spool, quarantines, scanner: Scanner, agent: DeliveryAgent, emit: Emit,
                 clock: Callable[[], float], config: Callable[[], Config]):
        self.spool = spool
        self.quarantines = quarantines
        self.scanner = scanner
        self.agent = agent
        self.emit = emit
        self.clock = clock
        self.config = config
        self.paused = False
        self._heap: list[tuple[float, int]] = []
        self._messages: dict[int, QueuedMessage] = {}
        self._in_flight: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        #: MID -> its delivery attempt under way.
        self._attempts: dict[int, asyncio.Task] = {}

    # ------------------------------------------------------------ life cycle

    def start(self) -> int:
        """Open the queue, resume what a stop left in it; the number of messages resumed."""
        self.spool.start()
        recovered = self.spool.recover()
        self._task = asyncio.get_running_loop().create_task(self._run())
        for msg in recovered:
            msg.next_attempt = 0.0  # resume at once after a restart
            # Scanned again: a rewrite (headers, stripped attachments) is not on disk, only the original.
            self._scan(msg)
        return len(recovered)

    async def stop(self) -> None:
        await self.agent.stop()
        if self._task:
            self._task.cancel()
        for t in [*self._tasks, *self._attempts.values()]:
            t.cancel()
        await asyncio.gather(*self._tasks, *self._attempts.values(), return_exceptions=True)
        await self.spool.stop()

    # ------------------------------------------------------------ entering the queue

    def next_mid(self) -> int:
        return self.spool.next_mid()

    async def receive(self, msg: QueuedMessage) -> None:
        """A message the listener accepted: durable before its 250 (OSError when the disk refuses)."""
        await self.spool.store(msg)
        self.emit(MessageReceived(msg.mid, msg.icid, msg.sender, tuple(r.address for r in msg.recipients), msg.size,
                                  msg.subject, msg.message_id, msg.remote_ip, msg.helo, msg.header_from,
                                  msg.reply_to))
        if msg.sdr:
            verdict, _, category = msg.sdr.partition(":")
            self.emit(StageVerdict(msg.mid, "sdr", verdict.upper(), category))
            self.emit(SdrConsolidated(msg.mid, "", msg.helo, _domain(msg.sender), _domain(msg.header_from),
                                      _domain(msg.reply_to), verdict, category, msg.sender_maturity))
        self._scan(msg)

    async def generate(self, sender: str, to: list[str], content: bytes, listener: str, subject: str) -> QueuedMessage:
        """A message the gateway writes itself (a DSN, a notification): queued and delivered, never scanned."""
        msg = QueuedMessage(mid=self.spool.next_mid(), icid=0, sender=sender, received=self.clock(),
                            recipients=[Recipient(i, a) for i, a in enumerate(to)], listener=listener,
                            smtputf8=not all(a.isascii() for a in to), size=len(content), subject=subject,
                            is_bounce=True, content=content)
        await self.spool.store(msg)
        self.submit(msg)
        return msg

    def submit(self, msg: QueuedMessage) -> None:
        """Onto the active queue: delivered when its next attempt is due (stripheaders applied first)."""
        names = self.config().strip_headers.headers
        if names and not msg.is_bounce:
            msg.content = strip_fields(msg.content, frozenset(n.lower().encode() for n in names))
        self._messages[msg.mid] = msg
        heapq.heappush(self._heap, (msg.next_attempt, msg.mid))
        self._wake.set()

    def requeue_later(self, msg: QueuedMessage, seconds: float) -> None:
        """Back to the start (scanned again) after ``seconds``: it stays on disk meanwhile."""
        asyncio.get_running_loop().call_later(seconds, self._scan, msg)

    # ------------------------------------------------------------ the scan and its outcome

    def _scan(self, msg: QueuedMessage) -> None:
        if not self.scanner.needs_scan(msg):
            self._carry_out(msg, self.scanner.default_outcome(msg))  # no parse, no task: the fast path
            return
        future = self.scanner.scan(msg)
        future.add_done_callback(lambda f: None if f.cancelled() else self._carry_out(msg, f.result()))

    def _carry_out(self, msg: QueuedMessage, result: ScanOutcome) -> None:
        outcome.report(self.emit, msg, result)
        if result.failure:  # the message goes on unscanned, and its log says so
            self.submit(msg)
        elif outcome.simple(result) and not msg.dmarc_quarantine:
            outcome.rewrite(msg, result.copies[0])
            self.submit(msg)
        else:
            self._spawn(self._carry_out_copies(msg, result))

    async def _carry_out_copies(self, msg: QueuedMessage, result: ScanOutcome) -> None:
        copies = await self.split(msg, [(c.policy, c.recipients) for c in result.copies[1:]])
        for copy, policy in zip(copies[1:], result.copies[1:]):
            self.emit(PolicyMatched(copy.mid, policy.policy, result.direction, True))
        for copy, policy in zip(copies, result.copies):
            await self._carry_out_copy(copy, policy)

    async def _carry_out_copy(self, msg: QueuedMessage, result: PolicyOutcome) -> None:
        outcome.rewrite(msg, result)
        by = result.decided_by
        if result.action is Action.DROP:
            await self.drop_now(msg, by)
        elif result.action is Action.BOUNCE:
            await self.bounce_now(msg, f"550 5.7.1 Bounced by {by}")
        elif result.action is Action.QUARANTINE:
            await self.quarantine(msg, result.quarantine or "Policy", by, result.policy)
        elif result.action is Action.DEFER:  # an engine was unavailable: scanned again later
            retry = outcome.retry_seconds(self.config(), result)
            self.emit(MessageDeferred(msg.mid, f"{result.deferred_stage} engine unavailable", retry))
            self.requeue_later(msg, retry)
        elif msg.dmarc_quarantine:  # the DMARC profile quarantines what the domain's policy asks to
            await self.quarantine(msg, msg.dmarc_quarantine, "DMARC", result.policy)
        else:
            self.submit(msg)
        for to, content in outcome.notices(msg, result, self.config().system.hostname):
            await self.generate("", to, content, "(notify)", "Message notification")

    # ------------------------------------------------------------ the active queue

    async def _run(self) -> None:
        while True:
            now = self.clock()
            while self._heap and self._heap[0][0] <= now and not self.paused:
                _, mid = heapq.heappop(self._heap)
                msg = self._messages.get(mid)
                if msg is None or mid in self._in_flight:
                    continue
                self._in_flight.add(mid)
                task = self._attempts[mid] = asyncio.get_running_loop().create_task(self._attempt(msg))
                task.add_done_callback(lambda _, mid=mid: self._attempts.pop(mid, None))
            self._wake.clear()
            self.agent.close_idle()
            timeout = max(0.0, self._heap[0][0] - now) if self._heap and not self.paused else None
            timeout = IDLE_SECONDS if timeout is None else min(timeout, IDLE_SECONDS)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, msg: QueuedMessage) -> None:
        config = self.config()  # one snapshot for the whole attempt
        try:
            # The bounce profile's time in queue is checked before the attempt, as the appliance does: a
            # recipient past it hard bounces instead of being tried once more.
            self._expire(msg, config, self.clock())
            if msg.pending():
                await sign_if_wanted(msg, config, self.agent.reveal, self.emit)  # after every content change
                await self.agent.attempt(msg, config)
            await self._after_attempt(msg, config)
        finally:
            self._in_flight.discard(msg.mid)

    def _expire(self, msg: QueuedMessage, config: Config, now: float) -> None:
        for r in msg.pending():
            if now - msg.received >= bounce_profile(config, msg, r).max_queue_seconds:
                fates.bounce(self.emit, msg, [r], f"421 4.4.7 Message expired in the queue: "
                                                  f"{msg.last_error or 'no delivery'}")

    async def _after_attempt(self, msg: QueuedMessage, config: Config) -> None:
        now = self.clock()
        msg.attempts += 1
        waits = []
        for r in msg.pending():
            profile = bounce_profile(config, msg, r)
            if msg.attempts > profile.max_retries:  # the first attempt is not a retry
                fates.bounce(self.emit, msg, [r], f"421 4.4.7 Maximum retries reached ({profile.max_retries}): "
                                                  f"{msg.last_error or 'no delivery'}")
            else:
                waits.append(min(profile.initial_retry_seconds * (2 ** (msg.attempts - 1)),
                                 profile.max_retry_seconds))
        if not waits:
            await self.finish(msg)
            return
        await self._warn_of_delay(msg, config, now)
        msg.next_attempt = now + min(waits)
        await asyncio.to_thread(self.spool.save_state, msg)
        heapq.heappush(self._heap, (msg.next_attempt, msg.mid))
        self._wake.set()

    async def _warn_of_delay(self, msg: QueuedMessage, config: Config, now: float) -> None:
        """A delay warning (a DSN with Action: delayed) when the profile asks for one and its interval passed."""
        if not msg.sender or msg.is_bounce:
            return
        for to, rcpts, profile in _by_bounce_address(config, msg, msg.pending()):
            if (profile.delay_warnings and msg.warnings_sent < profile.max_warnings
                    and now - msg.received >= profile.warning_interval_seconds * (msg.warnings_sent + 1)):
                content = build_dsn(msg, rcpts, config.system.hostname, delayed=True, rfc3464=profile.dsn_format)
                warning = await self.generate("", [to], content, "(bounce)", "Delayed Mail (still being retried)")
                msg.warnings_sent += 1
                self.emit(DelayWarningGenerated(warning.mid, msg.mid))
                return

    def deliver_now(self) -> int:
        """Every queued message becomes due at once (``delivernow``)."""
        self._heap = [(0.0, mid) for mid in self._messages if mid not in self._in_flight]
        heapq.heapify(self._heap)
        self._wake.set()
        return len(self._heap)

    async def drain(self, seconds: float) -> int:
        """Wait up to ``seconds`` for the delivery attempts under way, then stop those left (their messages stay
        queued and are tried again after resume: delivered at least once, never lost); how many were stopped."""
        deadline = asyncio.get_running_loop().time() + seconds
        while self._attempts and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        left = list(self._attempts.values())
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        self.agent.close_idle(older_than=0)
        return len(left)

    def pause(self, paused: bool) -> None:
        self.paused = paused
        if not paused:
            self.deliver_now()

    def redirect(self, target: str | None) -> None:
        """redirectrecipients: every delivery goes to ``target`` (HOST[:PORT]) until cleared or restart."""
        self.agent.redirect(target)
        self.deliver_now()

    # ------------------------------------------------------------ leaving the queue

    async def finish(self, msg: QueuedMessage) -> None:
        """Every recipient has its fate: send the DSN (if any), record, and leave the queue."""
        bounced = [r for r in msg.recipients if r.state == BOUNCED]
        if bounced and msg.sender and not msg.is_bounce:
            config = self.config()
            for to, rcpts, profile in _by_bounce_address(config, msg, bounced):
                if not profile.hard_bounce_messages:
                    self.emit(BounceNotSent(msg.mid, tuple(r.rid for r in rcpts), profile.name))
                    continue
                dsn = await self.generate("", [to], build_dsn(msg, rcpts, config.system.hostname,
                                                              rfc3464=profile.dsn_format),
                                          "(bounce)", "Undelivered Mail Returned to Sender")
                self.emit(BounceGenerated(dsn.mid, msg.mid))
        self.spool.remove(msg)  # two unlinks: cheaper inline than a hand-off to a thread
        self._messages.pop(msg.mid, None)
        self.emit(_finished(msg))

    async def bounce_now(self, msg: QueuedMessage, reply: str) -> None:
        """Every pending recipient bounces now (a filter's bounce() action)."""
        fates.bounce(self.emit, msg, msg.pending(), reply)
        await self.finish(msg)

    async def drop_now(self, msg: QueuedMessage, by: str) -> None:
        fates.drop(self.emit, msg, msg.pending(), by)
        await self.finish(msg)

    async def split(self, msg: QueuedMessage, groups: list[tuple[str, tuple[str, ...]]]) -> list[QueuedMessage]:
        """One message per further mail policy (policy, recipients): each gets a new MID, durable before the
        original lets go of its recipients."""
        copies = [msg]
        by_address = {r.address: r for r in msg.pending()}
        for policy, recipients in groups:
            moved = [by_address[a] for a in recipients if a in by_address]
            child = QueuedMessage(
                mid=self.spool.next_mid(), icid=msg.icid, sender=msg.sender,
                recipients=[Recipient(r.rid, r.address) for r in moved], received=msg.received,
                listener=msg.listener, smtputf8=msg.smtputf8, size=msg.size, message_id=msg.message_id,
                subject=msg.subject, remote_ip=msg.remote_ip, content=msg.content)
            await self.spool.store(child)
            for r in moved:
                r.state, r.detail = SPLIT, f"MID {child.mid}"
            self.emit(MessageSplit(msg.mid, child.mid, policy, tuple(recipients)))
            copies.append(child)
        if groups:
            await asyncio.to_thread(self.spool.save_state, msg)
        return copies

    async def quarantine(self, msg: QueuedMessage, name: str, by: str, policy: str) -> None:
        rcpts = [r.address for r in msg.pending()]
        await asyncio.to_thread(self.quarantines.put, name, msg.mid, msg.sender, rcpts, msg.subject, msg.content,
                                by, policy)
        for r in msg.pending():  # held on disk (fsynced) before the queue lets go
            r.state, r.detail = QUARANTINED, f'quarantined to "{name}" ({by})'
        await self.finish(msg)

    def delete_held(self, name: str, mid: int, user: str) -> bool:
        """Delete a held message for good (an administrator's decision); False when it was not held."""
        if not self.quarantines.remove(name, mid):
            return False
        self.emit(QuarantineDeleted(name, mid, user))
        return True

    async def release(self, name: str, mid: int, user: str = "") -> int:
        """Put a held message back on its way (a new MID, delivered without scanning again)."""
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
        self.emit(QuarantineReleased(name, mid, msg.mid, user))
        self.submit(msg)
        return msg.mid

    async def expire_quarantines(self, now: float | None = None) -> int:
        """Carry out each quarantine's expiry action on messages held past its retention."""
        done = 0
        for q in self.config().quarantines.quarantines:
            for held in self.quarantines.expired(q.name, q.retention_days, now):
                if q.expiry_action == "release":
                    await self.release(q.name, held.mid)
                elif self.quarantines.remove(q.name, held.mid):
                    self.emit(QuarantineExpired(q.name, held.mid, q.retention_days))
                done += 1
        return done

    # ------------------------------------------------------------ the queue commands

    @property
    def queued(self) -> int:
        return len(self._messages)

    def queued_messages(self) -> list[QueuedMessage]:
        return sorted(self._messages.values(), key=lambda m: m.mid)

    def oldest(self) -> float | None:
        return min((m.received for m in self._messages.values()), default=None)

    def find(self, mid: int) -> tuple[str, QueuedMessage | None, object]:
        """Where message ``mid`` is: ("queue", message, None), ("quarantine NAME", None, held) or ("", None, None)."""
        msg = self._messages.get(mid)
        if msg is not None:
            return "queue", msg, None
        for name in self.quarantines.names():
            held = self.quarantines.get(name, mid)
            if held is not None:
                return f"quarantine {name}", None, held
        return "", None, None

    def matching(self, by: str, value: str = "") -> list[tuple[QueuedMessage, list[Recipient]]]:
        """Queued recipients selected by 'all', 'sender' (address) or 'recipient' (address or domain)."""
        value = value.lower()
        out = []
        for msg in self.queued_messages():
            if by == "sender" and msg.sender.lower() != value:
                continue
            rcpts = [r for r in msg.pending()
                     if by != "recipient" or r.address.lower() == value or r.address.lower().endswith("@" + value)]
            if rcpts:
                out.append((msg, rcpts))
        return out

    async def settle(self, by: str, value: str, bounce: bool) -> dict:
        """deleterecipients / bouncerecipients: the chosen recipients get their fate now."""
        done, busy = 0, 0
        for msg, rcpts in self.matching(by, value):
            if msg.mid in self._in_flight:
                busy += len(rcpts)
                continue
            if bounce:
                fates.bounce(self.emit, msg, rcpts, "550 5.0.0 Bounced by an administrator (bouncerecipients)")
            else:
                fates.drop(self.emit, msg, rcpts, "an administrator (deleterecipients)")
            done += len(rcpts)
            if not msg.pending():
                await self.finish(msg)
            else:
                await asyncio.to_thread(self.spool.save_state, msg)
        return {"recipients": done, "in_delivery": busy}

    def host_summary(self) -> list[dict]:
        """tophosts / hoststatus: per destination domain, what is queued for it and how delivery to it went."""
        hosts: dict[str, dict] = {}

        def host(domain: str) -> dict:
            return hosts.setdefault(domain, {"domain": domain, "pending": 0, "in_delivery": 0, "unattempted": 0,
                                             "last_error": "", "oldest": None, "youngest": None, "delivered": 0,
                                             "hard_bounced": 0, "soft_bounced": 0, "connections_out": 0,
                                             "down": False, "last_activity": 0.0, "last_5xx": ""})

        for msg in self._messages.values():
            for r in msg.pending():
                try:
                    domain = ascii_domain(split(r.address)[1])
                except AddressError:
                    continue
                h = host(domain)
                h["pending"] += 1
                if msg.attempts == 0:
                    h["unattempted"] += 1
                if msg.mid in self._in_flight:
                    h["in_delivery"] += 1
                if msg.last_error:
                    h["last_error"] = msg.last_error
                h["oldest"] = min(h["oldest"] or msg.received, msg.received)
                h["youngest"] = max(h["youngest"] or msg.received, msg.received)
        for domain, stats in self.agent.hosts.items():
            host(domain).update(delivered=stats.delivered, hard_bounced=stats.hard_bounced,
                                soft_bounced=stats.soft_bounced, connections_out=stats.connections_out,
                                down=stats.down, last_activity=stats.last_activity, last_5xx=stats.last_5xx)
        return sorted(hosts.values(), key=lambda h: -h["pending"])


def _finished(msg: QueuedMessage) -> MessageFinished:
    states = {r.state for r in msg.recipients} - {SPLIT}
    if states == {QUARANTINED}:
        return MessageFinished(msg.mid, "QUARANTINED", next(r.detail for r in msg.recipients if r.state == QUARANTINED))
    if states == {DELIVERED}:
        return MessageFinished(msg.mid, "DELIVERED")
    if DELIVERED in states:
        return MessageFinished(msg.mid, "DELIVERED", "partly bounced")
    if BOUNCED in states:
        return MessageFinished(msg.mid, "BOUNCED", "Bounced")
    by = next((r.detail for r in msg.recipients if r.detail), "policy")
    return MessageFinished(msg.mid, "DROPPED", f"Dropped by {by}")


def _domain(address_text: str) -> str:
    """The domain of an address, or of the first address of a header ("Bank <svc@bank.example>")."""
    m = re.search(r"@([A-Za-z0-9.-]+)", address_text)
    return m.group(1).lower().rstrip(".") if m else ""


def bounce_profile(config: Config, msg: QueuedMessage, rcpt: Recipient) -> BounceProfile:
    """The recipient's bounce profile: its destination's (destconfig), else the receiving listener's."""
    name = config.delivery.for_domain(rcpt.address.rpartition("@")[2]).bounce_profile
    if not name:
        listener = config.listeners.get(msg.listener)
        name = listener.bounce_profile if listener is not None else "Default"
    return config.bounces.profile(name)


def _by_bounce_address(config: Config, msg: QueuedMessage, rcpts: list[Recipient]):
    """(address the bounce goes to, its recipients, their profile) per profile: a profile may send them elsewhere."""
    groups: dict[str, tuple[list[Recipient], BounceProfile]] = {}
    for r in rcpts:
        profile = bounce_profile(config, msg, r)
        groups.setdefault(profile.name, ([], profile))[0].append(r)
    return [(profile.bounce_address or msg.sender, group, profile) for group, profile in groups.values()]
