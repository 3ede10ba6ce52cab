"""The Prompter a wizard talks through, and the error every command raises.

A wizard is written once against :class:`Prompter`; the shell supplies a
terminal, scripted or SSH implementation. The base class holds the
AsyncOS question formats (``[default]> ``, ``[Y]>``, menus, numbered lists)
and the re-ask loop, so implementations provide only two primitives: read
one line and write text.
"""

from __future__ import annotations

import abc
from typing import Callable, Sequence


class CommandError(Exception):
    """The command failed: the message is for the user; a batch run stops non-zero."""


class UsageError(CommandError):
    """The line does not fit any of the command's forms: the shell answers with the command's usage."""

    def __init__(self, message: str = "The arguments do not fit this command (see 'help COMMAND')."):
        super().__init__(message)


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
    #: The words the question being read accepts (menu keywords, choices): a terminal completes them.
    completions: tuple[str, ...] = ()

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

    def wait_unless_stopped(self, seconds: float) -> bool:
        """Wait ``seconds`` while following something (tail, grep -t); False when the user pressed Ctrl-C.
        On a local terminal Ctrl-C arrives as SIGINT; the SSH prompter watches the keys instead."""
        import time

        try:
            time.sleep(seconds)
        except KeyboardInterrupt:
            return False
        return True

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

    def ask_setting(self, question: str, record: type, name: str, default=None):
        """A question for one configuration field, answered and checked by the field's declaration (its
        type, choices, range): the wizard re-asks with the same message a batch option or a loaded file
        gets. Returns the typed value."""
        from asyncos_cli.config.fields import (
            ConfigError,
            check_field,
            declaration,
            field_types,
            parse_scalar,
            unwrap_optional,
        )

        tp, _ = unwrap_optional(field_types(record)[name])
        if tp is bool:
            return self.yes_no(question, default)
        choices = declaration(record, name).metadata.get("choices")
        if choices:
            return choices[self.choose(question, list(choices), choices.index(default) if default in choices
                                       else None)]
        value = []

        def check(text: str) -> str | None:
            try:
                value[:] = [parse_scalar(tp, text, name)]
                check_field(record, name, value[0], name)
            except ConfigError as e:
                return e.message
            return None

        # An empty default is a value of its own ("none", "the system's"): Enter keeps it.
        self.ask(question, None if default is None else str(default), check, allow_empty=default == "")
        return value[0]

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
            answer = self._read_choice(f"[{'' if default is None else default + 1}]> ", options)
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
            answer = self._read_choice("[]> ", keywords)
            if not answer:
                return None
            if answer.upper() in keywords:
                return answer.upper()
            self.error(f"Unknown option '{answer}'.")

    def _read_choice(self, prompt: str, words) -> str:
        self.completions = tuple(words)
        try:
            return self.read_line(prompt).strip()
        finally:
            self.completions = ()

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
