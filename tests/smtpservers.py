"""aiosmtpd test servers that keep what they receive: with STARTTLS (a given certificate) or plain."""

from __future__ import annotations

import ssl

from aiosmtpd.controller import Controller
from conftest import free_port


class _Collect:
    def __init__(self):
        self.messages: list[bytes] = []
        #: Whether each message came over TLS (the session's transport had an SSL object).
        self.over_tls: list[bool] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        self.over_tls.append(session.ssl is not None)
        return "250 OK"


class TlsServer:
    """An aiosmtpd server on a free port; STARTTLS with ``issued`` (tests.pki) or, with None, no STARTTLS.
    With ``logins`` ({user: passphrase}) it offers SMTP AUTH (after STARTTLS) and keeps every attempt in
    ``attempts`` as (mechanism, user, passphrase)."""

    def __init__(self, issued, tmp_path, stem: str, logins: dict[str, str] | None = None):
        ctx = None
        if issued is not None:
            cert, key = issued.write(tmp_path, stem)
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(cert, key)
        self.handler = _Collect()
        self.port = free_port()
        self.attempts: list[tuple[str, str, str]] = []
        extra = {}
        if logins is not None:
            from aiosmtpd.smtp import AuthResult

            def authenticator(server, session, envelope, mechanism, auth_data):
                user, password = auth_data.login.decode(), auth_data.password.decode()
                self.attempts.append((mechanism, user, password))
                return AuthResult(success=logins.get(user) == password)

            extra = {"authenticator": authenticator, "auth_require_tls": True}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, tls_context=ctx,
                                     require_starttls=False, **extra)
        self.controller.start()

    def stop(self):
        self.controller.stop()
