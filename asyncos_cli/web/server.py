"""The API and web server process: listen on each interface's API ports and follow committed configuration."""

from __future__ import annotations

import asyncio
import logging
import ssl
import sys

from aiohttp import web

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.config.secrets import Keyring
from asyncos_cli.services import listening, servicechild
from asyncos_cli.services.access import AccessPoint
from asyncos_cli.services.certificates import DemoCertificate, listener_context

from . import catalog  # noqa: F401  (every route registers)
from .app import Api, application
from .tokens import Tokens
from .ui.app import application as ui_application
from .ui.sessions import UiSessions

log = logging.getLogger("asyncos.web")

def wanted(config) -> list:
    """(Binding, (application, TLS settings or None)) for every API and web interface port turned on."""
    out = []
    tls = (config.ssl.inbound_methods, config.ssl.inbound_ciphers)
    for i in config.interfaces.interfaces:
        cert = config.certificates.get(i.certificate) if i.certificate else None
        for stem, label, port in i.services():
            if stem == "ssh":
                continue
            app = "api" if stem.startswith("api") else "ui"
            secure = stem.endswith("https")
            out.append((listening.Binding(label if app == "api" else f"Web interface {label}", i.name, i.address,
                                          port), (app, (cert, *tls) if secure else None)))
    return out


class Sites:
    def __init__(self, runners: dict[str, web.AppRunner], keyring: Keyring, datadir: DataDir):
        self.runners, self.keyring, self.datadir = runners, keyring, datadir
        self.demo = DemoCertificate.at(datadir.state)

    def context(self, settings) -> ssl.SSLContext:
        cert, methods, ciphers = settings
        if cert is None:
            return self.demo.server_context(self.keyring, methods, ciphers)
        return listener_context(cert.certificate, self.keyring.reveal(cert.private_key), methods, ciphers,
                                self.datadir.run, self.keyring.derived_passphrase("tls"))

    async def open(self, binding: listening.Binding, settings) -> web.TCPSite:
        app, tls = settings
        try:
            ctx = None if tls is None else self.context(tls)
        except (ssl.SSLError, ValueError) as e:
            raise OSError(0, f"no usable certificate: {e}") from None
        site = web.TCPSite(self.runners[app], binding.address, binding.port, ssl_context=ctx, reuse_address=True,
                           backlog=512)
        await site.start()
        return site

    @staticmethod
    async def close(site: web.TCPSite) -> None:
        await site.stop()


async def serve(datadir: DataDir) -> None:
    access = AccessPoint(datadir)
    keyring = Keyring(datadir.key_file)
    api = Api(access, Tokens(datadir.private_dir(datadir.state) / "api-token.key"))
    runners = {"api": web.AppRunner(application(api), access_log=None, handle_signals=False),
               "ui": web.AppRunner(ui_application(api, UiSessions()), access_log=None, handle_signals=False)}
    for runner in runners.values():
        await runner.setup()
    sites = Sites(runners, keyring, datadir)
    try:
        await servicechild.run(access, "web", log, wanted, sites.open, sites.close)
    finally:
        for runner in runners.values():
            await runner.cleanup()
        api.close()


def main() -> None:
    servicechild.die_with_parent()
    logging.basicConfig(level=logging.WARNING, format="asyncos-cli web: %(message)s", stream=sys.stderr)
    asyncio.run(serve(DataDir.from_env()))
