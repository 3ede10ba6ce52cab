"""quarantineconfig: the policy quarantines, and the messages held in them.

Quarantines are configuration (name, retention, what happens at expiry);
held messages are state on disk (services/quarantine.py). Releasing goes
through the running gateway, which queues the message for delivery before
the quarantine lets go of it.
"""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import Quarantine
from asyncos_cli.shell.args import Args
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("quarantineconfig", """
list | print
new NAME [--retention=DAYS] [--expiry-action=delete|release]
edit NAME [--retention=DAYS] [--expiry-action=delete|release]
delete NAME
messages NAME
show NAME MID
release NAME MID...|all
remove NAME MID...|all
""",
    names=lambda c: [x.name for x in c.quarantines.quarantines])
USAGE = GRAMMAR.usage()

OPTIONS = (("retention", "retention_days", int), ("expiry-action", "expiry_action", str))


@command("quarantineconfig", "Configure policy quarantines and manage the messages they hold.",
         roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    sub = args.subcommand()
    rest = args.positional[1:]
    changes = args.take_typed(OPTIONS)
    args.expect_done(f"quarantineconfig {sub}")
    if changes and sub not in ("new", "edit"):
        raise CommandError(USAGE)
    if sub in ("list", "print") and not rest:
        return _list(ctx)
    if sub in ("new", "edit", "delete") and len(rest) == 1:
        return _configure(ctx, sub, rest[0], changes)
    if sub == "messages" and len(rest) == 1:
        return _messages(ctx, _quarantine(ctx, rest[0]).name)
    if sub == "show" and len(rest) == 2 and rest[1].isdigit():
        name = _quarantine(ctx, rest[0]).name
        held = _store(ctx).get(name, int(rest[1]))
        if held is None:
            raise CommandError(f"There is no message {rest[1]} in the quarantine {name}.")
        for label, value in (("MID", held.mid), ("From", held.sender), ("To", ", ".join(held.recipients)),
                             ("Subject", held.subject), ("Size", f"{held.size} bytes"), ("Reason", held.reason),
                             ("Policy", held.policy), ("Held since", time.ctime(held.held_at))):
            ctx.say(f"{label + ':':<12}{value}")
        ctx.say()
        ctx.prompter.page(_store(ctx).content(name, held.mid).decode("utf-8", "replace"))
        return
    if sub in ("release", "remove") and len(rest) >= 2:
        name = _quarantine(ctx, rest[0]).name
        mids = _mids(ctx, name, rest[1:])
        if sub == "release":
            released = ctx.control("quarantine_release", name=name, mids=mids)["released"]
            for mid, new in released.items():
                ctx.say(f"Message {mid} released from {name} (delivered as MID {new}).")
        else:
            gone = [m for m in mids if _store(ctx).remove(name, m)]
            ctx.say(f"{len(gone)} messages deleted from {name}.")
        return
    raise CommandError(USAGE)


def _store(ctx):
    from asyncos_cli.services.quarantine import QuarantineStore

    return QuarantineStore(ctx.datadir.quarantine)


def _quarantine(ctx, name: str) -> Quarantine:
    q = ctx.config.quarantines.get(name)
    if q is None:
        raise CommandError(f"There is no quarantine named {name} ('quarantineconfig list' shows them).")
    return q


def _mids(ctx, name: str, given: list[str]) -> list[int]:
    if [g.lower() for g in given] == ["all"]:
        return [h.mid for h in _store(ctx).held(name)]
    if not all(g.isdigit() for g in given):
        raise CommandError("give message IDs (numbers) or 'all'")
    return [int(g) for g in given]


def _configure(ctx, op: str, name: str, changes: dict) -> None:
    section = ctx.config.quarantines
    current = section.get(name)
    quarantines = list(section.quarantines)
    try:
        if op == "new":
            if current is not None:
                raise CommandError(f"A quarantine named {name} already exists.")
            quarantines.append(Quarantine(name, **changes))
        elif current is None:
            raise CommandError(f"There is no quarantine named {name}.")
        elif op == "edit":
            quarantines[quarantines.index(current)] = current.replace(**changes)
        else:
            if _store(ctx).held(current.name):
                raise CommandError(f"The quarantine {current.name} still holds messages: release or remove them first.")
            quarantines.remove(current)
        ctx.stage(section.replace(quarantines=tuple(quarantines)))
    except ConfigError as e:
        raise CommandError(str(e)) from None
    ctx.say(f"The quarantine {name} was {dict(new='created', edit='changed', delete='deleted')[op]}.")


def _list(ctx) -> None:
    store = _store(ctx)
    ctx.say(f"{'Quarantine':<20} {'Messages':>8} {'Retention':>10}  At expiry")
    for q in ctx.config.quarantines.quarantines:
        ctx.say(f"{q.name:<20} {len(store.held(q.name)):>8} {q.retention_days:>6} days  {q.expiry_action}")


def _messages(ctx, name: str) -> None:
    held = _store(ctx).held(name)
    if not held:
        ctx.say(f"The quarantine {name} holds no messages.")
        return
    ctx.say(f"{'MID':>8}  {'Held since':<24} {'From':<28} Subject / reason")
    for h in held:
        ctx.say(f"{h.mid:>8}  {time.ctime(h.held_at):<24} {h.sender[:28]:<28} {h.subject[:40]} ({h.reason})")


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        _list(ctx)
        op = p.menu([("NEW", "Create a quarantine."), ("DELETE", "Remove an empty quarantine."),
                     ("MESSAGES", "List the messages a quarantine holds."), ("RELEASE", "Release messages."),
                     ("REMOVE", "Delete messages.")])
        if op is None:
            return
        name = p.ask("Enter the name of the quarantine.")
        line = f"{op.lower()} {name}"
        if op in ("RELEASE", "REMOVE"):
            line += " " + p.ask("Enter the message IDs, separated by spaces, or 'all'.")
        try:
            run(ctx, Args.from_line(line))
        except CommandError as e:
            p.error(str(e))
