"""suspendlistener / resumelistener: stop and restart accepting connections on a listener."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command


def _name(ctx, args, verb: str) -> str:
    args.expect_done(verb)
    if len(args.positional) != 1:
        if ctx.batch:
            raise CommandError(f"Usage: {verb} LISTENER")
        return ctx.prompter.ask("Enter the name of the listener.")
    return args.positional[0]


@command("suspendlistener", "Suspend receiving on a listener.", roles=R.CONFIGURE)
def run(ctx, args):
    name = ctx.control("suspendlistener", name=_name(ctx, args, "suspendlistener"))
    ctx.say(f"Listener {name} suspended: it accepts no connections until resumelistener (in effect now).")
