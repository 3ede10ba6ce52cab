"""traceroute: the route to a host, through the machine's own traceroute (or tracepath)."""

from __future__ import annotations

import os

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.systemtools import checked_host, program, stream

GRAMMAR = Grammar("traceroute", """
HOST
""", notes="At most 30 hops; Ctrl-C stops it.")


@command("traceroute", "Display the network route to a remote host.", roles=R.VIEW, grammar=GRAMMAR)
def run(ctx, args):
    args.expect_done("traceroute")
    words = list(args.positional)
    if len(words) > 1:
        raise CommandError("Usage: traceroute HOST")
    if not words:
        if ctx.batch:
            raise CommandError("Usage: traceroute HOST")
        words = [ctx.prompter.ask("Please enter the host to which you want to trace the route.")]
    host = checked_host(words[0], "traceroute")
    exe = program("traceroute", "tracepath", command="traceroute", package="traceroute")
    argv = [exe, "-m", "30", "-w", "2", "--", host] if os.path.basename(exe) == "traceroute" else \
        [exe, "-m", "30", host]
    if stream(ctx, argv, seconds=120) not in (0, None):
        raise CommandError(f"traceroute: {host} could not be traced")
