"""whoami: the account this session runs as."""

from __future__ import annotations

from asyncos_cli.shell.registry import command


@command("whoami", "Display your current user id.")
def run(ctx, args):
    from asyncos_cli.auth import roles as R

    args.expect_done("whoami")
    account = ctx.config.users.get(ctx.user)
    ctx.say(f"Username: {ctx.user}")
    ctx.say(f"Full Name: {account.full_name if account else ''}")
    ctx.say(f"Groups: {R.KEYWORD_OF.get(ctx.role, ctx.role)}")
    ctx.say(f"Logged in from: {ctx.origin}")
