"""report: the reports, as tables in the shell or JSON/CSV for scripts (views of the tracking records)."""

from __future__ import annotations

import json

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.tracking import moment, report_everywhere

GRAMMAR = Grammar("report", """
overview|incoming|mail-flow|mail-flow-details|mail-policy [--since=HOURS_AGO|EPOCH] [--until=...]
      [--format=table|json|csv] [--machine=NAME|all]
""")

KINDS = ("overview", "incoming", "mail-flow", "mail-flow-details", "mail-policy")


@command("report", "Show the reports (overview, incoming mail, mail flow, mail policy details).", roles=R.VIEW,
         subcommands=KINDS, grammar=GRAMMAR)
def run(ctx, args):

    kind = args.subcommand()
    fmt = str(args.take_option("format", "table"))
    since = args.take_option("since")
    until = args.take_option("until")
    machine = args.take_option("machine")
    args.expect_done("report")
    if kind not in KINDS or len(args.positional) != 1:
        raise UsageError()
    data = report_everywhere(ctx, kind, moment(str(since)) if since else None,
                             moment(str(until)) if until else None, str(machine) if machine else None)
    if fmt == "json":
        ctx.say(json.dumps(data, ensure_ascii=False))
    elif fmt == "csv":
        for path, value in _flat(data):
            ctx.say(f"{'/'.join(path)},{value}")
    elif fmt == "table":
        _tables(ctx, data)
    else:
        raise CommandError("--format takes table, json or csv")


def _flat(data, path=()):
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _flat(value, (*path, str(key)))
        else:
            yield (*path, str(key)), value


def _tables(ctx, data: dict) -> None:
    from rich.table import Table

    from asyncos_cli.shell.prompter import render_rich

    ctx.say(data["report"])
    for key, value in data.items():
        if not isinstance(value, dict) or not value:
            if key not in ("report", "since", "until"):
                ctx.say(f"{key}: {value}")
            continue
        table = Table(title=key)
        first = next(iter(value.values()))
        if isinstance(first, dict):
            table.add_column("")
            for col in first:
                table.add_column(col, justify="right")
            for name, row in value.items():
                table.add_row(str(name), *(str(v) for v in row.values()))
        else:
            total = max(1, max(value.values()))
            table.add_column("Category")
            table.add_column("Messages", justify="right")
            table.add_column("")
            for name, n in value.items():
                table.add_row(str(name), str(n), "█" * round(20 * n / total))
        ctx.prompter.page(render_rich(table, width=120))
