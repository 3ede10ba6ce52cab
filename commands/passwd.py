"""passwd (alias passphrase): change your own passphrase; in effect at once."""

from __future__ import annotations

from .base import CommandError
from .registry import command


@command("passwd", "Change your passphrase.")
def run(ctx, args):
    args.expect_done("passwd")
    if ctx.batch or args.positional:
        raise CommandError(
            "passwd is interactive only; an administrator can script "
            "'userconfig passphrase NAME --passphrase-file=FILE'."
        )
    from asyncos_cli.auth.accounts import PolicyViolation

    p = ctx.prompter
    old = p.secret("Old passphrase:")
    if not ctx.accounts.verify(ctx.user, old):
        raise CommandError("Old passphrase did not match")
    policy = ctx.config.passphrase_policy
    if p.yes_no("Would you like to get a system generated passphrase?", False):
        from asyncos_cli.auth.generator import generate

        new = generate(policy, ctx.user)
        ctx.say(f"This is your system generated passphrase: {new}")
        if not p.yes_no("Do you want to proceed with this passphrase?", True):
            ctx.say("Passphrase not changed.")
            return
    else:
        new = p.secret(
            "New Passphrase:",
            confirm="Please enter the new passphrase again:",
            validate=lambda pw: " ".join(ctx.accounts.check(ctx.user, pw, policy)) or None,
        )
    try:
        ctx.accounts.set_passphrase(ctx.user, new, policy)
    except PolicyViolation as e:
        raise CommandError(" ".join(e.problems)) from None
    ctx.say("Passphrase changed.")
