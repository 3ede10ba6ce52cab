"""tail: the end of a log; interactively it goes on showing new lines until Ctrl-C."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

#: Lines shown before following, unless --lines says otherwise.
DEFAULT_LINES = 10

GRAMMAR = Grammar("tail", """
[LOG] [--lines=N]
""", notes="LOG is a log subscription's name or its number in 'logconfig print'. Interactively, tail shows the "
           "last lines and then each new one until Ctrl-C; in batch it prints the last lines and ends.")


@command("tail", "Continuously display the end of a log file.", roles=R.VIEW, grammar=GRAMMAR)
def run(ctx, args):
    from asyncos_cli.services.logread import current_file, follow, last_lines
    from asyncos_cli.shell.shared.logs import choose_log, find_log

    lines = _count(args.take_option("lines", DEFAULT_LINES))
    args.expect_done("tail")
    if len(args.positional) > 1:
        raise CommandError("tail takes one log: tail LOG [--lines=N]")
    if args.positional:
        sub = find_log(ctx, args.positional[0])
    elif ctx.batch:
        raise CommandError("Name the log to show: tail LOG [--lines=N] ('logconfig print' lists them).")
    else:
        sub = choose_log(ctx, "tail")
    path = current_file(ctx.datadir.logs, sub)
    for line in last_lines(path, lines):
        ctx.say(line)
    if ctx.batch or not ctx.prompter.interactive:
        return
    # Opened before the message: a line written as soon as the reader sees it is not missed.
    following = follow(path, ctx.prompter.wait_unless_stopped)
    ctx.say("Press Ctrl-C to stop.")
    for line in following:
        ctx.say(line)


def _count(value) -> int:
    text = "" if value is True else str(value)
    if not text.isdigit() or not 0 <= int(text) <= 100000:
        raise CommandError(f"--lines: give a number of lines from 0 to 100000, got {text!r}")
    return int(text)
