"""Asking for a new passphrase under the policy: one flow for passwd, userconfig and forced changes."""

from __future__ import annotations

from asyncos_cli.shell.prompter import CommandError


def ask_new_passphrase(ctx, user: str, offer_generated: bool = True, question: str = "New Passphrase:") -> str:
    """A passphrase the policy accepts: generated (shown once) or typed twice, re-asked until valid."""
    p = ctx.prompter
    policy = ctx.config.passphrase_policy
    if offer_generated and p.yes_no("Would you like to get a system generated passphrase?", False):
        from asyncos_cli.auth.generator import generate

        while True:
            passphrase = generate(policy, user)
            ctx.say(f"This is your system generated passphrase: {passphrase}")
            if p.yes_no("Do you want to proceed with this passphrase?", True):
                return passphrase
    return p.secret(
        question,
        confirm="Please enter the new passphrase again:",
        validate=lambda pw: " ".join(ctx.accounts.check(user, pw, policy)) or None,
    )


def store_passphrase(ctx, user: str, passphrase: str, by_admin: bool = False) -> None:
    """In effect at once (state); a policy violation becomes the command's error."""
    from asyncos_cli.auth.accounts import PolicyViolation

    try:
        ctx.accounts.set_passphrase(user, passphrase, ctx.config.passphrase_policy, by_admin=by_admin)
    except PolicyViolation as e:
        raise CommandError("Passphrase refused: " + " ".join(e.problems)) from None
