"""rollovernow: close the current file of a log subscription (or of all) and start a new one."""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command


@command("rollovernow", "Roll over a log file.", roles=R.ADMIN_ONLY)
def run(ctx, args):
    from asyncos_cli.services.logs import LogFile

    args.expect_done("rollovernow")
    names = args.positional
    subs = [s for s in ctx.config.logs.subscriptions if s.retrieval == "file" and (not names or s.name in names)]
    missing = set(names) - {s.name for s in subs}
    if missing:
        raise CommandError(f"No log subscription written to files named {', '.join(sorted(missing))} "
                           "('logconfig print' lists them).")
    serial = ctx.state.get("serial", "")
    for sub in subs:
        log = LogFile(ctx.datadir.logs / sub.name, sub, serial)
        log.roll_now(time.time())
        log.close()
        ctx.say(f"Log {sub.name} rolled over.")
