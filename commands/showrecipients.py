"""showrecipients: acts on the running gateway's queue at once (state, not configuration)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.queueselect import selection


@command("showrecipients", "Show messages in the queue by recipient host or sender.", roles=R.VIEW)
def showrecipients(ctx, args):
    by, value = selection(ctx, args, "showrecipients")
    rows = ctx.control("queue", by=by, value=value)
    if not rows:
        ctx.say("There are no messages matching your criteria.")
        return
    ctx.say(f"{'MID':>8}  {'Size':>8}  {'Attempts':>8}  {'Sender':<30}  Recipients / Subject")
    for m in rows:
        rcpts = ", ".join(a for _, a in m["recipients"])
        ctx.say(f"{m['mid']:>8}  {m['size']:>8}  {m['attempts']:>8}  {m['sender'] or '<>':<30}  {rcpts}")
        if m["subject"]:
            ctx.say(f"{'':>62}  Subject: {m['subject']}")
        if m["last_error"]:
            ctx.say(f"{'':>62}  Last error: {m['last_error']}")
