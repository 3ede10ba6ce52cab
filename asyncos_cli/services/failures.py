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


class _Failure:
    """What an exception chain says: its exceptions, their class names and their text."""

    def __init__(self, exc: BaseException):
        self.chain = list(_chain(exc))
        self.names = {type(e).__name__ for e in self.chain}
        self.text = " ".join(str(e) for e in self.chain).lower()

    def has(self, *types) -> bool:
        return any(isinstance(e, types) for e in self.chain)

    def mentions(self, *phrases) -> bool:
        return any(p in self.text for p in phrases)

    def ssl_reason(self) -> str | None:
        for e in self.chain:
            if isinstance(e, ssl.SSLError):
                return str(getattr(e, "verify_message", None) or getattr(e, "reason", None) or "handshake failed")
        return None


_TIMEOUTS = {"ConnectTimeout", "ReadTimeout", "ConnectTimeoutError", "ReadTimeoutError", "Timeout"}

#: (does the failure look like this, what to say), in order: the first that fits speaks.
_REASONS = (
    (lambda f: "ProxyError" in f.names,
     lambda f, host, url, timeout: f"the upstream proxy failed on the way to {host} (check outboundconfig)"),
    (lambda f: f.has(socket.gaierror) or "NameResolutionError" in f.names
     or f.mentions("name or service not known", "nodename nor servname"),
     lambda f, host, url, timeout: f"the name {host} does not resolve (check the URL and dnsconfig)"),
    (lambda f: f.has(ConnectionRefusedError) or f.mentions("connection refused"),
     lambda f, host, url, timeout: f"{_where(url)} refused the connection (is the service running? check the URL)"),
    (lambda f: f.has(socket.timeout, TimeoutError) or bool(f.names & _TIMEOUTS),
     lambda f, host, url, timeout: f"{host} did not answer{f' within {timeout:g} s' if timeout else ''} "
                                   "(check the network, the URL and outboundconfig's proxy)"),
    (lambda f: f.ssl_reason() is not None,
     lambda f, host, url, timeout: f"the TLS connection to {host} failed: "
                                   f"{f.ssl_reason().replace('_', ' ').lower()} (check certconfig's certificate "
                                   "authorities)"),
    (lambda f: "SSLError" in f.names,
     lambda f, host, url, timeout: f"the TLS connection to {host} failed (check certconfig's certificate "
                                   "authorities)"),
    (lambda f: f.has(ConnectionResetError, BrokenPipeError) or f.mentions("connection aborted"),
     lambda f, host, url, timeout: f"{host} closed the connection (check the URL and the server)"),
)


def describe(exc: BaseException, url: str, timeout: float | None = None) -> str:
    """One sentence: what failed talking to ``url`` and where to look."""
    host = urlsplit(url if "://" in url else f"//{url}").hostname or url
    failure = _Failure(exc)
    for fits, say in _REASONS:
        if fits(failure):
            return say(failure, host, url, timeout)
    return f"the connection to {host} failed (check the URL, dnsconfig and outboundconfig)"
