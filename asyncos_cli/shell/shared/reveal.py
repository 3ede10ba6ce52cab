"""``print --reveal``: secrets in clear, for administrators only, and written to the CLI audit log."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.prompter import CommandError


def may_reveal(ctx, what: str) -> None:
    """Showing a secret in clear is for administrators, and is written to the CLI audit log."""
    from asyncos_cli.events.shell import SecretsRevealed

    if ctx.role != R.ADMINISTRATORS:
        raise CommandError("Only administrators can reveal passphrases: print shows them masked.")
    ctx.emit(SecretsRevealed(ctx.pid, ctx.user, what, ctx.origin))


def print_maybe_revealed(ctx, args, command: str, what: str, show) -> None:
    """``COMMAND print [--reveal]``: ``show(ctx, reveal)`` after the role check and the audit line."""
    reveal = bool(args.take_option("reveal", False))
    args.expect_done(f"{command} print")
    if reveal:
        may_reveal(ctx, what)
    show(ctx, reveal)
