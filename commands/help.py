"""help: list the commands, or show one command's manual page."""

from __future__ import annotations

from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import all_commands, command, lookup


@command("help", "Help.", needs_store=False, aliases=("h", "?"))
def run(ctx, args):
    from asyncos_cli.shell.manpage import man_path, render

    if not args.positional:
        args.expect_done("help")
        cmds = [c for c in all_commands() if ctx.role in c.roles]
        width = max(len(c.name) for c in cmds) + 2
        lines = [f"{c.name:<{width}}{c.summary}" for c in cmds]
        lines.append("")
        lines.append("For more detailed information, type 'help COMMAND'.")
        ctx.prompter.page("\n".join(lines))
        return
    name = args.positional[0]
    cmd = lookup(name)
    if cmd is None:
        raise CommandError(f"help is not available for {name}: no such command.")
    path = man_path(cmd.name)
    if not path.exists():
        raise CommandError(f"help is not available for {cmd.name}: its manual page is missing.")
    ctx.prompter.page(render(path.read_text(encoding="utf-8")))
