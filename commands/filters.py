"""filters: message filters in the appliance's language (NEW, DELETE, MOVE, SET, IMPORT, EXPORT, LIST, DETAIL)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import MessageFilter
from asyncos_cli.shell.args import Args
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
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
USAGE = GRAMMAR.usage()

@command("filters", "Configure message processing options.", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    args.expect_done("filters")
    sub = args.subcommand()
    rest = args.positional[1:]
    if sub in ("list", "print") and not rest:
        return _list(ctx)
    if sub == "detail" and len(rest) == 1:
        f = _get(ctx, rest[0])
        ctx.say(f.script)
        return
    if sub == "import" and len(rest) == 1:
        return _add(ctx, read_script(ctx, rest[0]))
    if sub == "export" and len(rest) == 1:
        text = "\n\n".join(f.script for f in _filters(ctx)) + "\n.\n"
        ctx.files.write_text(rest[0], text)
        ctx.say(f"{len(_filters(ctx))} filters exported to {ctx.files.shown(rest[0])}.")
        return
    if sub == "delete" and len(rest) == 1:
        f = _get(ctx, rest[0])
        _stage(ctx, [x for x in _filters(ctx) if x is not f])
        ctx.say(f"Filter {f.name} deleted; commit to apply.")
        return
    if sub == "set" and len(rest) == 2 and rest[1].lower() in ("active", "inactive"):
        f = _get(ctx, rest[0])
        new = f.replace(active=rest[1].lower() == "active")
        _stage(ctx, [new if x is f else x for x in _filters(ctx)])
        ctx.say(f"Filter {f.name} is {rest[1].lower()}; commit to apply.")
        return
    if sub == "move" and len(rest) == 2 and rest[1].isdigit():
        f = _get(ctx, rest[0])
        others = [x for x in _filters(ctx) if x is not f]
        pos = max(1, min(int(rest[1]), len(others) + 1))
        others.insert(pos - 1, f)
        _stage(ctx, others)
        ctx.say(f"Filter {f.name} moved to position {pos}; commit to apply.")
        return
    raise CommandError(USAGE)


def _filters(ctx) -> list[MessageFilter]:
    return list(ctx.config.message_filters.filters)


def _get(ctx, name: str) -> MessageFilter:
    f = next((x for x in _filters(ctx) if x.name == name), None)
    if f is None:
        raise CommandError(f"There is no filter named {name!r} ('filters list' shows them).")
    return f


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


def _list(ctx) -> None:
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
    while True:
        _list(ctx)
        op = p.menu([("NEW", "Create a new filter."), ("DELETE", "Remove a filter."),
                     ("IMPORT", "Import a filter script from a file."), ("LIST", "List the filters."),
                     ("DETAIL", "Get detailed information on the filters.")])
        if op is None:
            return
        if op == "NEW":
            _add(ctx, p.multiline("Enter filter script. Enter '.' on its own line to end."))
        elif op == "DELETE":
            run(ctx, Args.from_line(f"delete {p.ask('Enter the filter name.')}"))
        elif op == "IMPORT":
            run(ctx, Args.from_line(f"import {p.ask('Enter the name of the file to import:')}"))
        elif op == "DETAIL":
            run(ctx, Args.from_line(f"detail {p.ask('Enter the filter name.')}"))
