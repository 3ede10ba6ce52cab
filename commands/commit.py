"""commit: write the pending changes as a new configuration version."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.store import CommitConflict, NothingToCommit
from asyncos_cli.events.system import ConfigCommitted
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command


@command("commit", "Commit the pending changes.", roles=R.CONFIGURE)
def run(ctx, args):
    session = ctx.session
    rollback = True
    if "rollback" in args.options:
        rollback = args.take_option("rollback") not in ("no", "n", "false", "0")
    args.expect_done("commit")
    if not session.has_pending:
        ctx.say("There is no data to commit.")
        return
    if ctx.batch or args.positional:
        comment = " ".join(args.positional)
    else:
        comment = ctx.prompter.ask(
            "Please enter some comments describing your changes:", default="", allow_empty=True
        )
        rollback = ctx.prompter.yes_no("Do you want to save the current configuration for rollback?", True)
    try:
        info = session.commit(comment, rollback)
    except NothingToCommit:
        ctx.say("There is no data to commit.")
        return
    except CommitConflict as e:
        raise CommandError(
            f"Commit refused: {e}. Your changes are still pending: 'clear' them and make them "
            "again on the new version."
        ) from None
    ctx.emit(ConfigCommitted(ctx.pid, ctx.user, comment, info.id))
    from asyncos_cli.control.client import nudge

    nudge(ctx.datadir.control_socket)
    ctx.say(f"Changes committed: {info.when()}")
