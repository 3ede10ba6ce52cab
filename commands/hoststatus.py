"""hoststatus: acts on the running gateway's queue at once (state, not configuration)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command


@command("hoststatus", "Get the status of the given hostname.", roles=R.VIEW)
def hoststatus(ctx, args):
    args.expect_done("hoststatus")
    if len(args.positional) != 1:
        if ctx.batch:
            raise CommandError("Usage: hoststatus DOMAIN")
        domain = ctx.prompter.ask("Recipient host:")
    else:
        domain = args.positional[0]
    from asyncos_cli.config.addresses import AddressError, ascii_domain

    try:
        wanted = ascii_domain(domain)
    except AddressError as e:
        raise CommandError(str(e)) from None
    h = next((x for x in ctx.control("hosts") if x["domain"] == wanted), None)
    ctx.say(f"Host mail status for: '{domain}'")
    if h is None:
        ctx.say("Active Recipients: 0 (nothing queued for this host)")
        return
    ctx.say(f"Active Recipients: {h['pending']}")
    ctx.say(f"Recipients in delivery: {h['in_delivery']}")
    ctx.say(f"Last error: {h['last_error'] or 'none'}")
