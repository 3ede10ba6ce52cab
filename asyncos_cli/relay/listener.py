"""SMTP listeners on aiosmtpd: host access at connect, policy in the conversation.

The protocol (aiosmtpd's ``SMTP``) parses and validates; ``GatewayHandler``
decides at each stage and returns the reply, aiosmtpd's hook contract.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import re
from dataclasses import dataclass
from typing import Awaitable, Callable

from aiosmtpd.smtp import Envelope, Session

from asyncos_cli.config.addresses import (
    AddressError,
    ascii_domain,
    domain_matches,
    routing_problem,
    split,
)
from asyncos_cli.config.aliases import AliasLoop
from asyncos_cli.config.masquerade import rewrite_address, rewrite_headers
from asyncos_cli.config.schema import Config, Listener
from asyncos_cli.events.mail import (
    AliasExpanded,
    AliasNotExpanded,
    MessageStarted,
    RecipientAccepted,
    SenderMasqueraded,
    SmtpAuthenticated,
    SmtpClosed,
    SmtpConnected,
    SmtpPolicyApplied,
    SmtpRefused,
    SmtpTls,
    SmtpTlsFailed,
)
from asyncos_cli.services import spfcheck
from scanning import sidf

from . import dkimcheck, dmarccheck
from .authevents import authenticated
from .connections import ConnectionTable
from .fates import Emit
from .hat import HatVerdict, classify
from .smtpd import MESSAGE_TOO_LARGE, AdjustedSMTP
from .smtpd import install as install_adjustments
from .spool import QueuedMessage, Recipient


def has_bare_cr_or_lf(data: bytes) -> bool:
    """A CR not followed by LF, or an LF not preceded by CR: RFC 5321 §2.3.8 forbids both, and forwarding them
    lets a downstream server split one message into two (smuggling). Every CR and every LF is part of a CRLF
    exactly when the three counts agree (three C-speed passes, where a regular expression with look-arounds
    was a twentieth of the receive path)."""
    pairs = data.count(b"\r\n")
    return data.count(b"\r") != pairs or data.count(b"\n") != pairs
#: Where a header field starts: a line break not followed by folding white space (RFC 5322 2.2.3).
_FIELD_START = re.compile(rb"\r\n(?![ \t]|\Z)")
_HEADER_FIELD = re.compile(rb"^(message-id|subject|from|reply-to):[ \t]*(.*?)\r\n", re.I | re.M)

install_adjustments()


@dataclass(frozen=True)
class Intake:
    """What a listener needs from the relay, and nothing more: the configuration in effect, the connection
    table, the reputation services, and the queue manager's door (``receive``: durable before the 250)."""

    config: Callable[[], Config]
    emit: Emit
    clock: Callable[[], float]
    connections: ConnectionTable
    reputation: object
    #: services.maturity.SenderMaturity (first-seen sender domains), or None.
    maturity: object
    next_mid: Callable[[], int]
    receive: Callable[[QueuedMessage], Awaitable[None]]
    #: services.logingate.LoginGate: SMTP AUTH against the gateway's accounts (None: never offered).
    login: object = None
    #: relay.dkimverifier.DkimVerifier: DKIM signatures checked in a process beside the loop (None: in a thread).
    verifier: object = None


class GatewaySMTP(AdjustedSMTP):
    """One SMTP connection: the host access table decides before the greeting."""

    def __init__(self, handler: "GatewayHandler", **kwargs):
        super().__init__(handler, **kwargs)
        self.gateway = handler
        self.verdict: HatVerdict | None = None
        self.icid = 0
        self.peer_ip = ""
        #: Counted once per TCP connection: aiosmtpd calls connection_made again after STARTTLS.
        self._counted = False
        self._rank_on_listener = self._rank_from_address = 0

    def connection_made(self, transport) -> None:
        if self._counted:  # the TLS layer of a connection already counted: same ICID, same count
            return super().connection_made(transport)
        self._counted = True
        peer = transport.get_extra_info("peername") or ("?", 0)
        self.peer_ip = peer[0]
        intake = self.gateway.intake
        self.icid = intake.connections.next_icid()
        listener = self.gateway.listener
        intake.emit(SmtpConnected(self.icid, listener.name, *self.gateway.interface, self.peer_ip))
        intake.connections.opened(self.peer_ip, self)
        self.gateway.open_connections += 1
        # Ranks taken now, in accept order: the limits refuse the newest connections, never earlier ones
        # that have not reached their greeting yet.
        self._rank_on_listener = self.gateway.open_connections
        self._rank_from_address = intake.connections.from_address(self.peer_ip)
        super().connection_made(transport)

    def connection_lost(self, exc) -> None:
        if self._counted:
            self._counted = False
            intake = self.gateway.intake
            intake.connections.closed(self.peer_ip, self)
            self.gateway.open_connections -= 1
            intake.emit(SmtpClosed(self.icid))
        super().connection_lost(exc)

    async def _refuse_busy(self, why: str) -> None:
        await self.push(f"421 4.7.0 Too many connections {why}, try again later")
        self.transport.close()

    async def _handle_client(self) -> None:
        intake = self.gateway.intake
        listener = self.gateway.listener
        if self._rank_on_listener > listener.max_connections:
            return await self._refuse_busy("to this listener")
        # The client's IP reputation (SBRS) picks the sender group with the address: asked before the
        # greeting, bounded by its timeout, so a slow provider makes the score None, never a stalled session.
        self.sbrs = None
        if listener.kind == "public" and intake.reputation.can_answer("ip"):
            found, self.sbrs = intake.reputation.known("ip", self.peer_ip)
            if not found:
                self.sbrs = await intake.reputation.ip(self.peer_ip)
        self.verdict = classify(intake.config().hat, listener.kind, self.peer_ip, sbrs=self.sbrs)
        group = self.verdict.group.name if self.verdict.group else "(none)"
        sbrs = "None" if self.sbrs is None else f"{self.sbrs:.1f}"
        intake.emit(SmtpPolicyApplied(self.icid, self.verdict.policy.action, group, self.verdict.match, sbrs))
        policy = self.verdict.policy
        if policy.action == "tcprefuse":
            self.transport.close()
            return
        if policy.action in ("reject", "tcprefuse"):
            await self.push(f"554 {self.hostname} Access denied: the host access table does not accept you")
            self.transport.close()
            return
        if self._rank_from_address > policy.max_connections_per_ip:
            return await self._refuse_busy("from your address")
        await super()._handle_client()

    def keeps_source_routes(self) -> bool:
        return self.gateway.listener.kind == "public"  # refused there (routing_problem)

    def tls_failed(self, reason: str) -> None:
        self.gateway.intake.emit(SmtpTlsFailed(self.icid, reason))

    def data_too_large(self) -> None:
        limit = self.gateway.listener.max_message_bytes
        self.gateway.intake.emit(SmtpRefused(self.icid, "DATA", f"message larger than {limit} bytes"))

    async def smtp_STARTTLS(self, arg: str) -> None:
        await super().smtp_STARTTLS(arg)
        obj = self.transport.get_extra_info("ssl_object") if self.transport is not None else None
        if obj is not None:
            self.gateway.intake.emit(SmtpTls(self.icid, obj.version() or "?", (obj.cipher() or ("?",))[0]))


class GatewayHandler:
    def __init__(self, intake: Intake, listener: Listener, interface: tuple[str, str]):
        self.intake = intake
        self.listener = listener
        self.interface = interface
        #: Connections open on this listener (its --max-connections).
        self.open_connections = 0

    def _header_limits(self, head: bytes) -> str | None:
        if len(head) > self.listener.max_header_bytes:
            return "552 5.3.4 Message header size exceeds limit"
        # A field starts each line that is not a continuation (RFC 5322 folding).
        if len(head) // 2 > self.listener.max_header_count:  # cheap bound first: a field takes 2+ bytes
            fields = 1 + len(_FIELD_START.findall(head))
            if fields > self.listener.max_header_count:
                return (f"554 5.6.0 Message refused: too many header fields "
                        f"(at most {self.listener.max_header_count})")
        return None

    # Hooks get the SMTP instance as ``server``: that is where the connection's verdict lives.

    async def handle_EHLO(self, server: GatewaySMTP, session: Session, envelope: Envelope, hostname, responses):
        session.host_name = hostname
        out = [r for r in responses if "AUTH" not in r.upper()]
        if session.ssl and self._auth_profile(server) is not None:  # RFC 4954: never offered in clear here
            out.insert(len(out) - 1, "250-AUTH LOGIN PLAIN")
        # aiosmtpd reads pipelined commands in order; say so (RFC 2920).
        out.insert(len(out) - 1, "250-PIPELINING")
        return out

    async def handle_MAIL(self, server: GatewaySMTP, session, envelope, address: str, mail_options):
        policy = server.verdict.policy
        # The listener's own "required" holds also when its TLS context could not be built: then
        # STARTTLS answers 454 and nothing is ever accepted in clear (never fail open).
        if (policy.tls == "required" or self.listener.starttls == "required") and not session.ssl:
            return "530 5.7.0 Must issue a STARTTLS command first"
        if policy.smtp_auth == "required" and not session.authenticated:
            return "530 5.7.0 Authentication required"
        if policy.spf == "on":
            await self._check_spf(server, session, envelope, "" if address == "<>" else address)
        if not self.intake.connections.within_rate(server.peer_ip, policy):
            return "452 4.3.1 Too many messages from your address this hour, try again later"
        for opt in mail_options:
            if opt.upper().startswith("SIZE="):
                size = opt[5:]
                if size.isdigit() and int(size) > min(policy.max_message_bytes, self.listener.max_message_bytes):
                    return MESSAGE_TOO_LARGE
        # aiosmtpd gives the null reverse-path of bounces (RFC 5321 4.5.5) as "<>" and
        # needs it non-empty in the envelope; the queue stores it as "".
        sender = "" if address == "<>" else address
        if sender and not sender.isascii() and not envelope.smtp_utf8:
            return "553 5.6.7 Non-ASCII address needs the SMTPUTF8 parameter"
        if sender:
            try:
                split(address)
            except AddressError as e:
                return f"553 5.1.7 {e}"
        server.sdr = ""
        if sender and policy.sdr_check:
            refusal = await self._sdr(server, sender)
            if refusal:
                return refusal
        envelope.sdr = server.sdr  # the verdict travels with the message: filters and tracking read it
        if sender and self.intake.maturity is not None:
            self.intake.maturity.seen(ascii_domain(split(sender)[1]))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        envelope.mid = self.intake.next_mid()
        envelope.rids = 0
        self.intake.emit(MessageStarted(envelope.mid, server.icid, sender))
        return "250 2.1.0 Ok"

    async def _sdr(self, server: GatewaySMTP, sender: str) -> str | None:
        """Sender Domain Reputation at MAIL FROM: refuse a domain at or below the configured verdict."""
        from asyncos_cli.events.mail import SdrVerdict
        from asyncos_cli.services.reputation import at_or_below

        rep = self.intake.config().reputation
        if not rep.sdr_enabled or not self.intake.reputation.can_answer("domain"):
            return None  # off, or nobody to ask: no verdict, no cost
        domain = ascii_domain(split(sender)[1]).lower()
        if any(domain_matches(domain, d) for d in rep.domain_exceptions):
            return None
        found, verdict = self.intake.reputation.known("domain", domain)
        if not found or verdict is None:
            verdict = await self.intake.reputation.domain(domain)
        refused = at_or_below(verdict.verdict, rep.sdr_verdict)
        self.intake.emit(SdrVerdict(server.icid, domain, verdict.verdict, verdict.category, refused))
        if not refused:
            server.sdr = f"{verdict.verdict}:{verdict.category}"
            return None
        category = f" ({verdict.category})" if verdict.category else ""
        return (f"550 5.7.1 Sender domain {domain} reputation {verdict.verdict.capitalize()}{category}: "
                "refused by Sender Domain Reputation filtering")

    async def handle_RCPT(self, server: GatewaySMTP, session, envelope, address: str, rcpt_options):
        policy = server.verdict.policy
        limit = min(policy.max_recipients, self.listener.max_recipients)
        if len(envelope.rcpt_tos) >= limit:
            return f"452 4.5.3 Too many recipients (at most {limit} per message)"
        if not address.isascii() and not envelope.smtp_utf8:
            return "553 5.6.7 Non-ASCII address needs the SMTPUTF8 parameter"
        if address.lower() == "postmaster":
            # RFC 5321 4.5.1: "postmaster" without a domain must be accepted; it is this host's postmaster.
            return self._accept_recipient(server, envelope, f"postmaster@{self.intake.config().system.hostname}",
                                          rcpt_options)
        try:
            _, domain = split(address)
        except AddressError as e:
            return f"553 5.1.3 {e}"
        refusal = getattr(envelope, "spf_refusal", None)
        if refusal is not None:
            self.intake.emit(SmtpRefused(server.icid, f"RCPT <{address}>", refusal[0]))
            return refusal[1]
        if policy.action != "relay" and not session.authenticated:  # an authenticated client may relay
            problem = routing_problem(address)
            if problem:
                self.intake.emit(SmtpRefused(server.icid, f"RCPT <{address}>", problem))
                return f"550 5.7.1 {problem}"
            try:
                accepted = any(domain_matches(domain, d) for d in self.listener.rcpt_access)
            except AddressError as e:
                return f"553 5.1.2 {e}"
            if not accepted:
                self.intake.emit(SmtpRefused(server.icid, f"RCPT <{address}>", "relaying denied"))
                return "550 5.7.1 Relaying denied"
        return self._accept_recipient(server, envelope, address, rcpt_options)

    def _accept_recipient(self, server: GatewaySMTP, envelope, address: str, rcpt_options) -> str:
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        self.intake.emit(RecipientAccepted(envelope.mid, server.icid, envelope.rids, address))
        envelope.rids += 1
        return "250 2.1.5 Ok"

    # ------------------------------------------------------------ SPF

    async def _check_spf(self, server: GatewaySMTP, session, envelope, sender: str) -> None:
        """SPF of the HELO and MAIL FROM identities (RFC 7208 2.3, 2.4: a null sender is checked as
        postmaster@HELO), kept on the envelope as (mailfrom result, identity, helo result, helo identity). At the
        SIDF levels MAIL FROM is Sender ID's mfrom scope; the strict level, or a policy without the HELO test,
        checks no HELO (helo identity ""). A result the policy refuses is kept as the refusal RCPT answers."""
        config, policy = self.intake.config(), server.verdict.policy
        level, seconds = policy.spf_conformance, policy.spf_timeout
        helo = _helo(session)
        helo_identity = f"postmaster@{helo}" if helo else "postmaster@unknown"
        identity = sender or helo_identity
        helo_result = helo_published = ""
        if level != "sidf" and policy.spf_helo_check:
            # RFC 7208 2.3: only a fully qualified HELO name is checked (an address literal or one label: none)
            helo_result, helo_published = await _spf(config, server.peer_ip, helo_identity, helo, seconds) \
                if _fqdn(helo) else ("none", "")
        if level != "spf":
            result, published = await _sender_id(config, server.peer_ip, identity, helo, "mfrom", level, seconds)
        elif identity == helo_identity and helo_result:
            result, published = helo_result, helo_published
        else:
            result, published = await _spf(config, server.peer_ip, identity, helo, seconds)
        if not helo_result:
            helo_result, helo_identity = "none", ""
        envelope.spf = (result, identity, helo_result, helo_identity)
        # The appliance's order: the HELO identity's actions first, then MAIL FROM's.
        envelope.spf_refusal = None
        if helo_identity and helo_result in policy.spf_refused("helo"):
            envelope.spf_refusal = (f"SPF {helo_result} for the HELO identity {helo_identity}",
                                    policy.spf_reply(helo_result, helo_published))
        elif result in policy.spf_refused("mailfrom"):
            envelope.spf_refusal = f"SPF {result} for {identity}", policy.spf_reply(result, published)

    async def _check_pra(self, server: GatewaySMTP, session, head: bytes) -> tuple[str, str, str, str]:
        """Sender ID of the Purported Responsible Address (RFC 4407): (result, mailbox, the field it came from, the
        domain's published explanation); a message without one gets what the level gives a malformed identity."""
        config, policy = self.intake.config(), server.verdict.policy
        fields = sidf.fields(head)
        found = sidf.purported_responsible_address(fields)
        if found is None:
            return ("fail" if policy.spf_conformance == "sidf" else "none"), "", "", ""
        mailbox, field = found
        result, published = await _sender_id(config, server.peer_ip, mailbox, _helo(session), "pra",
                                             policy.spf_conformance, policy.spf_timeout)
        if (result == "pass" and policy.spf_conformance == "sidf-compatible" and policy.spf_downgrade_pra
                and sidf.resent(fields)):
            result = "none"
        return result, mailbox, field, published

    # ------------------------------------------------------------ SMTP AUTH

    def _auth_profile(self, server: GatewaySMTP):
        """The listener's SMTP AUTH profile when this connection may authenticate, else None."""
        name = self.listener.smtp_auth_profile
        if not name or self.intake.login is None or server.verdict is None:
            return None
        if server.verdict.policy.smtp_auth == "off":
            return None
        profile = self.intake.config().smtp_auth.get(name)
        return profile if profile is not None and profile.kind == "accounts" else None

    async def handle_AUTH(self, server: GatewaySMTP, session, envelope, args: list[str]):
        """PLAIN and LOGIN (RFC 4616, draft-murchison-sasl-login) against the gateway's accounts, through the
        shared login throttle and lockout; aiosmtpd has already refused it before STARTTLS (538)."""
        profile = self._auth_profile(server)
        if profile is None:
            return "503 5.5.1 Error: authentication not enabled"
        mechanism = args[0].upper()
        credentials = await _read_credentials(server, mechanism, args[1] if len(args) > 1 else None)
        if credentials is None:
            return None  # aiosmtpd already answered (aborted, undecodable)
        if isinstance(credentials, str):
            return credentials
        user, password = credentials
        ok = await self.intake.login.check_passphrase(user, password, server.peer_ip, "SMTP") is not None
        self.intake.emit(SmtpAuthenticated(server.icid, user, mechanism, profile.name, ok))
        if not ok:
            return "535 5.7.8 Authentication credentials invalid"
        self.intake.login.logged_in(user, server.peer_ip, "SMTP")
        session.authenticated = True
        session.login_data = user
        return "235 2.7.0 Authentication successful"

    async def handle_DATA(self, server: GatewaySMTP, session, envelope):
        data: bytes = envelope.original_content or b""
        if has_bare_cr_or_lf(data):
            self.intake.emit(SmtpRefused(server.icid, f"MID {envelope.mid} DATA", "bare CR or LF"))
            return "550 5.6.0 Message refused: bare CR or LF in the message data (RFC 5321 2.3.8)"
        policy = server.verdict.policy
        if len(data) > min(policy.max_message_bytes, self.listener.max_message_bytes):
            return MESSAGE_TOO_LARGE
        head = data.split(b"\r\n\r\n", 1)[0] + b"\r\n"
        refusal = self._header_limits(head)
        if refusal:
            self.intake.emit(SmtpRefused(server.icid, f"MID {envelope.mid} DATA", refusal[4:]))
            return refusal
        fields: dict[bytes, bytes] = {}
        for m in _HEADER_FIELD.finditer(head):
            fields.setdefault(m.group(1).lower(), m.group(2))  # the first of each, as readers take it
        text = lambda name, n=200: fields.get(name, b"").decode("utf-8", "replace")[:n]  # noqa: E731
        sender = "" if envelope.mail_from in (None, "<>") else envelope.mail_from
        maturity = None
        if sender and self.intake.maturity is not None:
            maturity = self.intake.maturity.days(ascii_domain(split(sender)[1]))
        recipients = list(envelope.rcpt_tos)
        if self.listener.use_aliases:
            recipients = self._expand_aliases(envelope.mid, recipients)
        if self.listener.masquerade:
            sender, data = self._masquerade(envelope.mid, sender, data)
        verified, results = None, []
        spf, pra = getattr(envelope, "spf", None), None
        if spf is not None:
            results.append(f"spf={spf[0]} smtp.mailfrom={spf[1]}")
            if spf[3]:
                results.append(f"spf={spf[2]} smtp.helo={spf[3]}")
            if policy.spf_conformance != "spf":
                pra = await self._check_pra(server, session, head)
                if pra[0] in policy.spf_refused("pra"):
                    self.intake.emit(SmtpRefused(server.icid, f"MID {envelope.mid} DATA",
                                                 f"Sender ID {pra[0]} for {pra[1] or 'a message without a PRA'}"))
                    return policy.spf_reply(pra[0], pra[3])
                results.append(f"sender-id={pra[0]} header.{pra[2]}={pra[1]}" if pra[1]
                               else f"sender-id={pra[0]} reason=\"no purported responsible address\"")
        if policy.dkim_verify or policy.dmarc_verify:  # DMARC needs the DKIM results too
            verified = await dkimcheck.verify(self.intake.config(), data, self.intake.verifier, policy.dkim_profile)
            if verified.refusal and policy.dkim_verify:
                self.intake.emit(authenticated(envelope.mid, server.peer_ip, spf, verified, None, pra))
                return verified.refusal
            results += dkimcheck.dkim_parts(verified)
        dmarc = None
        if policy.dmarc_verify:
            dmarc = await dmarccheck.evaluate(self.intake.config(), data, envelope, spf, verified, policy.dmarc_profile)
            if dmarc.refusal:
                self.intake.emit(authenticated(envelope.mid, server.peer_ip, spf, verified, dmarc, pra))
                return dmarc.refusal
            results += dmarccheck.result_parts(dmarc)
        if results:
            data = dkimcheck.with_results(data, self.intake.config().system.hostname, results)
        msg = QueuedMessage(
            mid=envelope.mid,
            icid=server.icid,
            sender=sender,
            recipients=[Recipient(i, a) for i, a in enumerate(recipients)],
            received=self.intake.clock(),
            listener=self.listener.name,
            smtputf8=bool(envelope.smtp_utf8),
            size=len(data),
            message_id=text(b"message-id", 998),
            subject=text(b"subject"),
            remote_ip=server.peer_ip,
            sdr=getattr(envelope, "sdr", ""),
            helo=(session.host_name or "")[:255],
            header_from=text(b"from"),
            reply_to=text(b"reply-to"),
            sender_maturity=maturity,
            dkim=verified.summary if verified else "",
            spf=spf[0] if spf else "",
            spf_helo=spf[2] if spf and spf[3] else "",
            spf_pra=pra[0] if pra else "",
            dmarc=dmarc.evaluation.result if dmarc else "",
            dmarc_quarantine=dmarc.quarantine if dmarc else "",
            content=data,
        )
        try:
            await self.intake.receive(msg)
        except OSError as e:
            return f"451 4.3.0 Temporary failure writing the queue ({e.strerror}), try again"
        if spf is not None or verified is not None or dmarc is not None:
            self.intake.emit(authenticated(msg.mid, server.peer_ip, spf, verified, dmarc, pra))
        return f"250 Ok: Message MID {msg.mid} accepted"

    def _masquerade(self, mid: int, sender: str, data: bytes) -> tuple[str, bytes]:
        """The envelope sender and the chosen header fields rewritten by the listener's masquerading table."""
        listener = self.listener
        new_sender = rewrite_address(listener.masquerade, sender) if listener.masquerade_envelope else sender
        names = frozenset(h.lower().encode() for h in listener.masquerade_headers)
        new_data = rewrite_headers(data, listener.masquerade, names) if names else data
        if new_sender != sender or new_data is not data:
            self.intake.emit(SenderMasqueraded(mid, sender, new_sender, new_data is not data))
        return new_sender, new_data

    def _expand_aliases(self, mid: int, recipients: list[str]) -> list[str]:
        """The recipients through the alias table; each address once, in first-seen order."""
        table = self.intake.config().aliases
        out: list[str] = []
        seen: set[str] = set()
        for rcpt in recipients:
            try:
                expanded = table.expand(rcpt)
            except AliasLoop as e:  # refused when the table is written: here only if a rule changed since
                self.intake.emit(AliasNotExpanded(mid, rcpt, str(e)))
                expanded = [rcpt]
            if expanded != [rcpt]:
                self.intake.emit(AliasExpanded(mid, rcpt, tuple(expanded)))
            for address in expanded:
                if address.lower() not in seen:
                    seen.add(address.lower())
                    out.append(address)
        return out


def _fqdn(name: str) -> bool:
    if name[:1].isdigit() or ":" in name:  # only these can be addresses: no exception raised for every name
        try:
            ipaddress.ip_address(name)
            return False
        except ValueError:
            pass
    return "." in name.strip(".")


async def _cached_or_checked(cached, check, *question, seconds: int) -> tuple[str, str]:
    """A result of the last minute from the cache, on the loop; else the check, in a thread (DNS waits)."""
    found = cached(*question)
    return found if found is not None else await asyncio.to_thread(check, *question, seconds)


async def _spf(config, ip: str, identity: str, helo: str, seconds: int) -> tuple[str, str]:
    return await _cached_or_checked(spfcheck.cached, spfcheck.check, config, ip, identity, helo, seconds=seconds)


async def _sender_id(config, ip: str, identity: str, helo: str, scope: str, level: str,
                     seconds: int) -> tuple[str, str]:
    return await _cached_or_checked(spfcheck.cached_sender_id, spfcheck.check_sender_id, config, ip, identity, helo,
                                    scope, level, seconds=seconds)


def _helo(session) -> str:
    """The HELO name as SPF and Sender ID check it (an address literal without its brackets)."""
    return (session.host_name or "").strip("[]")


async def _read_credentials(server: GatewaySMTP, mechanism: str, initial: str | None):
    """(user, passphrase), a refusal to send, or None when aiosmtpd has answered already."""
    from aiosmtpd.smtp import MISSING

    def decoded(text: str) -> bytes | None:
        if text == "=":
            return b""
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None

    if mechanism == "PLAIN":
        blob = decoded(initial) if initial is not None else await server.challenge_auth("", encode_to_b64=False)
        if blob is MISSING:
            return None
        if blob is None or blob.count(b"\0") != 2:
            return "501 5.5.2 Can't decode the PLAIN credentials"
        _, user, password = blob.split(b"\0")
    else:
        user = decoded(initial) if initial is not None else await server.challenge_auth("Username:")
        if user is MISSING:
            return None
        if user is None:
            return "501 5.5.2 Can't decode base64"
        password = await server.challenge_auth("Password:")
        if password is MISSING:
            return None
    return user.decode("utf-8", "replace"), password.decode("utf-8", "replace")


#: Commands per session before aiosmtpd answers 421 and closes: generous for the
#: transaction commands (a relay may send thousands of messages per session), tight
#: for the ones a well-behaved client needs a few of (a loop on NOOP or VRFY is abuse).
COMMAND_LIMITS = {"*": 20, "MAIL": 10000, "RCPT": 100000, "DATA": 10000, "RSET": 10000,
                  "NOOP": 100, "EHLO": 10, "HELO": 10}


def make_server(intake: Intake, listener: Listener, interface: tuple[str, str], hostname: str, tls_context):
    """``interface``: (name, address) of the interface the listener is on."""
    handler = GatewayHandler(intake, listener, interface)
    require_tls = listener.starttls == "required"
    return lambda: GatewaySMTP(
        handler,
        hostname=hostname,
        ident="ESMTP",
        tls_context=tls_context if listener.starttls != "off" else None,
        require_starttls=require_tls,
        enable_SMTPUTF8=True,
        decode_data=False,
        data_size_limit=listener.max_message_bytes,
        timeout=listener.idle_timeout_seconds,
        command_call_limit=COMMAND_LIMITS,
    )

