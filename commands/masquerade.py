"""masquerade: a listener's masquerading table (sender addresses rewritten, envelope and headers).

On the appliance this is listenerconfig's EDIT > MASQUERADE submenu; here it is also a command of its own,
with the same operations. The rule forms are in asyncos_cli.config.masquerade.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.masquerade import (
    MASQUERADE_HEADERS,
    MasqueradeRule,
    format_rules,
    parse_rules,
)
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

from .listenerconfig import EDITOR as LISTENERS

GRAMMAR = Grammar("masquerade", """
LISTENER print
LISTENER new SOURCE TARGET       (user@domain user@domain | @domain @domain | @.domain @domain | user user@domain)
LISTENER delete SOURCE
LISTENER import FILE
LISTENER export FILE
LISTENER clear
LISTENER config [--envelope=yes|no] [--headers=From,To,Cc,Reply-To]
""", notes="LISTENER: a listener's name or its number in 'listenerconfig print'. A full address wins over a "
           "domain rule, a domain over a subdomain rule. Changes are pending until commit.",
    names=lambda c: [x.name for x in c.listeners.listeners])

#: Bigger than any masquerading table needs; keeps an import bounded.
MAX_IMPORT_BYTES = 4 * 1024 * 1024


@command("masquerade", "Configure address masquerading on a listener.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    envelope = args.take_option("envelope")
    headers = args.take_option("headers")
    args.expect_done("masquerade")
    words = list(args.positional)
    if not words:
        if ctx.batch:
            raise UsageError()
        return _wizard(ctx, LISTENERS.pick(ctx, "masquerade on"))
    if len(words) < 2:
        raise UsageError()
    listener = LISTENERS.find(ctx, words[0])
    op, rest = words[1].lower(), words[2:]
    if op == "print" and not rest:
        return _print(ctx, listener)
    if op == "new" and len(rest) == 2:
        if any(r.source.lower() == rest[0].lower() for r in listener.masquerade):
            raise CommandError(f"{rest[0]} already has a rule on {listener.name}: delete it first.")
        return _stage(ctx, listener, masquerade=listener.masquerade + (_made(lambda: MasqueradeRule(*rest)),))
    if op == "delete" and len(rest) == 1:
        kept = tuple(r for r in listener.masquerade if r.source.lower() != rest[0].lower())
        if len(kept) == len(listener.masquerade):
            raise CommandError(f"There is no rule for {rest[0]} on {listener.name} ('masquerade {listener.name} "
                               "print' lists them).")
        return _stage(ctx, listener, masquerade=kept)
    if op == "clear" and not rest:
        return _stage(ctx, listener, masquerade=())
    if op == "import" and len(rest) == 1:
        try:
            rules = parse_rules(ctx.files.read_text(rest[0], MAX_IMPORT_BYTES))
        except ConfigError as e:
            raise CommandError(f"{rest[0]}, {e}. Nothing was imported.") from None
        return _stage(ctx, listener, masquerade=rules)
    if op == "export" and len(rest) == 1:
        ctx.files.write_text(rest[0], format_rules(listener.masquerade))
        return ctx.say(f"{len(listener.masquerade)} rules exported to {ctx.files.shown(rest[0])}.")
    if op == "config" and not rest:
        changes = {}
        if envelope is not None:
            changes["masquerade_envelope"] = _yes(envelope, "--envelope")
        if headers is not None:
            changes["masquerade_headers"] = _headers(headers)
        if not changes:
            raise UsageError()
        return _stage(ctx, listener, **changes)
    raise UsageError()


def _yes(value, option: str) -> bool:
    text = str(value).lower()
    if text in ("yes", "y", "true"):
        return True
    if text in ("no", "n", "false"):
        return False
    raise CommandError(f"{option} takes yes or no")


def _headers(value) -> tuple[str, ...]:
    by_lower = {h.lower(): h for h in MASQUERADE_HEADERS}
    out = []
    for name in ("" if value is True else str(value)).split(","):
        name = name.strip()
        if not name:
            continue
        if name.lower() not in by_lower:
            raise CommandError(f"--headers: {name!r} is not one of {', '.join(MASQUERADE_HEADERS)}")
        out.append(by_lower[name.lower()])
    return tuple(dict.fromkeys(out))


def _made(make) -> MasqueradeRule:
    try:
        return make()
    except ConfigError as e:
        raise CommandError(e.message) from None


def _stage(ctx, listener, **changes) -> None:
    new = listener.replace(**changes)
    items = list(ctx.config.listeners.listeners)
    items[items.index(listener)] = new
    try:
        ctx.stage(ctx.config.listeners.replace(listeners=tuple(items)))
    except ConfigError as e:
        raise CommandError(str(e)) from None
    _print(ctx, new)


def _print(ctx, listener) -> None:
    if not listener.masquerade:
        ctx.say(f"There are no masquerading rules on {listener.name}.")
    else:
        ctx.say(f"Masquerading rules on {listener.name}:")
        for i, r in enumerate(listener.masquerade, 1):
            ctx.say(f"{i}. {r.source} -> {r.target}")
    where = ", ".join((["envelope sender"] if listener.masquerade_envelope else [])
                      + list(listener.masquerade_headers)) or "nothing"
    ctx.say(f"Masquerading applies to: {where}")


def _wizard(ctx, listener) -> None:
    p = ctx.prompter
    while True:
        listener = LISTENERS.find(ctx, listener.name)
        _print(ctx, listener)
        ctx.say()
        op = p.menu([("NEW", "Create a new entry."), ("DELETE", "Remove an entry."),
                     ("IMPORT", "Import a table of entries from a file."),
                     ("EXPORT", "Export the table of entries to a file."),
                     ("CONFIG", "Configure the masqueraded headers."), ("CLEAR", "Remove all entries.")])
        if op is None:
            return
        try:
            if op == "NEW":
                source = p.ask("Enter the source address or user name.")
                target = p.ask("Enter the address it should be rewritten to.")
                run(ctx, _args(listener.name, "new", source, target))
            elif op == "DELETE":
                run(ctx, _args(listener.name, "delete", p.ask("Enter the source address to delete.")))
            elif op in ("IMPORT", "EXPORT"):
                run(ctx, _args(listener.name, op.lower(), p.ask("Enter the name of the file:")))
            elif op == "CONFIG":
                envelope = p.yes_no("Do you want to masquerade the envelope sender?", listener.masquerade_envelope)
                chosen = [h for h in MASQUERADE_HEADERS
                          if p.yes_no(f"Do you want to masquerade the {h} headers?", h in listener.masquerade_headers)]
                _stage(ctx, listener, masquerade_envelope=envelope, masquerade_headers=tuple(chosen))
            elif p.yes_no("Are you sure you want to remove all masquerading rules?", False):
                _stage(ctx, listener, masquerade=())
        except (CommandError, ConfigError) as e:
            p.error(str(e))


def _args(*words: str):
    from asyncos_cli.shell.args import Args

    return Args(list(words), {})
