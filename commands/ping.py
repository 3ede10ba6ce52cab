"""ping: send ICMP echo requests from the gateway, through the machine's own ping program."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.systemtools import checked_host, program, stream

GRAMMAR = Grammar("ping", """
HOST [--count=N]
""", notes="Interactively it pings until Ctrl-C (at most 100 requests); in batch it sends N (default 4) and ends. "
           "The exit status is 0 when a reply came.")


@command("ping", "Ping a network host.", roles=R.VIEW, grammar=GRAMMAR)
def run(ctx, args):
    count = args.take_option("count")
    args.expect_done("ping")
    words = list(args.positional)
    if len(words) > 1:
        raise CommandError("Usage: ping HOST [--count=N]")
    if not words:
        if ctx.batch:
            raise CommandError("Usage: ping HOST [--count=N]")
        words = [ctx.prompter.ask("Please enter the host you wish to ping.")]
    host = checked_host(words[0], "ping")
    interactive = not ctx.batch and ctx.prompter.interactive
    if count is None:
        n = 100 if interactive else 4
    elif str(count).isdigit() and 1 <= int(count) <= 100:
        n = int(count)
    else:
        raise CommandError(f"--count: give a number of requests from 1 to 100, got {count!r}")
    exe = program("ping", command="ping", package="iputils-ping")
    if interactive:
        ctx.say("Press Ctrl-C to stop.")
    status = stream(ctx, [exe, "-c", str(n), "-W", "2", "--", host], seconds=n * 2 + 10)
    if status not in (0, None):
        raise CommandError(f"ping: no reply from {host}")
