"""who: the sessions open now, as the authentication log records them (logins not yet followed by a logout)."""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command


@command("who", "List who is logged in.", roles=R.VIEW)
def run(ctx, args):
    from asyncos_cli.services import logins

    args.expect_done("who")
    if args.positional:
        raise CommandError("Usage: who")
    files = logins.authentication_files(ctx.datadir.logs, ctx.config.logs.subscriptions)
    open_ = [x for x in logins.read(files, ctx.config.admin_access.timeout_minutes * 60) if x.end is None] if files else []
    rows = [["Username", "Login Time", "Remote Host", "What"]]
    for x in sorted(open_, key=lambda x: x.start):
        rows.append([x.user, time.strftime("%a %b %d %H:%M", time.localtime(x.start)), x.host, x.door])
    if ctx.origin == "console":  # the local console logs in through the operating system, not the gateway
        rows.append([ctx.user, "-", "console", "CLI"])
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("=" * w for w in widths))
    ctx.say("\n".join(lines))
