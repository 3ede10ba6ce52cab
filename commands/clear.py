"""clear: discard the pending changes."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.registry import command


@command("clear", "Clear pending changes.", roles=R.CONFIGURE)
def run(ctx, args):
    args.expect_done("clear")
    session = ctx.session
    if not session.has_pending:
        ctx.say("No changes have been made")
        return
    names = ", ".join(session.pending_names())
    if not ctx.batch and not ctx.prompter.yes_no(
        f"Are you sure you want to clear all changes since the last commit ({names})?", True
    ):
        return
    session.clear()
    ctx.say("Changes cleared.")
