"""hashlistconfig: named lists of SHA-256 values for the file-hash-list filter rule and strip action.

Filters use a list by name: the rule ``attachment-filehashlist('NAME')`` and
the action ``drop-attachments-by-filehashlist('NAME')``, in message and
content filters alike.
"""

from __future__ import annotations

import re

from asyncos_cli.auth import roles as R
from asyncos_cli.config.schema import HashList
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
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

_HASH_IN_LINE = re.compile(r"^\s*([0-9A-Fa-f]{64})\b")


LISTS = ListEditor("hash list", "hashlistconfig", lambda ctx: ctx.config.hash_lists.lists, lambda h: h.name,
                   stored_in=("hash_lists", "lists"),
                   heading=f"{'Name':<24} {'Hashes':>7}  Description",
                   line=lambda h: f"{h.name:<24} {len(h.hashes):>7}  {h.description}")


@command("hashlistconfig", "Configure file hash lists.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.subcommand(), args.positional[1:]
    description = args.take_option("description")
    args.expect_done(f"hashlistconfig {sub}")
    if sub == "list" and not rest:
        return show(ctx)
    if sub == "new" and rest:
        return _new(ctx, rest[0], rest[1:], str(description or ""))
    if sub == "import" and len(rest) == 2:
        return _import(ctx, rest[0], rest[1], str(description or ""))
    handler, arity = _BATCH.get(sub, (None, 0))
    if handler is None or not (len(rest) == arity or (arity < 0 and len(rest) >= -arity)):
        raise UsageError()
    handler(ctx, LISTS.find(ctx, rest[0]), *rest[1:])


def _print(ctx, h: HashList) -> None:
    ctx.say(f"{h.name}: {h.description}" if h.description else h.name)
    for value in h.hashes:
        ctx.say(value)


def _new(ctx, name: str, values, description: str) -> None:
    LISTS.refuse_duplicate(ctx, name)
    _store(ctx, None, HashList, name=name, hashes=tuple(_normalised(values)), description=description)
    ctx.say(f"The hash list {name} was created with {len(values)} hashes.")


def _import(ctx, name: str, path: str, description: str = "") -> None:
    values = _read(ctx, path)
    current = ctx.config.hash_lists.get(name)
    if current is None:
        _store(ctx, None, HashList, name=name, hashes=tuple(values), description=description)
    else:
        _store(ctx, current, current.replace, hashes=tuple(values))
    ctx.say(f"{len(values)} hashes imported into {name}.")


def _export(ctx, h: HashList, path: str) -> None:
    ctx.files.write_text(path, "".join(f"{v}\n" for v in h.hashes))
    ctx.say(f"{len(h.hashes)} hashes exported to {ctx.files.shown(path)}.")


def _add(ctx, h: HashList, *values: str) -> None:
    _set_hashes(ctx, h, tuple(dict.fromkeys(h.hashes + tuple(_normalised(values)))))


def _remove(ctx, h: HashList, *values: str) -> None:
    given = _normalised(values)
    missing = [v for v in given if v not in h.hashes]
    if missing:
        raise CommandError(f"Not in {h.name}: {', '.join(missing)}")
    _set_hashes(ctx, h, tuple(v for v in h.hashes if v not in given))


def _set_hashes(ctx, h: HashList, hashes: tuple) -> None:
    _store(ctx, h, h.replace, hashes=hashes)
    ctx.say(f"{h.name} now holds {len(hashes)} hashes.")


def _delete(ctx, h: HashList) -> None:
    LISTS.put(ctx, h, None)
    ctx.say(f"The hash list {h.name} was deleted.")


#: Batch subcommands on one list: (handler, the number of arguments; negative: at least that many).
_BATCH = {"print": (_print, 1), "export": (_export, 2), "add": (_add, -2), "remove": (_remove, -2),
          "delete": (_delete, 1)}


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
    LISTS.put(ctx, current, make(**fields))


def show(ctx) -> None:
    if not ctx.config.hash_lists.lists:
        ctx.say("No hash lists are defined.")
        return
    LISTS.print(ctx)


def _ask_hashes(ctx) -> list[str]:
    return ctx.prompter.ask("Enter the SHA-256 values, separated by spaces.").split()


def wizard(ctx) -> None:
    p = ctx.prompter
    LISTS.menu(ctx, [
        ("NEW", "Create a hash list.", lambda ctx: _new(ctx, p.ask("Enter the name of the hash list."), [], "")),
        ("IMPORT", "Import hashes from a file.", lambda ctx: _import(
            ctx, p.ask("Enter the name of the hash list."), p.ask("Enter the name of the file to import:"))),
        ("ADD", "Add hashes to a list.", lambda ctx: _add(ctx, LISTS.pick(ctx, "add to"), *_ask_hashes(ctx))),
        ("REMOVE", "Remove hashes from a list.",
         lambda ctx: _remove(ctx, LISTS.pick(ctx, "remove from"), *_ask_hashes(ctx))),
        ("PRINT", "Show a list.", lambda ctx: _print(ctx, LISTS.pick(ctx, "show"))),
        ("DELETE", "Remove a list.", lambda ctx: _delete(ctx, LISTS.pick(ctx, "delete")))], show=show)
