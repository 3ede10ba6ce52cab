"""Every adjustment the gateway makes to aiosmtpd beyond its handler hooks, in one place.

aiosmtpd's public contract is its ``handle_*`` hooks. For speed and for the appliance's wording the gateway
also leans on internals, listed in ``INTERNALS`` and checked by ``tests/test_aiosmtpd_internals.py`` (which
fails when an aiosmtpd release changes one of them); ``setup.cfg`` pins aiosmtpd to ``SUPPORTED``, so an
upgrade is a deliberate step:

- ``SMTP.__init__`` scans each new connection object with ``inspect.getmembers`` (for ``auth_*``) and
  ``dir(self)`` (for ``smtp_*``, ``handle_*``), and takes the EHLO hook's ``inspect.signature``: about a
  third of the receive path under load; all are answered per class or function here, once (``install``).
- ``SMTP.push`` writes each line of a multi-line reply separately; some clients (nmap's SMTP library, for
  one) read the first segment as the whole reply: ``AdjustedSMTP.push`` sends EHLO's answer in one write.
- ``SMTP._timeout_cb`` closes an idle connection silently: a 421 says why first.
- ``SMTP._getaddr`` parses every path with the email package's header parser (about a sixth of the receive
  path): a plain dot-atom path takes a regular expression; a source route is kept whole so the listener can
  refuse it (``keeps_source_routes``); everything else goes to aiosmtpd.
- ``SMTP.handle_exception`` prints a traceback for each failed TLS handshake (``TLSSetupException``): one
  ``tls_failed(reason)`` call and a 454 instead.
- ``SMTP._handle_client`` is where the gateway's listener decides before the greeting (host access table).
"""

from __future__ import annotations

import inspect
import re
from functools import lru_cache

import aiosmtpd
import aiosmtpd.smtp
from aiosmtpd.smtp import SMTP

#: The aiosmtpd releases these adjustments are checked against: at least the first, below the second.
SUPPORTED = ((1, 4, 6), (1, 5))

#: The internals relied on: (owner, attribute).
INTERNALS = (
    (SMTP, "_handle_client"), (SMTP, "_timeout_cb"), (SMTP, "_getaddr"), (SMTP, "push"),
    (SMTP, "handle_exception"), (SMTP, "local_part_limit"), (aiosmtpd.smtp, "TLSSetupException"),
    (aiosmtpd.smtp, "inspect"),
)

#: A path with a source route (RFC 5321 4.1.2 "A-d-l"), kept whole so that it can be refused.
_SOURCE_ROUTE = re.compile(r"\s*<(@[^<>\s]*:[^<>\s]+)>(.*)\Z", re.S)
#: The everyday path: <local@domain> with a dot-atom local part, then parameters.
_PLAIN_PATH = re.compile(r"\s*<([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+)>(.*)\Z", re.S)


class _AuthScanOnly:
    """Stands in for ``inspect`` inside aiosmtpd.smtp: ``getmembers`` lists only the ``auth_*`` names
    (cached per class), all that SMTP.__init__ keeps of it; everything else is the real module."""

    def __getattr__(self, name):
        return getattr(inspect, name)

    @staticmethod
    def getmembers(obj, predicate=None):
        members = [(name, getattr(obj, name)) for name in _auth_names(type(obj))]
        return [(n, m) for n, m in members if predicate is None or predicate(m)]

    @staticmethod
    def signature(obj):
        """The handler's EHLO hook's signature, worked out once per function (a bound method drops self)."""
        return _signature(getattr(obj, "__func__", obj), hasattr(obj, "__self__"))


@lru_cache(maxsize=None)
def _signature(func, bound: bool) -> inspect.Signature:
    sig = inspect.signature(func)
    return sig.replace(parameters=list(sig.parameters.values())[1:]) if bound else sig


@lru_cache(maxsize=None)
def _auth_names(cls: type) -> tuple[str, ...]:
    return tuple(n for n in dir(cls) if n.startswith("auth_"))


@lru_cache(maxsize=None)
def _class_names(cls: type) -> tuple[str, ...]:
    return tuple(n for n in dir(cls) if n.startswith(("handle_", "smtp_")))


def _dir_of_class(obj=None):
    """``dir`` inside aiosmtpd.smtp, cached per class: SMTP.__init__ looks in it for the handle_* hooks and the
    smtp_* commands only (class attributes both), so only those names are listed."""
    return list(_class_names(type(obj)))


def install() -> None:
    """Answer SMTP.__init__'s per-connection scans per class (idempotent)."""
    aiosmtpd.smtp.inspect = _AuthScanOnly()
    aiosmtpd.smtp.dir = _dir_of_class


def version() -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", aiosmtpd.__version__)[:3])


#: aiosmtpd's reply when DATA passes data_size_limit (it discarded the rest as it came) and the appliance's.
_AIOSMTPD_TOO_MUCH = "552 Error: Too much mail data"
MESSAGE_TOO_LARGE = "552 5.3.4 Message size exceeds fixed maximum message size"


class AdjustedSMTP(SMTP):
    """aiosmtpd's SMTP with the adjustments above; subclasses say what to keep and what failed."""

    def __init__(self, *args, **kwargs):
        self._continued: list[str] = []  # the lines of a multi-line reply not yet sent
        super().__init__(*args, **kwargs)

    def keeps_source_routes(self) -> bool:
        """True: a source-routed path reaches the hooks whole (to be refused); False: aiosmtpd strips it."""
        return False

    def tls_failed(self, reason: str) -> None:
        """A TLS handshake failed (once per failure)."""

    def data_too_large(self) -> None:
        """DATA went past the listener's size limit: aiosmtpd stopped keeping it (never held whole)."""

    async def push(self, status: str) -> None:
        """Send a multi-line reply (EHLO) in one write, as MTAs do."""
        if status == _AIOSMTPD_TOO_MUCH:
            self.data_too_large()
            status = MESSAGE_TOO_LARGE
        if len(status) > 3 and status[3] == "-":
            self._continued.append(status)
            return
        if self._continued:
            status = "\r\n".join([*self._continued, status])
            self._continued = []
        await super().push(status)

    def _timeout_cb(self) -> None:
        """An idle client is told why before it is disconnected."""
        if self.transport is not None and not self.transport.is_closing():
            try:
                self.transport.write(f"421 4.4.2 {self.hostname} Error: timeout exceeded\r\n".encode())
            except Exception:  # the peer may already be gone; closing is what matters
                pass
        super()._timeout_cb()

    def _getaddr(self, arg: str):
        m = _PLAIN_PATH.match(arg) if arg else None
        if m is None or ".." in m.group(1) or m.group(1).startswith("."):
            route = _SOURCE_ROUTE.match(arg) if arg else None
            if route is not None and self.keeps_source_routes():
                return route.group(1), route.group(2).lstrip()
            return super()._getaddr(arg)
        local = m.group(1).rpartition("@")[0]
        if self.local_part_limit and len(local) > self.local_part_limit:
            return None, None
        return m.group(1), m.group(2).lstrip()  # aiosmtpd's parser drops the white space before parameters

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, aiosmtpd.smtp.TLSSetupException):
            cause = error.__cause__
            self.tls_failed(getattr(cause, "reason", None) or str(cause or "handshake failed") or type(cause).__name__)
            return "454 4.7.0 TLS not available due to temporary reason"
        return await super().handle_exception(error)
