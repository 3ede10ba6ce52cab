"""A batch line's arguments: ``SUBCOMMAND [ARG ...] [--option=value ...]``, read against the command's
declared options."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Iterable

from .prompter import CommandError


@dataclass
class Args:
    """A batch line after the command name: ``SUBCOMMAND [ARG ...] [--option=value ...]``."""

    positional: list[str] = field(default_factory=list)
    options: dict[str, str | bool] = field(default_factory=dict)

    @classmethod
    def parse(cls, tokens: Iterable[str]) -> "Args":
        args = cls()
        for tok in tokens:
            if tok.startswith("--") and len(tok) > 2:
                name, sep, value = tok[2:].partition("=")
                name = name.lower().replace("_", "-")
                if sep and isinstance(args.options.get(name), str):
                    value = f"{args.options[name]},{value}"  # a repeated option adds to a comma list
                args.options[name] = value if sep else True
            else:
                args.positional.append(tok)
        return args

    @classmethod
    def from_line(cls, line: str) -> "Args":
        """A wizard handing its answers to the command's batch form (one code path for both)."""
        return cls.parse(split_line(line))

    def __bool__(self) -> bool:
        return bool(self.positional or self.options)

    def subcommand(self) -> str | None:
        return self.positional[0].lower() if self.positional else None

    def split(self) -> tuple[str | None, list[str]]:
        """(the subcommand in lower case, the arguments after it)."""
        return self.subcommand(), self.positional[1:]

    def option(self, name: str, default=None):
        return self.options.get(name, default)

    def take_option(self, name: str, default=None):
        return self.options.pop(name, default)

    def take_typed(self, spec) -> dict:
        """Options given, read as their fields' types: ``spec`` is (option, field, type) triples.

        Returns {field: value} for the options present; a value of the wrong
        type is refused with the option's name.
        """
        from asyncos_cli.config.fields import ConfigError, parse_scalar

        changes = {}
        for opt, field_name, tp in spec:
            if opt in self.options:
                value = self.options.pop(opt)
                try:
                    changes[field_name] = parse_scalar(tp, "" if value is True else str(value), f"--{opt}")
                except ConfigError as e:
                    raise CommandError(str(e)) from None
        return changes

    def take_fields(self, options) -> dict:
        """The options given among ``options`` (grammar Options of configuration fields), as
        {field: value}: typed and checked by each field's declaration, refused with the option's name."""
        return {opt.field: opt.read(self.options.pop(opt.name)) for opt in options if opt.name in self.options}

    def secret(self, name: str, ctx) -> str | None:
        """``--NAME=value``, ``--NAME-file=FILE`` or ``--NAME-file=-`` (standard input).

        The file is read through the session's path resolver (``ctx.files``): over SSH
        only a name inside the configuration directory.
        """
        from asyncos_cli.config.files import FileRefused

        if name in self.options:
            value = self.options.pop(name)
            if value is True or value == "":
                raise CommandError(f"--{name} needs a value")
            return str(value)
        path = self.options.pop(f"{name}-file", None)
        if path is None:
            return None
        if path is True or path == "":
            raise CommandError(f"--{name}-file needs a file name, or - for standard input")
        try:
            value = ctx.files.first_line(str(path))
        except FileRefused as e:
            raise CommandError(f"--{name}-file: {e}") from None
        if not value:
            raise CommandError(f"--{name}-file gave an empty passphrase")
        return value

    def expect_done(self, command: str) -> None:
        """Refuse options nobody read, so a typo never passes silently."""
        if self.options:
            names = ", ".join(f"--{n}" for n in self.options)
            raise CommandError(f"Unknown option for {command}: {names}")


def wizard_or_usage(ctx, usage: str, wizard) -> None:
    """A command typed without a subcommand: its wizard on a terminal, its usage in a batch."""
    if ctx.batch:
        raise CommandError(usage)
    return wizard(ctx)


def split_line(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=False, posix=True)
    except ValueError as e:
        raise CommandError(f"Invalid arguments when processing: {e}") from None
