"""The one registry of shell commands.

Each module of the ``commands`` package is one command, named after it, and
registers itself with :func:`command` (its summary, roles, aliases and
grammar). The registry drives dispatch, ``help``, completion, the role
check, secret redaction and the man-page check: nothing else keeps a list of
commands, not even this module (the package's files are the list). A batch
run imports only the module of the command it runs; help, completion and an
alias load them all.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import shlex
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable

from asyncos_cli.auth import roles as R

from .prompter import CommandError, UsageError

#: Option names that always hold secrets, whatever the command declares.
_SECRET_WORDS = re.compile(r"passphrase|password|secret|community|privkey|authkey|token", re.I)
REDACTED = "*****"


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    run: Callable
    roles: frozenset[str]
    #: Subcommand keywords, for completion and for the batch grammar.
    subcommands: tuple[str, ...] = ()
    #: Options beyond the generic secret words whose values are redacted.
    secret_options: frozenset[str] = frozenset()
    #: Positions (0-based, after the command name) of positional secrets.
    secret_positions: frozenset[int] = frozenset()
    #: False for commands that work on a data directory never initialised (init, help).
    needs_store: bool = True
    aliases: tuple[str, ...] = ()
    #: The batch grammar (asyncos_cli.shell.grammar.Grammar): forms, options, usage; None: no arguments.
    grammar: object = None

    def invoke(self, ctx, args) -> None:
        """Run the command on a parsed line: the grammar first; then, by the module's conventions, its
        ``wizard(ctx)`` for the bare command on a terminal and its ``show(ctx)`` for ``print`` (and for the
        bare command in a batch, where no question may be asked; without ``show``, the usage); every other
        line goes to ``run``."""
        if self.grammar is not None:
            self.grammar.check(args)
        module = sys.modules[self.run.__module__]
        wizard, show = getattr(module, "wizard", None), getattr(module, "show", None)
        if not args and (wizard or show):
            if wizard is not None and not ctx.batch:
                return wizard(ctx)
            if show is None:
                raise CommandError(self.usage())
            return show(ctx)
        if show and [w.lower() for w in args.positional] == ["print"] and not args.options:
            return show(ctx)
        try:
            return self.run(ctx, args)
        except UsageError:
            raise CommandError(self.usage()) from None

    def usage(self) -> str:
        return self.grammar.usage() if self.grammar is not None else f"Usage: {self.name}"

    def redact_tokens(self, tokens: list[str]) -> list[str]:
        out = []
        for i, tok in enumerate(tokens):
            if tok.startswith("--") and "=" in tok:
                name, _, value = tok[2:].partition("=")
                if name.endswith("-file") or name.endswith("_file"):
                    out.append(tok)  # a file name, not the secret
                elif _SECRET_WORDS.search(name) or name.lower() in self.secret_options:
                    out.append(f"--{name}={REDACTED}")
                else:
                    out.append(tok)
            elif i in self.secret_positions and not tok.startswith("--"):
                out.append(REDACTED)  # a positional secret; a flag at that place (--generate) is not one
            else:
                out.append(tok)
        return out


_REGISTRY: dict[str, Command] = {}
_loaded = False


def command(
    name: str,
    summary: str,
    roles: Iterable[str] = R.ALL,
    subcommands: Iterable[str] = (),
    secret_options: Iterable[str] = (),
    secret_positions: Iterable[int] = (),
    needs_store: bool = True,
    aliases: Iterable[str] = (),
    grammar=None,
):
    """Register the decorated ``run(ctx, args)`` as a shell command."""

    def wrap(fn: Callable) -> Callable:
        subs = tuple(subcommands)
        if grammar is not None:
            subs = tuple(dict.fromkeys((*grammar.subcommands, *subs)))
        cmd = Command(
            name=name,
            summary=summary,
            run=fn,
            roles=frozenset(roles),
            subcommands=subs,
            secret_options=frozenset(secret_options),
            secret_positions=frozenset(secret_positions),
            needs_store=needs_store,
            aliases=tuple(aliases),
            grammar=grammar,
        )
        for key in (name, *cmd.aliases):
            if key in _REGISTRY:
                raise RuntimeError(f"the command name {key!r} is registered twice")
            _REGISTRY[key] = cmd
        return fn

    return wrap


@lru_cache(maxsize=None)
def command_modules() -> tuple[str, ...]:
    """The modules of the ``commands`` package: one per command (listed once per process: completion
    looks names up at every key)."""
    import commands

    return tuple(sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.ispkg))


def load_all() -> None:
    global _loaded
    if not _loaded:
        for module in command_modules():
            importlib.import_module(f"commands.{module}")
        _loaded = True


def lookup(name: str) -> Command | None:
    key = name.lower()
    if key not in _REGISTRY:
        if re.fullmatch(r"[a-z_][a-z0-9_]*", key) and key in command_modules():
            importlib.import_module(f"commands.{key}")
        else:
            load_all()  # an alias, or no command at all
    return _REGISTRY.get(key)


def all_commands() -> list[Command]:
    """Each command once (aliases folded), by name."""
    load_all()
    unique = {c.name: c for c in _REGISTRY.values()}
    return [unique[n] for n in sorted(unique)]


def all_names() -> list[str]:
    load_all()
    return sorted(_REGISTRY)


def redact(line: str) -> str:
    """The line as it may be recorded: secret option values and positions replaced."""
    try:
        tokens = shlex.split(line)
    except ValueError:
        # Unbalanced quotes: fall back to a word-level scrub.
        return " ".join(_scrub_word(w) for w in line.split())
    if not tokens:
        return line
    cmd = lookup(tokens[0])
    if cmd is None:
        return " ".join(_scrub_word(w) for w in tokens)
    return " ".join(shlex.quote(t) if t != REDACTED and not t.startswith("--") else t
                    for t in [tokens[0], *cmd.redact_tokens(tokens[1:])])


def _scrub_word(word: str) -> str:
    if word.startswith("--") and "=" in word:
        name = word[2:].split("=", 1)[0]
        if _SECRET_WORDS.search(name) and not name.endswith("file"):
            return f"--{name}={REDACTED}"
    return word
