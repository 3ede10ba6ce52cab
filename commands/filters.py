"""filters: message filters in the appliance's language (NEW, DELETE, MOVE, SET, IMPORT, EXPORT, LIST, DETAIL)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import MessageFilter
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.filterscripts import compile_script, read_script

GRAMMAR = Grammar("filters", """
list | print
detail NAME
import FILE          (filter scripts; a lone '.' line at the end is allowed)
export FILE
delete NAME
set NAME active|inactive
move NAME POSITION
""",
    names=lambda c: [x.name for x in c.message_filters.filters])

FILTERS = ListEditor("filter", "filters", lambda ctx: ctx.config.message_filters.filters, lambda f: f.name,
                     ignore_case=False)


@command("filters", "Configure message processing options.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    args.expect_done("filters")
    sub, rest = args.subcommand(), args.positional[1:]
    if sub in ("list", "print") and not rest:
        return show(ctx)
    if sub == "import" and len(rest) == 1:
        return _add(ctx, read_script(ctx, rest[0]))
    if sub == "export" and len(rest) == 1:
        return _export(ctx, rest[0])
    handler, arity = _BATCH.get(sub, (None, 0))
    if handler is None or len(rest) != arity:
        raise UsageError()
    handler(ctx, FILTERS.find(ctx, rest[0]), *rest[1:])


def _filters(ctx) -> list[MessageFilter]:
    return list(ctx.config.message_filters.filters)


def _stage(ctx, filters) -> None:
    try:
        ctx.stage(ctx.config.message_filters.replace(filters=tuple(filters)))
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _add(ctx, text: str) -> None:
    compiled = compile_script(text)
    existing = {f.name for f in _filters(ctx)}
    clash = [f.name for f in compiled if f.name in existing]
    if clash:
        raise CommandError(f"Duplicate filter name: {', '.join(clash)}")
    new = [MessageFilter(f.name, f.source.strip() or text.strip(), f.active) for f in compiled]
    _stage(ctx, _filters(ctx) + new)
    ctx.say(f"{len(new)} filters added.")


def _export(ctx, path: str) -> None:
    ctx.files.write_text(path, "\n\n".join(f.script for f in _filters(ctx)) + "\n.\n")
    ctx.say(f"{len(_filters(ctx))} filters exported to {ctx.files.shown(path)}.")


def _detail(ctx, f: MessageFilter) -> None:
    ctx.say(f.script)


def _delete(ctx, f: MessageFilter) -> None:
    _stage(ctx, [x for x in _filters(ctx) if x is not f])
    ctx.say(f"Filter {f.name} deleted; commit to apply.")


def _set(ctx, f: MessageFilter, state: str) -> None:
    if state.lower() not in ("active", "inactive"):
        raise UsageError()
    _stage(ctx, [f.replace(active=state.lower() == "active") if x is f else x for x in _filters(ctx)])
    ctx.say(f"Filter {f.name} is {state.lower()}; commit to apply.")


def _move(ctx, f: MessageFilter, position: str) -> None:
    if not position.isdigit():
        raise UsageError()
    others = [x for x in _filters(ctx) if x is not f]
    pos = max(1, min(int(position), len(others) + 1))
    others.insert(pos - 1, f)
    _stage(ctx, others)
    ctx.say(f"Filter {f.name} moved to position {pos}; commit to apply.")


#: Batch subcommands on one filter: (handler, the number of arguments).
_BATCH = {"detail": (_detail, 1), "delete": (_delete, 1), "set": (_set, 2), "move": (_move, 2)}


def show(ctx) -> None:
    filters = _filters(ctx)
    if not filters:
        ctx.say("No filters are defined.")
        return
    ctx.say(f"{'Num':>4} {'Active':>6} {'Valid':>5} Name")
    for i, f in enumerate(filters, 1):
        try:
            compile_script(f.script)
            valid = "Y"
        except CommandError:
            valid = "N"
        ctx.say(f"{i:>4} {'Y' if f.active else 'N':>6} {valid:>5} {f.name}")


def wizard(ctx) -> None:
    p = ctx.prompter
    FILTERS.menu(ctx, [
        ("NEW", "Create a new filter.", lambda ctx: _add(ctx, p.multiline(
            "Enter filter script. Enter '.' on its own line to end."))),
        ("DELETE", "Remove a filter.", lambda ctx: _delete(ctx, FILTERS.pick(ctx, "delete"))),
        ("IMPORT", "Import a filter script from a file.",
         lambda ctx: _add(ctx, read_script(ctx, p.ask("Enter the name of the file to import:")))),
        ("LIST", "List the filters.", show),
        ("DETAIL", "Get detailed information on the filters.", lambda ctx: _detail(ctx, FILTERS.pick(ctx, "view")))],
        show=show)
