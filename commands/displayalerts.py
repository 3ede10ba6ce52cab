"""displayalerts: the most recent alerts, newest first, and whether each reached its recipients."""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("displayalerts", "[--count=N]")


@command("displayalerts", "Display the most recent alerts.", roles=R.VIEW, grammar=GRAMMAR)
def run(ctx, args):
    from asyncos_cli.config.store import connect
    from asyncos_cli.services.alerts import SQLiteAlertLog

    count = args.take_typed((("count", "count", int),)).get("count", 50)
    args.expect_done("displayalerts")
    if args.positional or not 1 <= count <= 1000:
        raise UsageError()
    log = SQLiteAlertLog(connect(ctx.datadir.database))
    try:
        alerts = log.recent(count)
    finally:
        log.close()
    if not alerts:
        ctx.say("There are no alerts.")
        return
    ctx.say(f"{'Date and Time Stamp':<26}Description")
    ctx.say("-" * 26 + "-" * 60)
    for a in alerts:
        when = time.strftime("%d %b %Y %H:%M:%S", time.localtime(a["at"]))
        ctx.say(f"{when:<26}{a['severity']} <{a['class']}>: {a['text']}")
        if a["pending"]:
            ctx.say(f"{'':<26}  waiting to be sent to {', '.join(a['pending'])} "
                    f"(attempts {a['attempts']}: {a['last_error'] or 'not tried yet'})")
        elif a["recipients"]:
            ctx.say(f"{'':<26}  sent to {', '.join(a['recipients'])}")
        else:
            ctx.say(f"{'':<26}  no recipient takes this class and severity")
        if a["duplicates"]:
            ctx.say(f"{'':<26}  repeated {a['duplicates']} times within the duplicate interval (not re-sent)")
