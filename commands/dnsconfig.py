"""dnsconfig: the DNS resolvers the gateway asks (MX and address lookups for delivery)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.schema import DnsSection
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.prompter import UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("dnsconfig", """
print
setup --servers=IP[:PORT],... [--timeout=SECONDS]     (--servers= : the system's resolvers)
""")

@command("dnsconfig", "Configure DNS setup.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    sub = args.subcommand()
    if len(args.positional) != 1:
        raise UsageError()
    if sub == "setup":
        changes = args.take_fields(field_options(DnsSection, "timeout_seconds"))
        if "servers" in args.options:
            value = args.take_option("servers")
            changes["servers"] = tuple(s.strip() for s in ("" if value is True else str(value)).split(",")
                                       if s.strip())
        args.expect_done("dnsconfig setup")
        if not changes:
            raise UsageError()
        ctx.replace_section("dns", **changes)
        return show(ctx)
    raise UsageError()


def show(ctx) -> None:
    d = ctx.config.dns
    if d.servers:
        ctx.say("Using the local DNS cache servers:")
        for i, s in enumerate(d.servers, 1):
            ctx.say(f"{i}. {s}")
    else:
        ctx.say("Using the system's resolvers (/etc/resolv.conf).")
    ctx.say(f"Timeout for DNS queries: {d.timeout_seconds:g} seconds")


def wizard(ctx) -> None:
    p = ctx.prompter
    show(ctx)
    op = p.menu([("SETUP", "Configure the DNS servers.")])
    if op is None:
        return
    answer = p.ask("Enter the IP addresses of the DNS servers (IP or IP:PORT, separated by commas; "
                   "empty: the system's resolvers).", ",".join(ctx.config.dns.servers), allow_empty=True)
    ctx.replace_section("dns", servers=tuple(s.strip() for s in answer.split(",") if s.strip()))
