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
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

FIELDS = field_options(Quarantine, "retention_days", "expiry_action")
GRAMMAR = Grammar("quarantineconfig", """
list | print
new NAME [FIELDS]
edit NAME [FIELDS]
delete NAME
messages NAME
show NAME MID
release NAME MID...|all
remove NAME MID...|all
""", fields=FIELDS, notes="NAME: a quarantine's name or its number in 'quarantineconfig print'.",
    names=lambda c: [x.name for x in c.quarantines.quarantines])

QUARANTINES = ListEditor("quarantine", "quarantineconfig", lambda ctx: ctx.config.quarantines.quarantines,
                         lambda q: q.name)


@command("quarantineconfig", "Configure policy quarantines and manage the messages they hold.",
         roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.subcommand(), args.positional[1:]
    changes = args.take_fields(FIELDS)
    args.expect_done(f"quarantineconfig {sub}")
    if sub in ("list", "print") and not rest:
        return show(ctx)
    if sub == "new" and len(rest) == 1:
        return _new(ctx, rest[0], changes)
    handler, arity = _BATCH.get(sub, (None, 0))
    if handler is None or not (len(rest) == arity or (arity < 0 and len(rest) >= -arity)):
        raise UsageError()
    if changes and sub != "edit":
        raise UsageError()
    quarantine = QUARANTINES.find(ctx, rest[0])
    return handler(ctx, quarantine, changes) if sub == "edit" else handler(ctx, quarantine, *rest[1:])


def _store(ctx):
    from asyncos_cli.services.quarantine import QuarantineStore

    return QuarantineStore(ctx.datadir.quarantine)


def _mids(ctx, name: str, given: list[str]) -> list[int]:
    if [g.lower() for g in given] == ["all"]:
        return [h.mid for h in _store(ctx).held(name)]
    if not all(g.isdigit() for g in given):
        raise CommandError("give message IDs (numbers) or 'all'")
    return [int(g) for g in given]


def _stage(ctx, quarantines, done: str) -> None:
    try:
        ctx.stage(ctx.config.quarantines.replace(quarantines=tuple(quarantines)))
    except ConfigError as e:
        raise CommandError(str(e)) from None
    ctx.say(done)


def _new(ctx, name: str, changes: dict) -> None:
    QUARANTINES.refuse_duplicate(ctx, name)
    try:
        quarantine = Quarantine(name, **changes)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    _stage(ctx, [*ctx.config.quarantines.quarantines, quarantine], f"The quarantine {name} was created.")


def _edit(ctx, current: Quarantine, changes: dict) -> None:
    try:
        new = current.replace(**changes)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    _stage(ctx, [new if q is current else q for q in ctx.config.quarantines.quarantines],
           f"The quarantine {current.name} was changed.")


def _delete(ctx, current: Quarantine) -> None:
    if _store(ctx).held(current.name):
        raise CommandError(f"The quarantine {current.name} still holds messages: release or remove them first.")
    _stage(ctx, [q for q in ctx.config.quarantines.quarantines if q is not current],
           f"The quarantine {current.name} was deleted.")


def _messages(ctx, quarantine: Quarantine) -> None:
    held = _store(ctx).held(quarantine.name)
    if not held:
        ctx.say(f"The quarantine {quarantine.name} holds no messages.")
        return
    ctx.say(f"{'MID':>8}  {'Held since':<24} {'From':<28} Subject / reason")
    for h in held:
        ctx.say(f"{h.mid:>8}  {time.ctime(h.held_at):<24} {h.sender[:28]:<28} {h.subject[:40]} ({h.reason})")


def _show_message(ctx, quarantine: Quarantine, mid: str) -> None:
    name = quarantine.name
    held = _store(ctx).get(name, int(mid)) if mid.isdigit() else None
    if held is None:
        raise CommandError(f"There is no message {mid} in the quarantine {name}.")
    for label, value in (("MID", held.mid), ("From", held.sender), ("To", ", ".join(held.recipients)),
                         ("Subject", held.subject), ("Size", f"{held.size} bytes"), ("Reason", held.reason),
                         ("Policy", held.policy), ("Held since", time.ctime(held.held_at))):
        ctx.say(f"{label + ':':<12}{value}")
    ctx.say()
    ctx.prompter.page(_store(ctx).content(name, held.mid).decode("utf-8", "replace"))


def _release(ctx, quarantine: Quarantine, *given: str) -> None:
    name = quarantine.name
    released = ctx.control("quarantine_release", name=name, mids=_mids(ctx, name, list(given)))["released"]
    for mid, new in released.items():
        ctx.say(f"Message {mid} released from {name} (delivered as MID {new}).")


def _remove(ctx, quarantine: Quarantine, *given: str) -> None:
    name = quarantine.name
    gone = [m for m in _mids(ctx, name, list(given)) if _store(ctx).remove(name, m)]
    ctx.say(f"{len(gone)} messages deleted from {name}.")


#: Batch subcommands on one quarantine: (handler, the number of arguments; negative: at least that many).
_BATCH = {"edit": (_edit, 1), "delete": (_delete, 1), "messages": (_messages, 1), "show": (_show_message, 2),
          "release": (_release, -2), "remove": (_remove, -2)}


def show(ctx) -> None:
    store = _store(ctx)
    ctx.say(f"{'Quarantine':<20} {'Messages':>8} {'Retention':>10}  At expiry")
    for q in ctx.config.quarantines.quarantines:
        ctx.say(f"{q.name:<20} {len(store.held(q.name)):>8} {q.retention_days:>6} days  {q.expiry_action}")


def _ask_settings(ctx, current: Quarantine | None) -> dict:
    p = ctx.prompter
    return {"retention_days": p.ask_setting("Enter the number of days messages are kept.", Quarantine,
                                            "retention_days", current.retention_days if current else 30),
            "expiry_action": p.ask_setting("What happens to a message when its time is up?", Quarantine,
                                           "expiry_action", current.expiry_action if current else "delete")}


def _ask_mids(ctx) -> list[str]:
    return ctx.prompter.ask("Enter the message IDs, separated by spaces, or 'all'.").split()


def wizard(ctx) -> None:
    QUARANTINES.menu(ctx, QUARANTINES.standard(
        lambda ctx: _new(ctx, ctx.prompter.ask("Enter the name of the quarantine."), _ask_settings(ctx, None)),
        lambda ctx, q: _edit(ctx, q, _ask_settings(ctx, q)), _delete,
        extra=[("MESSAGES", "List the messages a quarantine holds.", lambda ctx: _messages(ctx, QUARANTINES.pick(ctx, "list"))),
               ("RELEASE", "Release messages.", lambda ctx: _release(ctx, QUARANTINES.pick(ctx, "release from"),
                                                                    *_ask_mids(ctx))),
               ("REMOVE", "Delete messages.", lambda ctx: _remove(ctx, QUARANTINES.pick(ctx, "delete from"),
                                                                  *_ask_mids(ctx)))]), show=show)
