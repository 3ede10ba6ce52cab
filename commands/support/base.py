"""What every command sees: the Prompter it talks through, its arguments and context.

A wizard is written once against :class:`Prompter`; the shell supplies a
terminal, scripted or SSH implementation. The base class holds the
AsyncOS question formats (``[default]> ``, ``[Y]>``, menus, numbered lists)
and the re-ask loop, so implementations provide only two primitives: read
one line and write text.
"""

from __future__ import annotations

import abc
import shlex
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence


class CommandError(Exception):
    """The command failed: the message is for the user; a batch run stops non-zero."""


class ScriptExhausted(CommandError):
    """A scripted prompter ran out of answers (a wizard asked more than the script holds)."""


Validator = Callable[[str], "str | None"]  # returns an error message, or None when the answer is fine


class Prompter(abc.ABC):
    """The one object a wizard talks to."""

    #: False for scripted answers; wizards may skip purely cosmetic output.
    interactive = True
    #: Called each time a wizard shows an operation menu: the steps done before it are complete, and
    #: Ctrl-C from here on abandons only the step in progress (the shell keeps a checkpoint).
    on_menu: Callable[[], None] | None = None

    @abc.abstractmethod
    def read_line(self, prompt: str, secret: bool = False) -> str:
        """Show ``prompt`` and return one answer line (KeyboardInterrupt aborts the wizard)."""

    @abc.abstractmethod
    def write(self, text: str) -> None:
        """Write text as it is (no newline added)."""

    # ------------------------------------------------------------ output

    def say(self, text: object = "") -> None:
        if not isinstance(text, str):
            text = render_rich(text)
        self.write(text + "\n")

    def page(self, text: str) -> None:
        """Long output; a terminal pages it with ``-Press Any Key For More-``."""
        self.say(text)

    def error(self, text: str) -> None:
        self.say(text)

    # ------------------------------------------------------------ questions

    def ask(
        self,
        question: str,
        default: str | None = None,
        validate: Validator | None = None,
        allow_empty: bool = False,
    ) -> str:
        """A question with an optional default; Enter takes the default; bad answers are re-asked."""
        while True:
            self.say(question)
            answer = self.read_line(f"[{default if default is not None else ''}]> ").strip()
            if not answer and default is not None:
                answer = default
            if not answer and not allow_empty:
                self.error("This field is required. Please enter a value.")
                continue
            problem = validate(answer) if validate else None
            if problem:
                self.error(problem)
                continue
            return answer

    def ask_int(self, question: str, default: int | None, low: int, high: int) -> int:
        def check(text: str) -> str | None:
            try:
                value = int(text)
            except ValueError:
                return f"Please enter a whole number from {low} to {high}."
            if not low <= value <= high:
                return f"Please enter a whole number from {low} to {high}."
            return None

        return int(self.ask(question, None if default is None else str(default), check))

    def yes_no(self, question: str, default: bool | None = None) -> bool:
        hint = "" if default is None else ("Y" if default else "N")
        while True:
            answer = self.read_line(f"{question} [{hint}]> ").strip().lower()
            if not answer and default is not None:
                return default
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no"):
                return False
            self.error("Please answer Y or N.")

    def choose(self, question: str, options: Sequence[str], default: int | None = None) -> int:
        """A numbered list; answer with the number or the text. Returns the 0-based index."""
        while True:
            self.say(question)
            for i, text in enumerate(options, 1):
                self.say(f"{i}. {text}")
            answer = self.read_line(f"[{'' if default is None else default + 1}]> ").strip()
            if not answer and default is not None:
                return default
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return int(answer) - 1
            matches = [i for i, t in enumerate(options) if t.lower() == answer.lower()]
            if matches:
                return matches[0]
            self.error(f"Please enter a number from 1 to {len(options)}.")

    def secret(
        self, question: str, confirm: str | None = None, validate: Validator | None = None
    ) -> str:
        """A passphrase: not echoed, optionally entered twice, re-asked until valid."""
        while True:
            value = self.read_line(f"{question}\n> " if not question.endswith(":") else f"{question} ", secret=True)
            if not value:
                self.error("The passphrase cannot be empty.")
                continue
            problem = validate(value) if validate else None
            if problem:
                self.error(problem)
                continue
            if confirm is not None:
                again = self.read_line(f"{confirm}\n> " if not confirm.endswith(":") else f"{confirm} ", secret=True)
                if again != value:
                    self.error("Passphrases do not match.")
                    continue
            return value

    def menu(self, operations: Sequence[tuple[str, str]], status: str | None = None) -> str | None:
        """The AsyncOS operation menu. Returns the chosen keyword (upper case), or None on Enter."""
        keywords = {name.upper(): name for name, _ in operations}
        if self.on_menu is not None:
            self.on_menu()
        while True:
            if status:
                self.say(status)
                self.say()
            self.say("Choose the operation you want to perform:")
            for name, description in operations:
                self.say(f"- {name} - {description}")
            answer = self.read_line("[]> ").strip()
            if not answer:
                return None
            if answer.upper() in keywords:
                return answer.upper()
            self.error(f"Unknown option '{answer}'.")

    def multiline(self, question: str) -> str:
        """Lines until one holding only '.' or end of input (Ctrl-D), as the appliance's pastes end."""
        self.say(question)
        lines = []
        while True:
            try:
                line = self.read_line("")
            except EOFError:
                return "\n".join(lines)
            if line.strip() == ".":
                return "\n".join(lines)
            lines.append(line)


def render_rich(renderable: object, width: int = 100) -> str:
    from rich.console import Console

    console = Console(width=width, record=True, file=_NullFile(), color_system=None)
    console.print(renderable)
    return console.export_text().rstrip("\n")


class _NullFile:
    def write(self, _text):
        return 0

    def flush(self):
        pass


# ---------------------------------------------------------------- arguments


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
