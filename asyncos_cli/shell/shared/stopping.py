"""What reboot and shutdown share: stop the gateway's processes cleanly (connections given a grace delay, the
queue kept on disk), and for reboot start them again.

The machine itself is the operating system's: these stop and start the gateway, which is what an appliance's
reboot does for its mail. Over SSH the session ends with the gateway that serves it.
"""

from __future__ import annotations

from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError

from .suspension import delay, suspend


def grammar(name: str) -> Grammar:
    return Grammar(name, "\n[--delay=SECONDS]\n", notes="Interactively the appliance's questions: the delay before "
                   f"connections are closed, then whether to {name}.")


def stop_gateway(ctx, args, name: str) -> None:
    from asyncos_cli.control.daemonproc import (
        DaemonProcessError,
        restart_detached,
        running,
        stop,
    )

    seconds = delay(ctx, args)
    args.expect_done(name)
    if args.positional:
        raise CommandError(f"Usage: {name} [--delay=SECONDS]")
    if not running(ctx.datadir):
        raise CommandError("The gateway is not running: there is nothing to stop ('asyncos-cli serve --detach' "
                           "starts it).")
    if not ctx.batch and not ctx.prompter.yes_no(f"Are you sure you want to {name}?", False):
        ctx.say(f"The {name} was cancelled.")
        return
    suspend(ctx, receiving=True, seconds=seconds)
    queued = ctx.control("status").get("queued", 0)
    if name == "reboot":
        ctx.say(f"Restarting the gateway's processes; the queue is kept ({queued} messages). Sessions over SSH "
                "end now and can log in again in a few seconds.")
        restart_detached(ctx.datadir)
        return
    ctx.say(f"System shutting down. The queue is kept on disk ({queued} messages).")
    try:
        stop(ctx.datadir, 60)
    except DaemonProcessError as e:
        raise CommandError(str(e)) from None
    ctx.say("The gateway is stopped. 'asyncos-cli serve --detach' starts it again.")
