"""last: who logged in to the gateway, from where, when, and for how long (from the authentication log)."""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("last", """
[--user=NAME] [--count=N]
""", notes="Newest first; N (default 50) logins at most.")


@command("last", "Display who has recently logged into the system.", roles=R.VIEW, grammar=GRAMMAR)
def run(ctx, args):
    from asyncos_cli.services import logins

    user = args.take_option("user")
    count = args.take_option("count", "50")
    args.expect_done("last")
    if args.positional:
        raise CommandError("Usage: last [--user=NAME] [--count=N]")
    if not str(count).isdigit() or not 1 <= int(count) <= 10000:
        raise CommandError(f"--count: give a number from 1 to 10000, got {count!r}")
    files = logins.authentication_files(ctx.datadir.logs, ctx.config.logs.subscriptions)
    if not files:
        raise CommandError("last reads the authentication log, and no authentication log is kept on this "
                           "gateway (logconfig new NAME --type=authentication).")
    found = [x for x in logins.read(files, ctx.config.admin_access.timeout_minutes * 60) if user in (None, True) or x.user == user]
    found = sorted(found, key=lambda x: x.start, reverse=True)[:int(count)]
    rows = [["Username", "Remote Host", "Login Time", "Logout Time", "Total Time"]]
    now = time.time()
    for x in found:
        rows.append([x.user, f"{x.host} ({x.door})", _when(x.start),
                     "still logged in" if x.end is None else _when(x.end) + (" (timed out)" if x.timed_out else ""),
                     logins.duration((x.end or now) - x.start)])
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("=" * w for w in widths))
    ctx.prompter.page("\n".join(lines) if found else "No logins are recorded.")


def _when(epoch: float) -> str:
    return time.strftime("%a %b %d %H:%M", time.localtime(epoch))
