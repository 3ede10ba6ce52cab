"""clusterset: copy, move or delete a command's settings between cluster modes (cluster, group, machine).

Each change is a configuration version of its own, at once (no commit): it moves settings between levels, it
does not edit them. A machine runs on its own settings where it has them, else its group's, else the cluster's.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell import clustermode as modes
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("clusterset", """
copy COMMAND --from=MODE --to=MODE
move COMMAND --from=MODE --to=MODE
delete COMMAND --from=MODE
list COMMAND
""")
#: MODE: cluster, group:NAME or machine:NAME.


@command("clusterset", "Set how a command's settings are configured across the cluster's modes.",
         roles=R.ADMIN_ONLY, subcommands=("copy", "move", "delete", "list"), grammar=GRAMMAR)
def run(ctx, args):
    op, rest = args.split()
    source, target = args.take_option("from"), args.take_option("to")
    args.expect_done("clusterset")
    if op not in ("copy", "move", "delete", "list") or len(rest) != 1:
        raise UsageError()
    if modes.current(ctx) is None:
        raise CommandError("This machine is not in a cluster (clusterconfig).")
    name = rest[0].lower()
    sections = modes.COMMAND_SECTIONS.get(name)
    if sections is None:
        raise CommandError(f"{name!r} has no settings configured per cluster mode "
                           f"(those that have: {', '.join(sorted(modes.COMMAND_SECTIONS))}).")
    if op == "list":
        return _list(ctx, name, sections)
    if not source or (op != "delete" and not target):
        raise CommandError(f"clusterset {op} needs --from=MODE" + ("" if op == "delete" else " and --to=MODE")
                           + " (cluster, group:NAME or machine:NAME)")
    if ctx.session.has_pending:
        raise CommandError("There are uncommitted changes: commit or clear them first.")
    src = modes.parse_spelled(ctx, source)
    dst = modes.parse_spelled(ctx, target) if target else None
    info = modes.move_settings(ctx, name, sections, src, dst, keep_source=op == "copy")
    what = {"copy": f"copied from {src} to {dst}", "move": f"moved from {src} to {dst}",
            "delete": f"deleted from {src}"}[op]
    ctx.say(f"The settings of {name} were {what} (configuration version {info.id}).")
    ctx.drop_session()


def _list(ctx, name: str, sections) -> None:
    found = {str(m) for s in sections for m in modes.levels_named(ctx, s)}
    ctx.say(f"{name} is configured at: {', '.join(sorted(found)) or 'nowhere yet'}")
