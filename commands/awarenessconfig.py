"""awarenessconfig: the phishing-awareness service's repeat-clicker list (Cisco Secure Awareness style).

An incoming mail policy with --repeat-clickers=yes matches only recipients on
the list, so stricter settings apply to them. The list is state (never
rolled back): refreshed by the gateway on schedule, or imported from a file.
"""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("awarenessconfig", """
print
setup [--enabled=yes|no] [--url=URL] [--token-file=FILE] [--interval=MINUTES]
import FILE        (one address per line, or the service's JSON)
""")

@command("awarenessconfig", "Configure the Secure Awareness integration (repeat clickers).", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    from asyncos_cli.services import awareness

    sub, rest = args.split()
    if sub == "setup" and not rest:
        changes = args.take_typed((("enabled", "enabled", bool), ("url", "url", str),
                                   ("interval", "interval_minutes", int)))
        token = args.secret("token", ctx)
        args.expect_done("awarenessconfig setup")
        if token:
            changes["token"] = ctx.keyring.seal(token)
        if not changes:
            raise UsageError()
        ctx.replace_section("awareness", **changes)
        return show(ctx)
    if sub == "import" and len(rest) == 1:
        args.expect_done("awarenessconfig import")
        addresses = awareness.parse(ctx.files.read_text(rest[0], 16 * 1024 * 1024))
        new = awareness.store(ctx.state, addresses, f"file {rest[0]}")
        ctx.say(f"{len(new.addresses)} repeat clickers imported (the running gateway uses them within a second).")
        return
    raise UsageError()


def show(ctx) -> None:
    from asyncos_cli.services import awareness

    a = ctx.config.awareness
    current = awareness.load(ctx.state)
    ctx.say(f"Secure Awareness integration: {'enabled' if a.enabled else 'disabled'}")
    ctx.say(f"Service URL: {a.url or '(none)'}; token {'set' if a.token else 'not set'}; "
            f"refreshed every {a.interval_minutes} minutes")
    when = time.ctime(current.fetched) if current.fetched else "never"
    ctx.say(f"Repeat clickers: {len(current.addresses)} (from {current.source or 'nowhere yet'}, {when})")
    users = [p.name for p in ctx.config.mail_policies.incoming if p.repeat_clickers]
    ctx.say(f"Incoming mail policies for repeat clickers: {', '.join(users) or 'none'}")
