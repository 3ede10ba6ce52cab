"""hashlistconfig: named lists of SHA-256 values for the file-hash-list filter rule and strip action.

Filters use a list by name: the rule ``attachment-filehashlist('NAME')`` and
the action ``drop-attachments-by-filehashlist('NAME')``, in message and
content filters alike.
"""

from __future__ import annotations

import re

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import HashList
from asyncos_cli.shell.args import Args
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("hashlistconfig", """
list
print NAME
new NAME [--description=TEXT] [HASH ...]
import NAME FILE        (one SHA-256 per line; '#' comments, sha256sum output accepted)
export NAME FILE
add NAME HASH ...
remove NAME HASH ...
delete NAME
""",
    names=lambda c: [x.name for x in c.hash_lists.lists])
USAGE = GRAMMAR.usage()

_HASH_IN_LINE = re.compile(r"^\s*([0-9A-Fa-f]{64})\b")


@command("hashlistconfig", "Configure file hash lists.", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    sub = args.subcommand()
    rest = args.positional[1:]
    description = args.take_option("description")
    args.expect_done(f"hashlistconfig {sub}")
    if sub == "list" and not rest:
        return _list(ctx)
    if sub == "print" and len(rest) == 1:
        h = _get(ctx, rest[0])
        ctx.say(f"{h.name}: {h.description}" if h.description else h.name)
        for value in h.hashes:
            ctx.say(value)
        return
    if sub == "new" and rest:
        if ctx.config.hash_lists.get(rest[0]) is not None:
            raise CommandError(f"A hash list named {rest[0]} already exists.")
        _store(ctx, None, HashList, name=rest[0], hashes=tuple(_normalised(rest[1:])),
               description=str(description or ""))
        ctx.say(f"The hash list {rest[0]} was created with {len(rest) - 1} hashes.")
        return
    if sub == "import" and len(rest) == 2:
        values = _read(ctx, rest[1])
        current = ctx.config.hash_lists.get(rest[0])
        if current is None:
            _store(ctx, None, HashList, name=rest[0], hashes=tuple(values), description=str(description or ""))
        else:
            _store(ctx, current, current.replace, hashes=tuple(values))
        ctx.say(f"{len(values)} hashes imported into {rest[0]}.")
        return
    if sub == "export" and len(rest) == 2:
        h = _get(ctx, rest[0])
        ctx.files.write_text(rest[1], "".join(f"{v}\n" for v in h.hashes))
        ctx.say(f"{len(h.hashes)} hashes exported to {ctx.files.shown(rest[1])}.")
        return
    if sub in ("add", "remove") and len(rest) >= 2:
        h = _get(ctx, rest[0])
        given = _normalised(rest[1:])
        if sub == "add":
            hashes = tuple(dict.fromkeys(h.hashes + tuple(given)))
        else:
            missing = [v for v in given if v not in h.hashes]
            if missing:
                raise CommandError(f"Not in {h.name}: {', '.join(missing)}")
            hashes = tuple(v for v in h.hashes if v not in given)
        _store(ctx, h, h.replace, hashes=hashes)
        ctx.say(f"{h.name} now holds {len(hashes)} hashes.")
        return
    if sub == "delete" and len(rest) == 1:
        h = _get(ctx, rest[0])
        ctx.replace_section("hash_lists", lists=tuple(x for x in ctx.config.hash_lists.lists if x is not h))
        ctx.say(f"The hash list {h.name} was deleted.")
        return
    raise CommandError(USAGE)


def _get(ctx, name: str) -> HashList:
    h = ctx.config.hash_lists.get(name)
    if h is None:
        raise CommandError(f"There is no hash list named {name} ('hashlistconfig list' shows them).")
    return h


def _normalised(values) -> list[str]:
    out: dict[str, None] = {}
    for v in values:
        v = v.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", v):
            raise CommandError(f"{v[:80]!r} is not a SHA-256 value (64 hex digits)")
        out[v] = None
    return list(out)


#: More hashes than any list needs; keeps an import bounded in time and memory.
MAX_IMPORT_BYTES = 16 * 1024 * 1024


def _read(ctx, path: str) -> list[str]:
    """The file's hashes in order, once each; a bad line is named by number, never quoted."""
    lines = ctx.files.read_text(path, MAX_IMPORT_BYTES).splitlines()
    out: dict[str, None] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _HASH_IN_LINE.match(line)
        if m is None:
            raise CommandError(f"{path}, line {n}: not a SHA-256 value (64 hex digits). Nothing was imported.")
        out[m.group(1).lower()] = None
    return list(out)


def _store(ctx, current, make, **fields) -> None:
    try:
        new = make(**fields)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    lists = list(ctx.config.hash_lists.lists)
    if current is None:
        lists.append(new)
    else:
        lists[lists.index(current)] = new
    ctx.replace_section("hash_lists", lists=tuple(lists))


def _list(ctx) -> None:
    lists = ctx.config.hash_lists.lists
    if not lists:
        ctx.say("No hash lists are defined.")
        return
    ctx.say(f"{'Name':<24} {'Hashes':>7}  Description")
    for h in lists:
        ctx.say(f"{h.name:<24} {len(h.hashes):>7}  {h.description}")


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        _list(ctx)
        op = p.menu([("NEW", "Create a hash list."), ("IMPORT", "Import hashes from a file."),
                     ("ADD", "Add hashes to a list."), ("REMOVE", "Remove hashes from a list."),
                     ("PRINT", "Show a list."), ("DELETE", "Remove a list.")])
        if op is None:
            return
        name = p.ask("Enter the name of the hash list.")
        line = {"NEW": f"new {name}", "PRINT": f"print {name}", "DELETE": f"delete {name}"}.get(op)
        if op == "IMPORT":
            line = f"import {name} {p.ask('Enter the name of the file to import:')}"
        elif op in ("ADD", "REMOVE"):
            line = f"{op.lower()} {name} {p.ask('Enter the SHA-256 values, separated by spaces.')}"
        try:
            run(ctx, Args.from_line(line))
        except CommandError as e:
            p.error(str(e))
