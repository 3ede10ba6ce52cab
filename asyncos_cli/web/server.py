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

log = logging.getLogger("asyncos.web")

#: The web interface's ports are kept in interfaceconfig; the interface itself is a later release's.
WEB_NOT_YET = "the web interface is not supported yet"


def wanted(config) -> list:
    """(Binding, TLS settings or None) for every API port turned on: the settings decide the context."""
    out = []
    tls = (config.ssl.inbound_methods, config.ssl.inbound_ciphers)
    for i in config.interfaces.interfaces:
        if i.api_http:
            out.append((listening.Binding("AsyncOS API HTTP", i.name, i.address, i.api_http_port), None))
        if i.api_https:
            cert = config.certificates.get(i.certificate) if i.certificate else None
            out.append((listening.Binding("AsyncOS API HTTPS", i.name, i.address, i.api_https_port),
                        (cert, *tls)))
    return out


class Sites:
    def __init__(self, runner: web.AppRunner, keyring: Keyring, datadir: DataDir):
        self.runner, self.keyring, self.datadir = runner, keyring, datadir
        self.demo = DemoCertificate.at(datadir.state)

    def context(self, settings) -> ssl.SSLContext:
        cert, methods, ciphers = settings
        if cert is None:
            return self.demo.server_context(self.keyring, methods, ciphers)
        return listener_context(cert.certificate, self.keyring.reveal(cert.private_key), methods, ciphers,
                                self.datadir.run, self.keyring.derived_passphrase("tls"))

    async def open(self, binding: listening.Binding, settings) -> web.TCPSite:
        try:
            ctx = None if settings is None else self.context(settings)
        except (ssl.SSLError, ValueError) as e:
            raise OSError(0, f"no usable certificate: {e}") from None
        site = web.TCPSite(self.runner, binding.address, binding.port, ssl_context=ctx, reuse_address=True,
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
    runner = web.AppRunner(application(api), access_log=None, handle_signals=False)
    await runner.setup()
    sites = Sites(runner, keyring, datadir)
    try:
        await servicechild.run(access, "web", log, wanted, sites.open, sites.close)
    finally:
        await runner.cleanup()
        api.close()


def main() -> None:
    servicechild.die_with_parent()
    logging.basicConfig(level=logging.WARNING, format="asyncos-cli web: %(message)s", stream=sys.stderr)
    asyncio.run(serve(DataDir.from_env()))
