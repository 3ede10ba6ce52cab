"""tophosts: the destinations with the most queued recipients, or sorted as asked (the running gateway's
queue and delivery figures since it started: state, not configuration)."""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

#: The appliance's "Sort results by" choices: (label, key, batch keyword).
SORTS = (("Active Recipients", "pending", "active"), ("Connections Out", "connections_out", "connections"),
         ("Delivered Recipients", "delivered", "delivered"), ("Hard Bounced Recipients", "hard_bounced", "hard"),
         ("Soft Bounced Events", "soft_bounced", "soft"))

GRAMMAR = Grammar("tophosts", """
[--sort=active|connections|delivered|hard|soft] [--count=N]
""", notes="The 20 first unless --count says otherwise. Hosts marked with '*' were down at the last attempt.")


@command("tophosts", "Display the top hosts by queue size.", roles=R.VIEW, grammar=GRAMMAR)
def tophosts(ctx, args):
    sort = args.take_option("sort")
    count = args.take_option("count", "20")
    args.expect_done("tophosts")
    if not str(count).isdigit() or not 1 <= int(count) <= 1000:
        raise CommandError(f"--count: give a number from 1 to 1000, got {count!r}")
    if sort is not None:
        chosen = next((s for s in SORTS if s[2] == str(sort).lower()), None)
        if chosen is None:
            raise CommandError(f"--sort is one of {', '.join(s[2] for s in SORTS)}")
    elif ctx.batch:
        chosen = SORTS[0]
    else:
        chosen = SORTS[ctx.prompter.choose("Sort results by:", [s[0] for s in SORTS], 0)]
    hosts = ctx.control("hosts")
    ctx.say(f"Status as of:                  {time.strftime('%a %b %d %H:%M:%S %Y %Z')}")
    ctx.say("Hosts marked with '*' were down as of the last delivery attempt.")
    if not hosts:
        ctx.say("There are no hosts to show: nothing is queued and nothing was delivered since the start.")
        return
    hosts = sorted(hosts, key=lambda h: (-h[chosen[1]], h["domain"]))[:int(count)]
    ctx.say(f"{'':<36} {'Active':>7} {'Conn.':>6} {'Deliv.':>7} {'Soft':>7} {'Hard':>7}")
    ctx.say(f"{'  # Recipient Host':<36} {'Recip.':>7} {'Out':>6} {'Recip.':>7} {'Bounced':>7} {'Bounced':>7}")
    for i, h in enumerate(hosts, 1):
        mark = "*" if h["down"] else " "
        ctx.say(f"{i:>3}{mark} {h['domain'][:31]:<31} {h['pending']:>7} {h['connections_out']:>6} "
                f"{h['delivered']:>7} {h['soft_bounced']:>7} {h['hard_bounced']:>7}")
