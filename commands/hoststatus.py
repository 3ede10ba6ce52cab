"""hoststatus: one destination's queue and delivery figures (the running gateway's state since it started)."""

from __future__ import annotations

import time

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
    stamp = lambda t: time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(t)) if t else "No Messages"  # noqa: E731
    ctx.say(f"Host mail status for: '{domain}'")
    ctx.say(f"Status as of:                    {time.strftime('%a %b %d %H:%M:%S %Y')}")
    if h is None:
        ctx.say("Host up/down:                    unknown (nothing queued for it and nothing delivered to it since "
                "the gateway started)")
        return
    ctx.say(f"Host up/down:                    {'down' if h['down'] else 'up'}")
    ctx.say("")
    ctx.say("Counters:")
    ctx.say("  Queue")
    ctx.say(f"    Soft Bounced Events              {h['soft_bounced']:>8}")
    ctx.say("  Completion")
    ctx.say(f"    Completed Recipients             {h['delivered'] + h['hard_bounced']:>8}")
    ctx.say(f"      Hard Bounced Recipients        {h['hard_bounced']:>8}")
    ctx.say(f"      Delivered Recipients           {h['delivered']:>8}")
    ctx.say("Gauges:")
    ctx.say("  Queue")
    ctx.say(f"    Active Recipients                {h['pending']:>8}")
    ctx.say(f"    Unattempted Recipients           {h['unattempted']:>8}")
    ctx.say(f"    Attempted Recipients             {h['pending'] - h['unattempted']:>8}")
    ctx.say("  Connections")
    ctx.say(f"    Current Outbound Connections     {h['connections_out']:>8}")
    ctx.say("")
    ctx.say(f"Oldest Message                     {stamp(h['oldest'])}")
    ctx.say(f"Youngest Message                   {stamp(h['youngest'])}")
    ctx.say(f"Last Activity                      {stamp(h['last_activity']) if h['last_activity'] else 'none'}")
    if h["last_error"]:
        ctx.say(f"Last Error:                        {h['last_error']}")
    if h["last_5xx"]:
        ctx.say("Last 5XX Error:")
        ctx.say("----------")
        ctx.say(h["last_5xx"])
