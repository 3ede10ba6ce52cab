"""DKIM signing of outgoing mail, after every content change (filters, stripheaders): at the delivery attempt.

Mail received on a private listener whose header From is in a signing profile's domain (or a subdomain) gets
a DKIM-Signature on top, made in a thread (RSA takes milliseconds; the event loop must not wait). A message
that already carries our signature at its top (a retry) is not signed again; the queue file keeps the content
as received, so a restart signs afresh.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
from typing import Callable

from asyncos_cli.config.schema import Config
from asyncos_cli.events.mail import DkimSigned, StageVerdict
from scanning import dkim

from .scanq import direction_of
from .spool import QueuedMessage


async def sign_if_wanted(msg: QueuedMessage, config: Config, reveal: Callable | None, emit) -> None:
    if msg.is_bounce or reveal is None or not config.domainkeys.signing or direction_of(msg, config) != "outgoing":
        return
    domain = _from_domain(msg.header_from)
    profile = config.domainkeys.signing_for(domain) if domain else None
    if profile is None or _already_signed(msg.content, profile.domain, profile.selector):
        return
    key = config.domainkeys.key(profile.key)
    if key is None or key.private_key is None:
        return
    try:
        header = await asyncio.to_thread(dkim.sign, msg.content, profile.domain, profile.selector, key.kind,
                                         reveal(key.private_key), profile.headers, profile.canonicalization)
    except Exception as e:  # a key that stopped working: the message goes unsigned, and the log says why
        emit(StageVerdict(msg.mid, "dkim_signing", "UNSCANNABLE", f"not signed: {type(e).__name__}: {e}"))
        return
    msg.content = header + msg.content
    emit(DkimSigned(msg.mid, profile.domain, profile.selector, f"@{profile.domain}"))


def _from_domain(header_from: str) -> str:
    _, address = email.utils.parseaddr(header_from)
    return address.rpartition("@")[2].lower() if "@" in address else ""


def _already_signed(content: bytes, domain: str, selector: str) -> bool:
    if not content[:15].lower().startswith(b"dkim-signature:"):
        return False
    first = content.split(b"\r\n\r\n", 1)[0]
    field = re.match(rb"(?i)dkim-signature:(.*?)\r\n(?![ \t])", first + b"\r\n", re.S)
    text = re.sub(rb"\s+", b"", field.group(1)) if field else b""
    return f"d={domain};".encode() in text + b";" and f"s={selector};".encode() in text + b";"
