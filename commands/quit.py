"""quit / exit / logout: leave the shell (warning first when changes are pending)."""

from __future__ import annotations

from asyncos_cli.shell.registry import command


@command("quit", "Exit the shell.", needs_store=False, aliases=("exit", "q", "logout"))
def run(ctx, args):
    args.expect_done("quit")
    if ctx.has_session and ctx.session.has_pending and not ctx.batch:
        names = ", ".join(ctx.session.pending_names())
        ctx.say(f"You have uncommitted changes ({names}); they will be lost.")
        if not ctx.prompter.yes_no("Are you sure you wish to exit?", False):
            return
    ctx.quit_requested = True
