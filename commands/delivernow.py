"""delivernow: retry every queued message at once."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.registry import command


@command("delivernow", "Reschedule messages for immediate delivery.", roles=R.CONFIGURE)
def run(ctx, args):
    args.expect_done("delivernow")
    due = ctx.control("delivernow")["due"]
    ctx.say(f"{due} messages rescheduled for immediate delivery.")
