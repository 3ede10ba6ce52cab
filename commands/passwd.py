"""passwd (alias passphrase): change your own passphrase; in effect at once."""

from __future__ import annotations

from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.newpassphrase import ask_new_passphrase, store_passphrase


@command("passwd", "Change your passphrase.", aliases=("passphrase",))
def run(ctx, args):
    args.expect_done("passwd")
    if ctx.batch or args.positional:
        raise CommandError(
            "passwd is interactive only; an administrator can script "
            "'userconfig passphrase NAME --passphrase-file=FILE'."
        )
    if not ctx.accounts.verify(ctx.user, ctx.prompter.secret("Old passphrase:")):
        raise CommandError("Old passphrase did not match")
    store_passphrase(ctx, ctx.user, ask_new_passphrase(ctx, ctx.user))
    ctx.say("Passphrase changed.")
