"""The gateway's own mail (alerts, support requests), sent straight to the recipient domain's host.

``tls`` says what the message may travel over:

- ``required``: STARTTLS or nothing; a server that does not offer it gets
  nothing in clear (alertconfig with TLS support on);
- ``opportunistic``: STARTTLS whenever the server offers it, plain text only
  when it does not (supportrequest, as 14.0 specifies);
- ``off``: plain text.

Once STARTTLS is on, the peer certificate is judged as sslconfig says; a
rejected certificate never falls back to plain text.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import defaultdict
from dataclasses import dataclass

import aiosmtplib

from asyncos_cli.config.addresses import split
from asyncos_cli.config.schema import Config

from . import smtpout
from .tlsverify import PeerRejected

TLS_MODES = ("required", "opportunistic", "off")


class SendFailed(Exception):
    """Nothing was sent to these recipients; the reason is for a log line and the shell."""


@dataclass(frozen=True)
class Sent:
    host: str
    #: The TLS version used, or None when the message went in plain text.
    tls: str | None

    def describe(self) -> str:
        return f"over TLS ({self.tls}) to {self.host}" if self.tls else f"in plain text to {self.host}"


async def send(config: Config, sender: str, recipients: list[str], content: bytes, tls: str,
               timeout: float = 30.0) -> list[Sent]:
    """Send to every recipient's domain; raises SendFailed naming the first domain that failed."""
    by_domain: dict[str, list[str]] = defaultdict(list)
    for r in recipients:
        by_domain[split(r)[1].lower()].append(r)
    done = []
    for domain, rcpts in by_domain.items():
        done.append(await _send_domain(config, sender, domain, rcpts, content, tls, timeout))
    return done


async def _send_domain(config, sender, domain, rcpts, content, tls, timeout) -> Sent:
    hops = smtpout.routed_hosts(domain, config)
    if hops == smtpout.DEV_NULL:
        return Sent("/dev/null", None)
    if hops is None:
        try:
            hops = await smtpout.mx_hops(domain, config)
        except smtpout.NoSuchDomain:
            raise SendFailed(f"the domain {domain} does not exist") from None
        except smtpout.LookupFailed as e:
            raise SendFailed(str(e)) from None
    last = f"no host of {domain} answered"
    for hop in hops:
        try:
            return await asyncio.wait_for(_session(config, hop, sender, rcpts, content, tls), timeout)
        except (OSError, asyncio.TimeoutError, aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected,
                aiosmtplib.SMTPTimeoutError, smtpout.LookupFailed) as e:
            from .failures import describe

            last = describe(e, f"smtp://{hop.host}:{hop.port}", timeout)
    raise SendFailed(last)


async def _session(config, hop, sender, rcpts, content, tls) -> Sent:
    client = aiosmtplib.SMTP(hostname=await smtpout.address(hop.host, config), port=hop.port, start_tls=False,
                             local_hostname=config.system.hostname, timeout=30)
    await client.connect()
    try:
        await client.ehlo()
        version = None
        if tls != "off":
            if not client.supports_extension("starttls"):
                if tls == "required":
                    raise SendFailed(f"{hop.host} does not offer STARTTLS and TLS is required: nothing was sent "
                                     "in clear")
            else:
                try:
                    await client.starttls(tls_context=smtpout.negotiation_context(config),
                                          server_hostname=smtpout.sni(hop.host))
                except (ssl.SSLError, aiosmtplib.SMTPException) as e:
                    raise SendFailed(f"TLS negotiation with {hop.host} failed: {e}") from None
                try:
                    smtpout.check_peer(client, hop.host, config)
                except PeerRejected as e:
                    raise SendFailed(f"certificate of {hop.host} rejected: {e}") from None
                version = smtpout.tls_version(client)
        try:
            await client.sendmail(sender, rcpts, content)
        except aiosmtplib.SMTPRecipientsRefused as e:
            raise SendFailed(f"{hop.host} refused the recipients: {e}") from None
        except aiosmtplib.SMTPResponseException as e:
            raise SendFailed(f"{hop.host} answered {e.code} {e.message}") from None
        return Sent(hop.host, version)
    finally:
        try:
            await asyncio.wait_for(client.quit(), 5)
        except Exception:  # the message is already handed over (or refused); a rude close changes nothing
            client.close()
