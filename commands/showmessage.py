"""showmessage: a message in the queue or in a quarantine, headers and body, as text safe for a terminal."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

#: Bytes of a message shown at most (a note says how many more there are).
SHOWN_BYTES = 64 * 1024

GRAMMAR = Grammar("showmessage", """
MID
""", notes="The message must be in the queue (showrecipients lists it) or in a quarantine; a delivered one is gone "
           "(findevent shows what happened to it). At most the first 64 KB are shown; control characters are "
           "shown escaped (\\\\x1b), never sent to the terminal.")


@command("showmessage", "Show a message in the queue or a quarantine.", roles=R.VIEW, grammar=GRAMMAR)
def run(ctx, args):
    from asyncos_cli.events import escape_controls

    args.expect_done("showmessage")
    if len(args.positional) > 1:
        raise CommandError("Usage: showmessage MID")
    if args.positional:
        text = args.positional[0]
    elif ctx.batch:
        raise CommandError("Usage: showmessage MID")
    else:
        text = ctx.prompter.ask("Enter the MID of the message to show.",
                                validate=lambda v: None if v.strip().isdigit() else "Enter a MID (a number).")
    if not text.strip().isdigit():
        raise CommandError(f"showmessage: {text!r} is not a MID (a number).")
    found = ctx.control("message", mid=int(text), limit=SHOWN_BYTES)
    if found is None:
        raise CommandError(f"MID {int(text)} is not in the queue or a quarantine (findevent --mid={int(text)} "
                           "shows what happened to it).")
    ctx.say(f"MID {found['mid']} ({found['where']}), {found['size']} bytes, from <{found['sender']}> to "
            + ", ".join(f"<{r}>" for r in found["recipients"]))
    ctx.say("")
    raw = found["content"].encode("latin-1")
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        ctx.say("\t".join(escape_controls(part) for part in line.split("\t")))  # folded headers keep their tab
    if found["size"] > SHOWN_BYTES:
        ctx.say(f"({found['size'] - SHOWN_BYTES} more bytes not shown)")
