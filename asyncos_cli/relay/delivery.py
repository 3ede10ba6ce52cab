"""Delivery: routes or MX, TLS per destination, per-recipient results, retries, bounces.

One attempt per message groups its pending recipients by domain and speaks
SMTP (aiosmtplib) to the first host of the route (or MX list) that answers.
A 2xx finishes a recipient, a 5xx bounces it (RFC 3464 DSN to the sender),
a 4xx or a connection failure keeps it for a retry with exponential backoff
until the maximum queue lifetime, when it bounces.
"""

from __future__ import annotations

import asyncio
import heapq
import ssl
from collections import defaultdict
from typing import TYPE_CHECKING

import aiosmtplib

from asyncos_cli.config.addresses import AddressError, ascii_domain, downgrade, split
from asyncos_cli.config.schema import Config, Destination
from asyncos_cli.events.mail import (
    DeliveryClosed,
    DeliveryConnected,
    DeliveryDelayed,
    DeliveryDone,
    DeliveryStarted,
    DeliveryTls,
    DeliveryTlsRefused,
    RecipientBounced,
)
from asyncos_cli.services import smtpout
from asyncos_cli.services.smtpout import DEV_NULL, Hop, parse_host
from asyncos_cli.services.smtpout import sni as _sni

from .spool import BOUNCED, DELIVERED, DROPPED, PENDING, QueuedMessage, Recipient

if TYPE_CHECKING:
    from .relay import Relay

#: An idle delivery connection is reused for the next message to the same host within this time.
IDLE_SECONDS = 10.0


class Deferred(Exception):
    """The whole domain's attempt failed temporarily (no host answered, TLS unavailable...)."""

    def __init__(self, reason: str, dcid: int = 0):
        super().__init__(reason)
        #: The delivery connection it happened on (0: none was made), for the Delayed line.
        self.dcid = dcid


class DeliveryManager:
    def __init__(self, relay: "Relay"):
        self.relay = relay
        self._heap: list[tuple[float, int]] = []
        self._messages: dict[int, QueuedMessage] = {}
        self._in_flight: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._domain_slots: dict[str, asyncio.Semaphore] = {}
        self._dcid = 0
        self.paused = False
        self._tasks: set[asyncio.Task] = set()
        self._idle: dict[tuple, list] = {}
        #: SMTP connections open for delivery (busy or idle), for the SNMP mailTransferThreads gauge.
        self.open_connections = 0
        self.redirect_to: Hop | None = None

    # ------------------------------------------------------------ queue

    def submit(self, msg: QueuedMessage) -> None:
        self._messages[msg.mid] = msg
        heapq.heappush(self._heap, (msg.next_attempt, msg.mid))
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self.close_idle(older_than=0)
        if self._task:
            self._task.cancel()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def deliver_now(self) -> int:
        """Every queued message becomes due at once (``delivernow``)."""
        self._heap = [(0.0, mid) for mid in self._messages if mid not in self._in_flight]
        heapq.heapify(self._heap)
        self._wake.set()
        return len(self._heap)

    @property
    def queued(self) -> int:
        return len(self._messages)

    def queued_messages(self) -> list[QueuedMessage]:
        return sorted(self._messages.values(), key=lambda m: m.mid)

    def oldest(self) -> float | None:
        return min((m.received for m in self._messages.values()), default=None)

    async def _run(self) -> None:
        while True:
            now = self.relay.clock()
            while self._heap and self._heap[0][0] <= now and not self.paused:
                _, mid = heapq.heappop(self._heap)
                msg = self._messages.get(mid)
                if msg is None or mid in self._in_flight:
                    continue
                self._in_flight.add(mid)
                task = asyncio.get_running_loop().create_task(self._attempt(msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            self._wake.clear()
            self.close_idle()
            timeout = max(0.0, self._heap[0][0] - now) if self._heap and not self.paused else None
            timeout = IDLE_SECONDS if timeout is None else min(timeout, IDLE_SECONDS)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    # ------------------------------------------------------------ operator actions (queue commands)

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
                self._bounce(msg, rcpts, "550 5.0.0 Bounced by an administrator (bouncerecipients)", 0)
            else:
                for r in rcpts:
                    r.state, r.detail = DROPPED, "an administrator (deleterecipients)"
                    self.relay.counters.dropped_recipients += 1
            done += len(rcpts)
            if not msg.pending():
                await self.relay.finish(msg)
                self._messages.pop(msg.mid, None)
            else:
                await asyncio.get_running_loop().run_in_executor(None, self.relay.spool.save_state, msg)
        return {"recipients": done, "in_delivery": busy}

    def bounce_all(self, msg: QueuedMessage, reply: str) -> None:
        """Every pending recipient bounces now (a filter's bounce() action)."""
        self._bounce(msg, msg.pending(), reply, 0)

    def redirect(self, target: str | None) -> None:
        """redirectrecipients: every delivery goes to ``target`` (HOST[:PORT]) until cleared or restart."""
        self.redirect_to = parse_host(target) if target else None
        self.deliver_now()

    def host_summary(self) -> list[dict]:
        """tophosts / hoststatus: pending recipients per destination domain."""
        hosts: dict[str, dict] = {}
        for msg in self._messages.values():
            for r in msg.pending():
                try:
                    domain = ascii_domain(split(r.address)[1])
                except AddressError:
                    continue
                h = hosts.setdefault(domain, {"domain": domain, "pending": 0, "in_delivery": 0, "last_error": ""})
                h["pending"] += 1
                if msg.mid in self._in_flight:
                    h["in_delivery"] += 1
                if msg.last_error:
                    h["last_error"] = msg.last_error
        return sorted(hosts.values(), key=lambda h: -h["pending"])

    # ------------------------------------------------------------ one attempt

    async def _attempt(self, msg: QueuedMessage) -> None:
        config = self.relay.config  # one snapshot for the whole attempt
        try:
            by_domain: dict[str, list[Recipient]] = defaultdict(list)
            for r in msg.pending():
                try:
                    by_domain[ascii_domain(split(r.address)[1])].append(r)
                except AddressError as e:
                    self._bounce(msg, [r], f"550 5.1.3 {e}", 0)
            await asyncio.gather(*(self._deliver_domain(msg, d, rs, config) for d, rs in by_domain.items()))
            await self._after_attempt(msg, config)
        finally:
            self._in_flight.discard(msg.mid)

    async def _deliver_domain(self, msg: QueuedMessage, domain: str, rcpts: list[Recipient], config: Config):
        dest = config.delivery.for_domain(domain)
        slots = self._domain_slots.setdefault(f"{domain}/{dest.concurrency}", asyncio.Semaphore(dest.concurrency))
        async with slots:
            try:
                hops = await self._hops(domain, config)
                if hops == DEV_NULL:
                    for r in rcpts:
                        r.state, r.detail = DROPPED, "route /dev/null"
                        self.relay.counters.dropped_recipients += 1
                    return
                await self._deliver_via(msg, hops, rcpts, dest, config)
            except _HardFailure as e:
                self._bounce(msg, rcpts, str(e), 0)
            except Deferred as e:
                msg.last_error = str(e)
                self.relay.emit(DeliveryDelayed(e.dcid, msg.mid, tuple(r.rid for r in rcpts), str(e)))
                self.relay.counters.soft_bounced += 1

    async def _hops(self, domain: str, config: Config):
        if self.redirect_to is not None:
            return [self.redirect_to]
        routed = smtpout.routed_hosts(domain, config)
        if routed is not None:
            return routed
        try:
            return await smtpout.mx_hops(domain, config)
        except smtpout.NoSuchDomain:
            raise _HardFailure(f"550 5.1.2 Host or domain name not found: {domain}") from None
        except smtpout.LookupFailed as e:
            raise Deferred(f"4.4.3 {e}") from None

    async def _deliver_via(self, msg, hops, rcpts, dest: Destination, config: Config):
        last = "4.4.1 no destination host answered"
        for hop in hops:
            try:
                await self._session(msg, hop, rcpts, dest, config)
                return
            except (OSError, asyncio.TimeoutError, aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError,
                    aiosmtplib.SMTPServerDisconnected, ssl.SSLError) as e:
                last = f"4.4.1 connection to {hop.host}:{hop.port} failed: {e.__class__.__name__}: {e}"
                continue
        raise Deferred(last)

    async def _connect(self, hop: Hop, dest: Destination, config):
        """An SMTP session to ``hop``: an idle one from an earlier delivery, or a new one."""
        key = (hop, dest.tls)
        idle = self._idle.get(key, [])
        now = self.relay.clock()
        while idle:
            client, dcid, since, clean = idle.pop()
            if client.is_connected and now - since < IDLE_SECONDS:
                try:
                    if not clean:
                        await client.rset()  # the last transaction stopped half-way
                    return client, dcid
                except aiosmtplib.SMTPException:
                    pass
            self._close(client, dcid)
        self._dcid += 1
        dcid = self._dcid
        d = config.delivery
        address = await self._address(hop.host, config)
        client = aiosmtplib.SMTP(hostname=address, port=hop.port, timeout=d.command_timeout_seconds,
                                 start_tls=False, local_hostname=config.system.hostname)
        await asyncio.wait_for(client.connect(), d.connect_timeout_seconds)
        self.relay.emit(DeliveryConnected(dcid, hop.host, hop.port))
        self.open_connections += 1
        try:
            await client.ehlo()  # the extensions decide STARTTLS and SMTPUTF8 below
            await self._maybe_starttls(client, hop, dest, config, dcid)
        except BaseException:
            client.close()
            self.open_connections -= 1
            self.relay.emit(DeliveryClosed(dcid))
            raise
        return client, dcid

    def _keep(self, hop: Hop, dest: Destination, client, dcid: int, clean: bool) -> None:
        idle = self._idle.setdefault((hop, dest.tls), [])
        if len(idle) < dest.concurrency:
            idle.append((client, dcid, self.relay.clock(), clean))
        else:
            self._close(client, dcid)

    def _close(self, client, dcid: int) -> None:
        """Say QUIT when the peer still listens (a polite close), then drop the connection."""
        self.open_connections -= 1
        self.relay.emit(DeliveryClosed(dcid))
        if not client.is_connected:
            client.close()
            return

        async def quit_then_close():
            try:
                await asyncio.wait_for(client.quit(), 5)
            except Exception:  # the peer went away first: nothing more to say
                pass
            finally:
                client.close()

        task = asyncio.get_running_loop().create_task(quit_then_close())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close_idle(self, older_than: float = IDLE_SECONDS) -> None:
        now = self.relay.clock()
        for key, idle in self._idle.items():
            keep = []
            for entry in idle:
                client, dcid, since, _ = entry
                if now - since >= older_than or not client.is_connected:
                    self._close(client, dcid)
                else:
                    keep.append(entry)
            self._idle[key] = keep

    async def _session(self, msg: QueuedMessage, hop: Hop, rcpts: list[Recipient], dest: Destination, config):
        client, dcid = await self._connect(hop, dest, config)
        reusable = clean = False
        try:
            utf8 = client.supports_extension("smtputf8")
            mail_options = ["SMTPUTF8"] if (utf8 and (msg.smtputf8 or not _all_ascii(msg, rcpts))) else []
            try:
                sender = msg.sender if (utf8 or not msg.sender) else downgrade(msg.sender)
            except AddressError as e:
                self._bounce(msg, rcpts, f"553 5.6.7 {e}", dcid)
                reusable = True
                return
            sendable = []
            for r in rcpts:
                try:
                    sendable.append((r, r.address if utf8 else downgrade(r.address)))
                except AddressError as e:
                    self._bounce(msg, [r], f"553 5.6.7 {e}", dcid)
            if not sendable:
                reusable = True
                return
            self.relay.emit(DeliveryStarted(dcid, msg.mid, tuple(r.rid for r, _ in sendable)))
            resp = await client.mail(sender, options=mail_options, encoding="utf-8" if utf8 else "ascii")
            accepted = []
            for r, addr in sendable:
                try:
                    await client.rcpt(addr, encoding="utf-8" if utf8 else "ascii")
                    accepted.append(r)
                except aiosmtplib.SMTPRecipientRefused as e:
                    self._failed(msg, [r], e.code, e.message, dcid)
            if accepted:
                try:
                    resp = await client.data(msg.content)
                except aiosmtplib.SMTPDataError as e:
                    self._failed(msg, accepted, e.code, e.message, dcid)
                else:
                    clean = True
                    for r in accepted:
                        r.state, r.detail = DELIVERED, f"{resp.code} {resp.message}"
                    self.relay.counters.completed_recipients += len(accepted)
                    self.relay.emit(DeliveryDone(dcid, msg.mid, tuple(r.rid for r in accepted),
                                                 f"{resp.code} {resp.message}"))
            reusable = True
        except aiosmtplib.SMTPSenderRefused as e:
            self._failed(msg, rcpts, e.code, e.message, dcid)
        except aiosmtplib.SMTPResponseException as e:
            self._failed(msg, [r for r in rcpts if r.state == PENDING], e.code, e.message, dcid)
        finally:
            if reusable and client.is_connected:
                self._keep(hop, dest, client, dcid, clean)
            else:
                self._close(client, dcid)

    async def _maybe_starttls(self, client, hop: Hop, dest: Destination, config: Config, dcid: int = 0) -> None:
        from asyncos_cli.services.tlsverify import PeerRejected

        if dest.tls == "none":
            return
        offered = client.supports_extension("starttls")
        if not offered:
            if dest.tls in ("required", "required-verify"):
                raise Deferred(f"4.7.5 {hop.host} does not offer STARTTLS and TLS is required for {dest.domain}",
                               dcid)
            return
        # OpenSSL only negotiates here; the certificate is judged by the one validator of the gateway
        # (sslconfig's FQDN and x509 switches, both forced on by a destination's required-verify).
        try:
            await client.starttls(tls_context=smtpout.negotiation_context(config), server_hostname=_sni(hop.host))
        except aiosmtplib.SMTPResponseException as e:
            if dest.tls == "preferred" and e.code != 220 and client.is_connected:
                # Refused before any handshake (454 TLS not available): the appliance sends in clear.
                self.relay.emit(DeliveryTlsRefused(dcid, hop.host, f"{e.code} {' '.join(str(e.message).split())}"))
                return
            raise Deferred(f"4.7.5 TLS required for {dest.domain}: {e}", dcid) from None
        except (ssl.SSLError, aiosmtplib.SMTPException) as e:
            if dest.tls == "preferred":
                raise Deferred(f"4.7.5 TLS negotiation with {hop.host} failed: {e}", dcid) from None
            raise Deferred(f"4.7.5 TLS required for {dest.domain}: {e}", dcid) from None
        try:
            smtpout.check_peer(client, hop.host, config, force=dest.tls == "required-verify")
        except PeerRejected as e:
            # No message goes in clear after this: the delivery waits for a peer that passes.
            raise Deferred(f"4.7.5 certificate of {hop.host} rejected: {e}", dcid) from None
        obj = client.transport.get_extra_info("ssl_object") if client.transport else None
        if obj is not None:
            self.relay.emit(DeliveryTls(dcid, obj.version() or "?", (obj.cipher() or ("?",))[0]))

    async def _address(self, host: str, config: Config) -> str:
        try:
            return await smtpout.address(host, config)
        except smtpout.LookupFailed as e:
            raise Deferred(f"4.4.3 {e}") from None

    def _failed(self, msg, rcpts, code: int, text: str, dcid: int) -> None:
        reply = f"{code} {' '.join(str(text).split())}"
        if 500 <= code < 600:
            self._bounce(msg, rcpts, reply, dcid)
        else:
            for r in rcpts:
                r.detail = reply
            msg.last_error = reply
            self.relay.counters.soft_bounced += 1
            self.relay.emit(DeliveryDelayed(dcid, msg.mid, tuple(r.rid for r in rcpts), reply))

    def _bounce(self, msg, rcpts, reply: str, dcid: int) -> None:
        from .dsn import status_code

        for r in rcpts:
            r.state, r.detail = BOUNCED, reply
            self.relay.counters.hard_bounced += 1
            self.relay.emit(RecipientBounced(dcid, msg.mid, r.rid, status_code(reply), reply))

    # ------------------------------------------------------------ after the attempt

    async def _after_attempt(self, msg: QueuedMessage, config: Config) -> None:
        d = config.delivery
        now = self.relay.clock()
        msg.attempts += 1
        pending = msg.pending()
        if pending and now - msg.received >= d.max_queue_lifetime_seconds:
            self._bounce(msg, pending, f"421 4.4.7 Message expired in the queue: {msg.last_error or 'no delivery'}", 0)
            pending = []
        loop = asyncio.get_running_loop()
        if pending:
            delay = min(d.retry_initial_seconds * (2 ** (msg.attempts - 1)), d.retry_max_seconds)
            msg.next_attempt = now + delay
            await loop.run_in_executor(None, self.relay.spool.save_state, msg)
            heapq.heappush(self._heap, (msg.next_attempt, msg.mid))
            self._wake.set()
            return
        await self.relay.finish(msg)
        self._messages.pop(msg.mid, None)


class _HardFailure(Exception):
    pass


def _all_ascii(msg: QueuedMessage, rcpts: list[Recipient]) -> bool:
    return msg.sender.isascii() and all(r.address.isascii() for r in rcpts)

