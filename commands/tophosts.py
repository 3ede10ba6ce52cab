"""tophosts: acts on the running gateway's queue at once (state, not configuration)."""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.registry import command


@command("tophosts", "Display the hosts with the most queued recipients.", roles=R.VIEW)
def tophosts(ctx, args):
    args.expect_done("tophosts")
    hosts = ctx.control("hosts")
    if not hosts:
        ctx.say("There are no messages in the queue.")
        return
    ctx.say(f"Status as of: {time.strftime('%a %b %d %H:%M:%S %Y')}")
    ctx.say(f"{'#':>3}  {'Recipient Host':<40}  {'Active Recip.':>13}  {'In Delivery':>11}")
    for i, h in enumerate(hosts[:20], 1):
        ctx.say(f"{i:>3}  {h['domain']:<40}  {h['pending']:>13}  {h['in_delivery']:>11}")
