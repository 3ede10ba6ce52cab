"""findevent: message tracking: search messages (finished ones, and those still in the queue: the daemon writes
what it has in memory first), or show one message's whole history.

Interactively, without options, the appliance's questions: what to search by (envelope FROM, Message ID,
Subject, envelope TO), the value, and which messages (all, or a time range).
"""

from __future__ import annotations

import json
import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.tracking import history_on, moment, search_everywhere

GRAMMAR = Grammar("findevent", """
[--sender=ADDR] [--recipient=ADDR] [--subject=WORDS] [--mid=N] [--message-id=<ID>] [--ip=ADDR]
      [--policy=NAME] [--direction=incoming|outgoing] [--since=HOURS_AGO|EPOCH] [--until=...]
      [--limit=N] [--format=table|csv|json]
show MID [--machine=NAME] [--format=text|json]
""")

_OPTIONS = (("sender", "sender"), ("recipient", "recipient"), ("subject", "subject"), ("mid", "mid"),
            ("message-id", "message_id"), ("ip", "ip"), ("policy", "policy"), ("direction", "direction"),
            ("since", "since"), ("until", "until"))


@command("findevent", "Find events in mail log files.", roles=R.VIEW, grammar=GRAMMAR)
def run(ctx, args):

    fmt = str(args.take_option("format", "table"))
    if args.subcommand() == "show":
        machine = args.take_option("machine")
        args.expect_done("findevent show")
        if len(args.positional) != 2 or not args.positional[1].isdigit():
            raise UsageError()
        rec = history_on(ctx, int(args.positional[1]), None if machine is None else str(machine))
        if rec is None:
            raise CommandError(f"No finished message with MID {args.positional[1]} is tracked.")
        ctx.say(json.dumps(rec, indent=None if fmt == "json" else 2, ensure_ascii=False))
        return
    if args.positional:
        raise UsageError()
    filters = {field: str(args.take_option(opt)) for opt, field in _OPTIONS if opt in args.options}
    limit = int(args.take_option("limit", 100))
    args.expect_done("findevent")
    if not filters and not ctx.batch:
        filters = _ask(ctx)
    for key in ("since", "until"):
        if key in filters:
            filters[key] = moment(filters[key])
    if filters.get("direction") not in (None, "incoming", "outgoing"):
        raise CommandError("--direction takes incoming or outgoing")
    rows = search_everywhere(ctx, filters, limit)
    clustered = any("machine" in r for r in rows)
    if fmt == "json":
        ctx.say(json.dumps(rows, ensure_ascii=False))
    elif fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["mid", "received", "direction", "sender", "recipients", "subject", "policies", "final_action"]
                   + (["machine"] if clustered else []))
        for r in rows:
            w.writerow([r["mid"], time.ctime(r["received"]), r["direction"], r["sender"], ";".join(r["recipients"]),
                        r["subject"], ";".join(r["policies"]), r["final_action"]] + ([r["machine"]] if clustered else []))
        ctx.say(buf.getvalue().rstrip("\n"))
    elif fmt == "table":
        from rich.table import Table

        from asyncos_cli.shell.prompter import render_rich

        table = Table(title=f"{len(rows)} messages")
        for col in ("MID", "Received", "Sender", "Recipients", "Subject", "Policy", "Final action"):
            table.add_column(col)
        if clustered:
            table.add_column("Machine")
        for r in rows:
            table.add_row(str(r["mid"]), time.strftime("%d %b %H:%M:%S", time.localtime(r["received"])), r["sender"],
                          ", ".join(r["recipients"]), r["subject"][:40], ", ".join(r["policies"]),
                          r["final_action"] or "in progress", *([r["machine"]] if clustered else []))
        ctx.prompter.page(render_rich(table, width=140))
    else:
        raise CommandError("--format takes table, csv or json")


#: The appliance's search types, and the filter each fills.
SEARCHES = (("Search by envelope FROM", "sender", "Enter the envelope sender, or part of it, to search for."),
            ("Search by Message ID", "mid", "Enter the MID to search for."),
            ("Search by Subject", "subject", "Enter the words of the subject to search for."),
            ("Search by envelope TO", "recipient", "Enter the envelope recipient, or part of it, to search for."))


def _ask(ctx) -> dict:
    p = ctx.prompter
    label, field, question = SEARCHES[p.choose("Please choose which type of search you want to perform:",
                                               [s[0] for s in SEARCHES], 0)]
    value = p.ask(question, validate=(lambda v: None if v.isdigit() else "A MID is a number.")
                  if field == "mid" else None)
    filters = {field: value.strip()}
    if p.choose("Please choose which messages to search:", ["Search all tracked messages",
                                                            "Search within a time range"], 0) == 1:
        hours = p.ask_int("Enter the number of hours back to start searching.", 24, 1, 24 * 366)
        filters["since"] = str(time.time() - hours * 3600)
    return filters
