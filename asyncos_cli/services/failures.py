"""What went wrong on the way to a server, in an administrator's words.

requests and urllib3 wrap the real cause several layers deep and print
their wrappers (``HTTPSConnectionPool(host=...): Max retries exceeded ...
(Caused by NewConnectionError(...))``): Python internals, not a reason.
This module finds the cause in the chain and says what failed and what to
check, once for every outbound client (cloud services, licensing,
remediation, file reputation, IMAP).
"""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit


def _chain(exc: BaseException):
    """The exception and every exception it wraps (args, urllib3's .reason, cause, context), once each."""
    seen, todo = set(), [exc]
    while todo:
        e = todo.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        for nxt in (getattr(e, "reason", None), e.__cause__, e.__context__, *getattr(e, "args", ())):
            if isinstance(nxt, BaseException):
                todo.append(nxt)


def _where(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"//{url}")
    port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
    return f"{parts.hostname}:{port}" if port else str(parts.hostname)


def describe(exc: BaseException, url: str, timeout: float | None = None) -> str:
    """One sentence: what failed talking to ``url`` and where to look."""
    host = urlsplit(url if "://" in url else f"//{url}").hostname or url
    chain = list(_chain(exc))
    names = {type(e).__name__ for e in chain}
    text = " ".join(str(e) for e in chain).lower()
    if "ProxyError" in names:
        return f"the upstream proxy failed on the way to {host} (check outboundconfig)"
    if any(isinstance(e, socket.gaierror) for e in chain) or "NameResolutionError" in names \
            or "name or service not known" in text or "nodename nor servname" in text:
        return f"the name {host} does not resolve (check the URL and dnsconfig)"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "connection refused" in text:
        return f"{_where(url)} refused the connection (is the service running? check the URL)"
    if any(isinstance(e, (socket.timeout, TimeoutError)) for e in chain) or names & {
            "ConnectTimeout", "ReadTimeout", "ConnectTimeoutError", "ReadTimeoutError", "Timeout"}:
        within = f" within {timeout:g} s" if timeout else ""
        return f"{host} did not answer{within} (check the network, the URL and outboundconfig's proxy)"
    for e in chain:
        if isinstance(e, ssl.SSLError):
            reason = getattr(e, "verify_message", None) or getattr(e, "reason", None) or "handshake failed"
            return (f"the TLS connection to {host} failed: {str(reason).replace('_', ' ').lower()} "
                    "(check certconfig's certificate authorities)")
    if "SSLError" in names:
        return f"the TLS connection to {host} failed (check certconfig's certificate authorities)"
    if any(isinstance(e, (ConnectionResetError, BrokenPipeError)) for e in chain) or "connection aborted" in text:
        return f"{host} closed the connection (check the URL and the server)"
    return f"the connection to {host} failed (check the URL, dnsconfig and outboundconfig)"
