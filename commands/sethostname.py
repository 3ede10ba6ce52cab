"""sethostname: set the appliance's fully qualified host name."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.validators import hostname_problem
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command


@command("sethostname", "Set the name of the machine.", roles=R.CONFIGURE)
def run(ctx, args):
    args.expect_done("sethostname")
    current = ctx.config.system.hostname
    if args.positional:
        if len(args.positional) != 1:
            raise CommandError("Usage: sethostname NAME")
        name = args.positional[0]
        problem = hostname_problem(name)
        if problem:
            raise CommandError(f"Invalid host name {name!r}: {problem}.")
    else:
        ctx.say(f"{current}")
        name = ctx.prompter.ask(
            "Enter the new hostname.",
            default=current,
            validate=lambda n: (f"Invalid host name: {p}." if (p := hostname_problem(n)) else None),
        )
    ctx.replace_section("system", hostname=name.rstrip("."))
