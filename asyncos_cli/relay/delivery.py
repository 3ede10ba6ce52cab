"""The delivery agent: routes or MX, TLS per destination, per-recipient results.

One attempt per message groups its pending recipients by domain and speaks
SMTP (aiosmtplib) to the first host of the route (or MX list) that answers.
A 2xx delivers a recipient, a 5xx bounces it, a 4xx or a connection failure
leaves it pending; the queue manager (qmgr) then retries with exponential
backoff until the maximum queue lifetime, and sends the DSN.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

import aiosmtplib

from asyncos_cli.config.addresses import AddressError, ascii_domain, downgrade, split
from asyncos_cli.config.schema import Config, Destination
from asyncos_cli.events.mail import (
    DeliveryClosed,
    DeliveryConnected,
    DeliveryDone,
    DeliveryStarted,
    DeliveryTls,
    DeliveryTlsRefused,
)
from asyncos_cli.services import smtpout
from asyncos_cli.services.smtpout import DEV_NULL, Hop, parse_host
from asyncos_cli.services.smtpout import sni as _sni

from . import fates
from .fates import Emit
from .spool import BOUNCED, DELIVERED, PENDING, QueuedMessage, Recipient

#: An idle delivery connection is reused for the next message to the same host within this time.
IDLE_SECONDS = 10.0


class Deferred(Exception):
    """The whole domain's attempt failed temporarily (no host answered, TLS unavailable...)."""

    def __init__(self, reason: str, dcid: int = 0):
        super().__init__(reason)
        #: The delivery connection it happened on (0: none was made), for the Delayed line.
        self.dcid = dcid


class DeliveryAgent:
    """Speaks SMTP for one attempt of a message and records each recipient's answer on it.

    It never touches the queue: the queue manager decides, after the attempt, whether the message is
    finished, bounced or tried again (Postfix's smtp(8) and qmgr(8)).
    """

    def __init__(self, emit: Emit, clock: Callable[[], float], reveal: Callable | None = None):
        self.emit = emit
        self.clock = clock
        #: The keyring's reveal: an outgoing SMTP AUTH profile's passphrase is sealed at rest.
        self.reveal = reveal
        self._domain_slots: dict[str, asyncio.Semaphore] = {}
        self._dcid = 0
        self._tasks: set[asyncio.Task] = set()
        self._idle: dict[tuple, list] = {}
        #: SMTP connections open for delivery (busy or idle), for the SNMP mailTransferThreads gauge.
        self.open_connections = 0
        #: redirectrecipients: every delivery goes here (HOST[:PORT]) until cleared or restart.
        self.redirect_to: Hop | None = None
        #: Per destination domain since the daemon started (tophosts, hoststatus).
        self.hosts: dict[str, HostStats] = {}

    @property
    def last_dcid(self) -> int:
        return self._dcid

    def redirect(self, target: str | None) -> None:
        self.redirect_to = parse_host(target) if target else None

    async def stop(self) -> None:
        self.close_idle(older_than=0)
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------ one attempt

    async def attempt(self, msg: QueuedMessage, config: Config) -> None:
        """One attempt for every pending recipient, under one configuration snapshot."""
        by_domain: dict[str, list[Recipient]] = defaultdict(list)
        for r in msg.pending():
            try:
                by_domain[ascii_domain(split(r.address)[1])].append(r)
            except AddressError as e:
                self._bounce(msg, [r], f"550 5.1.3 {e}", 0)
        await asyncio.gather(*(self._deliver_domain(msg, d, rs, config) for d, rs in by_domain.items()))

    async def _deliver_domain(self, msg: QueuedMessage, domain: str, rcpts: list[Recipient], config: Config):
        dest = config.delivery.for_domain(domain)
        slots = self._domain_slots.setdefault(f"{domain}/{dest.concurrency}", asyncio.Semaphore(dest.concurrency))
        host = self.hosts.setdefault(domain, HostStats())
        async with slots:
            host.connections_out += 1
            try:
                hops = await self._hops(domain, config)
                if hops == DEV_NULL:
                    fates.drop(self.emit, msg, rcpts, "route /dev/null")
                    return
                await self._deliver_via(msg, hops, rcpts, dest, config)
                host.down = False
            except _HardFailure as e:
                self._bounce(msg, rcpts, str(e), 0)
            except Deferred as e:
                host.down = "connection to" in str(e) or "no destination host" in str(e)
                fates.delay(self.emit, msg, rcpts, str(e), e.dcid)
            finally:
                host.connections_out -= 1
                host.last_activity = self.clock()
                for r in rcpts:
                    if r.state == DELIVERED:
                        host.delivered += 1
                    elif r.state == BOUNCED:
                        host.hard_bounced += 1
                        host.last_5xx = r.detail
                    elif r.state == PENDING and r.detail:
                        host.soft_bounced += 1

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
        now = self.clock()
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
        self.emit(DeliveryConnected(dcid, hop.host, hop.port))
        self.open_connections += 1
        try:
            await client.ehlo()  # the extensions decide STARTTLS and SMTPUTF8 below
            await self._maybe_starttls(client, hop, dest, config, dcid)
            if hop.auth:
                await self._login(client, hop, config, dcid)
        except BaseException:
            client.close()
            self.open_connections -= 1
            self.emit(DeliveryClosed(dcid))
            raise
        return client, dcid

    def _keep(self, hop: Hop, dest: Destination, client, dcid: int, clean: bool) -> None:
        idle = self._idle.setdefault((hop, dest.tls), [])
        if len(idle) < dest.concurrency:
            idle.append((client, dcid, self.clock(), clean))
        else:
            self._close(client, dcid)

    def _close(self, client, dcid: int) -> None:
        """Say QUIT when the peer still listens (a polite close), then drop the connection."""
        self.open_connections -= 1
        self.emit(DeliveryClosed(dcid))
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
        now = self.clock()
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
            clean = await self._transaction(client, dcid, msg, rcpts)
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

    async def _transaction(self, client, dcid: int, msg: QueuedMessage, rcpts: list[Recipient]) -> bool:
        """MAIL, RCPT for each, DATA; True when a transaction completed (the connection is clean to reuse)."""
        utf8 = client.supports_extension("smtputf8")
        envelope = self._envelope(msg, rcpts, utf8, dcid)
        if envelope is None:
            return False
        sender, sendable = envelope
        encoding = "utf-8" if utf8 else "ascii"
        self.emit(DeliveryStarted(dcid, msg.mid, tuple(r.rid for r, _ in sendable)))
        await client.mail(sender, options=["SMTPUTF8"] if (utf8 and (msg.smtputf8 or not _all_ascii(msg, rcpts)))
                          else [], encoding=encoding)
        accepted = []
        for r, addr in sendable:
            try:
                await client.rcpt(addr, encoding=encoding)
                accepted.append(r)
            except aiosmtplib.SMTPRecipientRefused as e:
                self._failed(msg, [r], e.code, e.message, dcid)
        if not accepted:
            return False
        try:
            resp = await client.data(msg.content)
        except aiosmtplib.SMTPDataError as e:
            self._failed(msg, accepted, e.code, e.message, dcid)
            return False
        for r in accepted:
            r.state, r.detail = DELIVERED, f"{resp.code} {resp.message}"
        self.emit(DeliveryDone(dcid, msg.mid, tuple(r.rid for r in accepted), f"{resp.code} {resp.message}"))
        return True

    def _envelope(self, msg: QueuedMessage, rcpts: list[Recipient], utf8: bool, dcid: int):
        """(sender, [(recipient, address)]) as this peer can take them: without SMTPUTF8, IDN domains in their
        ASCII form; an address that cannot be said so bounces. None: nothing to send."""
        try:
            sender = msg.sender if (utf8 or not msg.sender) else downgrade(msg.sender)
        except AddressError as e:
            self._bounce(msg, rcpts, f"553 5.6.7 {e}", dcid)
            return None
        sendable = []
        for r in rcpts:
            try:
                sendable.append((r, r.address if utf8 else downgrade(r.address)))
            except AddressError as e:
                self._bounce(msg, [r], f"553 5.6.7 {e}", dcid)
        return (sender, sendable) if sendable else None

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
                self.emit(DeliveryTlsRefused(dcid, hop.host, f"{e.code} {' '.join(str(e.message).split())}"))
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
            self.emit(DeliveryTls(dcid, obj.version() or "?", (obj.cipher() or ("?",))[0]))

    async def _login(self, client, hop: Hop, config: Config, dcid: int) -> None:
        """SMTP AUTH at a smart host with the route's outgoing profile: only inside TLS, never in clear."""
        profile = config.smtp_auth.get(hop.auth)
        if profile is None or profile.kind != "outgoing" or profile.password is None or self.reveal is None:
            raise Deferred(f"4.7.0 the SMTP AUTH profile {hop.auth} of the route to {hop.host} is missing", dcid)
        if client.transport is None or client.transport.get_extra_info("ssl_object") is None:
            raise Deferred(f"4.7.0 {hop.host}: no TLS, so no SMTP AUTH credentials are sent (profile "
                           f"{profile.name})", dcid)
        try:
            await client.login(profile.username, self.reveal(profile.password))
        except aiosmtplib.SMTPException as e:
            raise Deferred(f"4.7.8 SMTP AUTH to {hop.host} as {profile.username} failed: "
                           f"{' '.join(str(e).split())}", dcid) from None

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
            fates.delay(self.emit, msg, rcpts, reply, dcid, detail=True)

    def _bounce(self, msg, rcpts, reply: str, dcid: int) -> None:
        fates.bounce(self.emit, msg, rcpts, reply, dcid)


@dataclass
class HostStats:
    """A destination's delivery figures since the daemon started (what tophosts and hoststatus show)."""

    delivered: int = 0
    hard_bounced: int = 0
    soft_bounced: int = 0
    connections_out: int = 0
    down: bool = False
    last_activity: float = 0.0
    last_5xx: str = ""


class _HardFailure(Exception):
    pass


def _all_ascii(msg: QueuedMessage, rcpts: list[Recipient]) -> bool:
    return msg.sender.isascii() and all(r.address.isascii() for r in rcpts)

