"""outboundconfig: what every outbound client shares: the upstream HTTP proxy, timeouts and retries.

(The appliance keeps these under its update and service settings; here one
section serves every client: reputation APIs, and later file analysis,
licensing and alerts.)
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import HttpProxy, OutboundSection
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("outboundconfig", """
print
setup [--proxy=HOST:PORT | --proxy=none] [--proxy-user=USER] [--proxy-passphrase=P]
      [--timeout=SECONDS] [--retries=N]
""")

@command("outboundconfig", "Configure the upstream proxy and timeouts of outbound clients.", roles=R.ADMIN_ONLY,
         grammar=GRAMMAR)
def run(ctx, args):
    sub = args.subcommand()
    if len(args.positional) != 1:
        raise UsageError()
    if sub == "setup":
        changes = args.take_fields(field_options(OutboundSection, "timeout_seconds", "retries"))
        proxy = args.take_option("proxy")
        user = args.take_option("proxy-user")
        passphrase = args.secret("proxy-passphrase", ctx)
        args.expect_done("outboundconfig setup")
        try:
            if proxy is not None:
                if str(proxy).lower() in ("none", ""):
                    changes["proxy"] = None
                else:
                    host, _, port = str(proxy).rpartition(":") if ":" in str(proxy) else (str(proxy), "", "3128")
                    if not port.isdigit():
                        raise CommandError("--proxy takes HOST:PORT")
                    changes["proxy"] = HttpProxy(host, int(port), str(user or ""),
                                                 ctx.keyring.seal(passphrase) if passphrase else None)
        except ConfigError as e:
            raise CommandError(str(e)) from None
        ctx.replace_section("outbound", **changes)
        return show(ctx)
    raise UsageError()


def show(ctx) -> None:
    o = ctx.config.outbound
    p = o.proxy
    ctx.say(f"Upstream HTTP proxy: {f'{p.host}:{p.port}' + (f' (user {p.username})' if p.username else '') if p else 'none'}")
    ctx.say(f"Timeout: {o.timeout_seconds:g} seconds; retries: {o.retries}")
