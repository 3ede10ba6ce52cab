"""aliasconfig: the alias table (one address to many), applied on the listeners that use it.

A listener uses the table with ``listenerconfig edit NAME --aliases=yes``. The file format and the rules
(domain contexts, nesting, loops) are in asyncos_cli.config.aliases.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.aliases import MAX_DEPTH, Alias, format_table, parse_table
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("aliasconfig", """
print
new ALIAS --to=ADDRESS[,ADDRESS...] [--domains=DOMAIN[,DOMAIN...]]
edit ALIAS [--in=DOMAIN] [--to=ADDRESS[,...]] [--domains=DOMAIN[,...]]
delete ALIAS [--in=DOMAIN]
import FILE
export FILE
clear
""", notes="ALIAS: a local part (within --domains, none: every domain) or a full address. A target without @ "
           "is that local part at the recipient's domain. --in names the domain context when a local part is "
           f"an alias in several. Aliases nest at most {MAX_DEPTH} levels; loops are refused. Listeners use "
           "the table with 'listenerconfig edit NAME --aliases=yes'. Changes are pending until commit.")

#: Bigger than any alias table needs; keeps an import bounded.
MAX_IMPORT_BYTES = 16 * 1024 * 1024


@command("aliasconfig", "Configure email aliases.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    words = list(args.positional)
    if not words:
        args.expect_done("aliasconfig")
        if ctx.batch:
            raise UsageError()
        return _wizard(ctx)
    op, rest = words[0].lower(), words[1:]
    targets = _list(args.take_option("to"))
    domains = _list(args.take_option("domains"))
    context = args.take_option("in")
    args.expect_done(f"aliasconfig {op}")
    if op == "print" and not rest:
        return _print(ctx)
    if op == "clear" and not rest:
        _stage(ctx, ())
        return ctx.say("The alias table was cleared. Commit to apply.")
    if op in ("import", "export") and len(rest) == 1:
        return _import(ctx, rest[0]) if op == "import" else _export(ctx, rest[0])
    if op == "new" and len(rest) == 1:
        if targets is None:
            raise CommandError("aliasconfig new needs --to=ADDRESS[,ADDRESS...]")
        return _put(ctx, None, _made(lambda: Alias(rest[0], targets, domains or ())))
    if op in ("edit", "delete") and len(rest) == 1:
        current = _find(ctx, rest[0], None if context is None else str(context))
        if op == "delete":
            _stage(ctx, tuple(a for a in _aliases(ctx) if a is not current))
            return ctx.say(f"The alias {current.alias} was deleted. Commit to apply.")
        changes = {k: v for k, v in (("targets", targets), ("domains", domains)) if v is not None}
        return _put(ctx, current, _made(lambda: current.replace(**changes)))
    raise UsageError()


def _list(value) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(v.strip() for v in ("" if value is True else str(value)).split(",") if v.strip())


def _aliases(ctx) -> tuple[Alias, ...]:
    return ctx.config.aliases.aliases


def _made(make) -> Alias:
    try:
        return make()
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _find(ctx, name: str, context: str | None) -> Alias:
    found = [a for a in _aliases(ctx) if a.alias.lower() == name.lower()
             and (context is None or any(d.lower() == context.lower() for d in a.domains))]
    if not found:
        raise CommandError(f"There is no alias {name}" + (f" in {context}" if context else "")
                           + " ('aliasconfig print' lists them).")
    if len(found) > 1:
        raise CommandError(f"{name} is an alias in several domain contexts: name one with --in=DOMAIN.")
    return found[0]


def _stage(ctx, aliases: tuple[Alias, ...]) -> None:
    try:
        ctx.replace_section("aliases", aliases=aliases)
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _put(ctx, current: Alias | None, new: Alias) -> None:
    items = list(_aliases(ctx))
    if current is None:
        if any(a.key() == new.key() for a in items):
            raise CommandError(f"The alias {new.alias} already exists in that domain context.")
        items.append(new)
    else:
        items[items.index(current)] = new
    _stage(ctx, tuple(items))
    where = f" (in {', '.join(new.domains)})" if new.domains else ""
    ctx.say(f"{new.alias}{where}: {', '.join(new.targets)}. Commit to apply.")


def _print(ctx) -> None:
    aliases = _aliases(ctx)
    if not aliases:
        ctx.say("There are currently no aliases defined.")
        return
    ctx.say(format_table(aliases).split("\n", 1)[1].rstrip("\n"))
    users = [l.name for l in ctx.config.listeners.listeners if l.use_aliases]
    ctx.say(f"Listeners using the alias table: {', '.join(users) or '(none: listenerconfig edit NAME --aliases=yes)'}")


def _import(ctx, path: str) -> None:
    text = ctx.files.read_text(path, MAX_IMPORT_BYTES)
    try:
        aliases = parse_table(text)
    except ConfigError as e:
        raise CommandError(f"{path}, {e}. Nothing was imported.") from None
    _stage(ctx, aliases)
    ctx.say(f"{len(aliases)} aliases imported (the table was replaced). Commit to apply.")


def _export(ctx, path: str) -> None:
    ctx.files.write_text(path, format_table(_aliases(ctx)))
    ctx.say(f"{len(_aliases(ctx))} aliases exported to {ctx.files.shown(path)}.")


def _wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        _print(ctx)
        ctx.say()
        op = p.menu([("NEW", "Create a new entry."), ("EDIT", "Modify an entry."), ("DELETE", "Remove an entry."),
                     ("IMPORT", "Import the alias table from a file."),
                     ("EXPORT", "Export the alias table to a file."), ("CLEAR", "Clear all entries.")])
        if op is None:
            return
        try:
            if op == "NEW":
                context = _list(p.ask("How do you want your aliases to apply? Enter the domains of the context, "
                                      "separated by commas (a single space: every domain).", " ",
                                      allow_empty=True))
                name = p.ask("Enter the alias.")
                targets = _list(p.ask("Enter the address(es) for this alias, separated by commas."))
                _put(ctx, None, _made(lambda: Alias(name, targets or (), context or ())))
            elif op in ("EDIT", "DELETE"):
                current = _find(ctx, p.ask("Enter the alias."), None)
                if op == "DELETE":
                    _stage(ctx, tuple(a for a in _aliases(ctx) if a is not current))
                else:
                    targets = _list(p.ask("Enter the address(es) for this alias, separated by commas.",
                                          ", ".join(current.targets)))
                    _put(ctx, current, _made(lambda: current.replace(targets=targets or ())))
            elif op == "IMPORT":
                _import(ctx, p.ask("Enter the name of the file to import:"))
            elif op == "EXPORT":
                _export(ctx, p.ask("Enter the name of the file to export to:"))
            elif p.yes_no("Are you sure you want to clear all aliases?", False):
                _stage(ctx, ())
        except (CommandError, ConfigError) as e:
            p.error(str(e))
