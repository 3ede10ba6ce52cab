"""clustermode: the mode this shell reads and writes settings at (cluster, a group, a machine)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell import clustermode as modes
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("clustermode", """
cluster
group NAME
machine [NAME]
""")


@command("clustermode", "Set which mode is being configured (cluster, group or machine).", roles=R.ADMIN_ONLY,
         subcommands=("cluster", "group", "machine"), grammar=GRAMMAR)
def run(ctx, args):
    args.expect_done("clustermode")
    level, rest = args.split()
    if level is None or len(rest) > 1:
        raise UsageError()
    _to(ctx, modes.parse(ctx, level, rest[0] if rest else None))


def show(ctx) -> None:
    mode = _current(ctx)
    ctx.say(f"This shell configures at {mode}.")


def wizard(ctx) -> None:
    from asyncos_cli.config.cluster import Mode

    mode = _current(ctx)
    choices = [modes.parse(ctx, "cluster", None), *(Mode("group", g) for g in ctx.store.groups().names),
               *(Mode("machine", m) for m in modes.machine_names(ctx))]
    ctx.say(f"Currently configuring at {mode}.")
    _to(ctx, choices[ctx.prompter.choose("Which mode would you like to switch to?", [str(m) for m in choices],
                                         default=choices.index(mode) if mode in choices else 0)])


def _current(ctx):
    mode = modes.current(ctx)
    if mode is None:
        raise CommandError("This machine is not in a cluster (clusterconfig).")
    return mode


def _to(ctx, mode) -> None:
    modes.switch(ctx, mode)
    ctx.say(f"Now configuring at {mode}.")
