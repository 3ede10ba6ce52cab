"""Completion of command names and subcommands from the registry.

Words are split on white space only, so names holding '-' or '.' complete
(prompt_toolkit's NestedCompleter does not: prompt-toolkit issues #1201, #1400).
"""

from __future__ import annotations

from prompt_toolkit.completion import Completer, Completion

from asyncos_cli.shell.registry import all_commands, lookup


class CommandCompleter(Completer):
    def get_completions(self, document, complete_event):
        text = document.text_before_cursor
        words = text.split()
        ends_with_space = text[-1:].isspace()
        if not words or (len(words) == 1 and not ends_with_space):
            prefix = words[0].lower() if words else ""
            for cmd in all_commands():
                for name in (cmd.name, *cmd.aliases):
                    if name.startswith(prefix):
                        yield Completion(name, -len(prefix), display_meta=cmd.summary)
            return
        if (len(words) == 1 and ends_with_space) or (len(words) == 2 and not ends_with_space):
            cmd = lookup(words[0])
            if cmd is None:
                return
            prefix = words[1] if len(words) == 2 else ""
            for sub in cmd.subcommands:
                if sub.lower().startswith(prefix.lower()):
                    yield Completion(sub, -len(prefix))
