"""Tab completion at the main prompt, read from the registry and each command's grammar.

Completes command names (and the command after ``help``), subcommands, ``--options`` of the line's forms, and
names from the configuration (listeners, users, policies, quarantines, log subscriptions...) where a form
asks for one. Words are split on white space only, so names holding '-' or '.' complete (prompt_toolkit's
NestedCompleter does not: prompt-toolkit issues #1201, #1400). Question prompts complete their menu words
and choices through :func:`choices_completer`.
"""

from __future__ import annotations

from typing import Callable, Iterable

from prompt_toolkit.completion import Completer, Completion, WordCompleter

from asyncos_cli.shell.registry import all_commands, lookup


def choices_completer(words: Iterable[str]) -> WordCompleter | None:
    words = list(words)
    return WordCompleter(words, ignore_case=True, sentence=True) if words else None


class CommandCompleter(Completer):
    def __init__(self, config: Callable[[], object] | None = None):
        #: The configuration names are read from (None when it cannot be read: no names offered).
        self.config = config or (lambda: None)

    def get_completions(self, document, complete_event):
        text = document.text_before_cursor
        words = text.split()
        current = "" if not words or text[-1:].isspace() else words[-1]
        before = words[:-1] if current else words
        if not before:
            yield from self._commands(current)
            return
        cmd = lookup(before[0])
        if cmd is None:
            return
        if cmd.name == "help" and len(before) == 1:
            yield from self._commands(current)
            return
        positional = [w for w in before[1:] if not w.startswith("--")]
        if current.startswith("--"):
            yield from self._options(cmd, positional, current)
        elif not positional:
            yield from _starting(cmd.subcommands, current)
        elif cmd.grammar is not None:
            yield from _starting(cmd.grammar.completions_after(positional, self.config()), current)

    @staticmethod
    def _options(cmd, positional, current: str):
        if cmd.grammar is None:
            return
        for name, opt in sorted(cmd.grammar.options_for_line(positional).items()):
            shown = f"--{name}" + ("" if opt.is_flag else "=")
            if shown.startswith(current):
                yield Completion(shown, -len(current), display_meta=opt.help or opt.metavar)

    @staticmethod
    def _commands(prefix: str):
        prefix = prefix.lower()
        for cmd in all_commands():
            for name in (cmd.name, *cmd.aliases):
                if name.startswith(prefix):
                    yield Completion(name, -len(prefix), display_meta=cmd.summary)


def _starting(words, prefix: str):
    """Completions of ``prefix`` among ``words`` (without case)."""
    for word in words:
        if word.lower().startswith(prefix.lower()):
            yield Completion(word, -len(prefix))
