"""tlsverify: reach a destination as delivery would and say whether TLS holds there."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("tlsverify", """
DOMAIN [HOST[:PORT]]
""", notes="Without HOST, the host delivery would use (smtproutes, else MX). Exit status 0 when TLS would succeed "
           "under the destination's settings (destconfig) and sslconfig's checks, 1 otherwise.")


@command("tlsverify", "Establish an outbound TLS connection to a remote host and debug any TLS issues.",
         roles=R.VIEW, grammar=GRAMMAR)
def run(ctx, args):
    import asyncio

    from asyncos_cli.services.tlscheck import check_destination

    args.expect_done("tlsverify")
    words = list(args.positional)
    if len(words) > 2 or (not words and ctx.batch):
        raise CommandError("Usage: tlsverify DOMAIN [HOST[:PORT]]")
    if not words:
        words = [ctx.prompter.ask("Enter the TLS domain to verify against.")]
        host = ctx.prompter.ask("Enter the destination host to connect to. Press Enter if you wish to use the "
                                "MX records.", "", allow_empty=True)
        if host:
            words.append(host)
    result = asyncio.run(check_destination(words[0].strip().lower(), words[1] if len(words) > 1 else None,
                                           ctx.config))
    for line in result.lines:
        ctx.say(line)
    if not result.ok:
        raise CommandError(result.lines[-1])
