"""workqueue: the delivery queue's state; pause and resume delivery."""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command


@command("workqueue", "Display and/or alter work queue pause status.", roles=R.CONFIGURE,
         subcommands=("status", "pause", "resume"))
def run(ctx, args):
    args.expect_done("workqueue")
    sub = args.subcommand() or "status"
    if sub not in ("status", "pause", "resume") or len(args.positional) > 1:
        raise CommandError("Usage: workqueue [status | pause | resume]")
    st = ctx.control("workqueue", action=sub)
    ctx.say(f"Status: {'Paused' if st['paused'] else 'Operational'}")
    ctx.say(f"Messages: {st['queued']}")
    if sub != "status":
        ctx.say(f"Delivery {'paused' if st['paused'] else 'resumed'} at {time.strftime('%H:%M:%S')}; "
                "in effect now (no commit needed).")
