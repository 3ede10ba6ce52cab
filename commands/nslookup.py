"""nslookup: ask the gateway's DNS resolvers (dnsconfig) about a name, as delivery would."""

from __future__ import annotations

import ipaddress

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "TXT")

GRAMMAR = Grammar("nslookup", """
NAME [A|AAAA|CNAME|MX|NS|PTR|SOA|TXT]
""", notes="An IP address is looked up as PTR. The resolvers are dnsconfig's (the system's when it lists none), "
           "with its timeout.")


@command("nslookup", "Query a nameserver.", roles=R.VIEW, grammar=GRAMMAR)
def run(ctx, args):
    args.expect_done("nslookup")
    words = list(args.positional)
    if len(words) > 2:
        raise CommandError("Usage: nslookup NAME [TYPE]")
    if not words:
        if ctx.batch:
            raise CommandError("Usage: nslookup NAME [TYPE]")
        words = [ctx.prompter.ask("Please enter the host or IP address to resolve.")]
        if not _is_ip(words[0]):
            words.append(TYPES[ctx.prompter.choose("Choose the query type:", list(TYPES), 0)])
    name, rdtype = words[0].strip(), (words[1].upper() if len(words) > 1 else "A")
    if rdtype not in TYPES:
        raise CommandError(f"nslookup: {rdtype!r} is not a query type: one of {', '.join(TYPES)}")
    if _is_ip(name):
        import dns.reversename

        name, rdtype = dns.reversename.from_address(name).to_text(), "PTR"
    for line in _lookup(ctx.config, name, rdtype):
        ctx.say(line)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip())
        return True
    except ValueError:
        return False


def _lookup(config, name: str, rdtype: str) -> list[str]:
    import asyncio

    import dns.exception
    import dns.resolver

    from asyncos_cli.services import dnsstats, smtpout

    try:
        answer = asyncio.run(dnsstats.lookup(smtpout.resolver(config), name, rdtype, config.dns.timeout_seconds))
    except dns.resolver.NXDOMAIN:
        raise CommandError(f"{name} does not exist (NXDOMAIN).") from None
    except dns.resolver.NoAnswer:
        return [f"No {rdtype} records for {name}."]
    except dns.exception.DNSException as e:
        raise CommandError(f"The lookup of {name} ({rdtype}) failed: {type(e).__name__}: {e}") from None
    ttl = answer.rrset.ttl
    out = []
    for rr in answer:
        if rdtype == "MX":
            out.append(f"MX={rr.exchange.to_text(omit_final_dot=True)} PREF={rr.preference} TTL={ttl}s")
        else:
            out.append(f"{rdtype}={rr.to_text()} TTL={ttl}s")
    return out
