"""redirectrecipients: acts on the running gateway's queue at once (state, not configuration)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command


@command("redirectrecipients", "Redirect all messages to another relay host.", roles=R.CONFIGURE)
def redirectrecipients(ctx, args):
    args.expect_done("redirectrecipients")
    target = args.positional[0] if args.positional else None
    if target is None and not ctx.batch:
        target = ctx.prompter.ask("Please enter the hostname or IP address of the machine you want to "
                                  "send all mail to (or 'clear' to stop redirecting).")
    if target is None or len(args.positional) > 1:
        raise CommandError("Usage: redirectrecipients HOST[:PORT] | clear")
    target = None if target.lower() == "clear" else target
    ctx.control("redirect", target=target)
    ctx.say(f"All mail is now delivered to {target} (in effect now, until cleared or restart)."
            if target else "Redirection cleared.")
