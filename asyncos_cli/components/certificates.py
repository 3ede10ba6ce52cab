"""The certificates the listeners present: the demonstration one or an imported one, and their expiry."""

from __future__ import annotations

import time
from typing import Callable

from asyncos_cli.config.schema import Config
from asyncos_cli.events import Event
from asyncos_cli.events.system import (
    CertificateAdded,
    CertificateExpiring,
    DemoCertificateInUse,
)
from asyncos_cli.services.certificates import (
    EXPIRY_WARNING_DAYS,
    DemoCertificate,
    expires,
)

from .base import Component, Every


class Certificates(Component):
    def __init__(self, state_dir, run_dir, keyring, emit: Callable[[Event], None], config: Callable[[], Config]):
        self._config = config
        self._keyring = keyring
        self._run_dir = run_dir
        self._emit = emit
        self._tls_cache: dict = {}
        self._check = Every(86400)
        #: What was in use at the last look (None: not looked yet), to tell SNMP monitors of added keys.
        self._keys_in_use: tuple | None = None
        self._labels: set[str] = set()
        self.demo = DemoCertificate.at(state_dir)
        self.demo.ensure(keyring, config().system.hostname)
        if self.demo_in_use:
            emit(DemoCertificateInUse(self.demo.subject()))

    @property
    def demo_in_use(self) -> bool:
        config = self._config()
        return any(not l.certificate for l in config.listeners.listeners if l.enabled and l.starttls != "off")

    def listener_context(self, listener, config: Config):
        """The context a listener's STARTTLS uses: its certificate (or the demonstration one) with
        sslconfig's inbound versions and ciphers; built once per certificate and settings."""
        from asyncos_cli.services.certificates import listener_context, servable_problem

        s = config.ssl
        cert = config.certificates.get(listener.certificate) if listener.certificate else None
        if listener.certificate and cert is None:
            raise ValueError(f"the certificate {listener.certificate!r} does not exist")
        if cert is not None:
            problem = servable_problem(cert.certificate)
            if problem:  # kept with --allow-expired, never presented
                raise ValueError(f"{cert.name}: {problem}")
        key = (cert, s.inbound_methods, s.inbound_ciphers)
        ctx = self._tls_cache.get(key)
        if ctx is None:
            if cert is None:
                ctx = self.demo.server_context(self._keyring, s.inbound_methods, s.inbound_ciphers)
            else:
                ctx = listener_context(cert.certificate, self._keyring.reveal(cert.private_key), s.inbound_methods,
                                       s.inbound_ciphers, self._run_dir, self._keyring.derived_passphrase("tls"))
            self._tls_cache = {k: v for k, v in self._tls_cache.items() if k[0] in config.certificates.certificates
                               or k[0] is None}
            self._tls_cache[key] = ctx
        return ctx

    async def tick(self, now: float) -> None:
        """Warn of certificates that expire within 30 days, once a day (and at start)."""
        in_use = (self.demo_in_use, tuple(c.name for c in self._config().certificates.certificates))
        changed = in_use != self._keys_in_use
        if not changed and not self._check.due(now):
            return
        rows = {label: (i, seconds) for i, (label, seconds) in enumerate(self.seconds_left(), 1)}
        if changed:
            if self._keys_in_use is not None:
                for label in sorted(set(rows) - self._labels):  # added: monitors hear of it and of its row
                    row, seconds = rows[label]
                    self._emit(CertificateAdded(label.removeprefix("Certificate: "), seconds, row))
            self._keys_in_use, self._labels = in_use, set(rows)
            if not self._check.due(now):
                return
        for name, days in self.expiring():
            row, seconds = rows.get(f"Certificate: {name}", (0, days * 86400))
            self._emit(CertificateExpiring(name, days, seconds, row))

    def expiring(self) -> list[tuple[str, int]]:
        """(name, days left) of the certificates within 30 days of their end, or past it."""
        now, out = time.time(), []
        for cert in self._config().certificates.certificates:
            try:
                days = int((expires(cert.certificate).timestamp() - now) // 86400)
            except ValueError:
                continue
            if days <= EXPIRY_WARNING_DAYS:
                out.append((cert.name, days))
        return out

    def seconds_left(self) -> list[tuple[str, int]]:
        """(label, seconds to expiry) of every certificate in use, for SNMP's key expiration table."""
        keys = []
        now = time.time()
        if self.demo_in_use:
            try:
                keys.append(("Certificate: demonstration", int(expires(self.demo.cert.read_text()).timestamp() - now)))
            except (OSError, ValueError):
                pass
        for cert in self._config().certificates.certificates:
            try:
                keys.append((f"Certificate: {cert.name}", int(expires(cert.certificate).timestamp() - now)))
            except ValueError:
                continue
        return keys

    def rows(self) -> list[list[str]]:
        return [["TLS certificate", "demonstration certificate" if self.demo_in_use else "imported"]]

    def facts(self) -> dict:
        return {"demo_certificate": self.demo_in_use, "certificates_expiring": self.expiring()}
