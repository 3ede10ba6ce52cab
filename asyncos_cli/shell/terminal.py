"""The Prompter on a real terminal (and, through prompt_toolkit's app session, over SSH).

Questions use plain prompt_toolkit prompts without history or completion;
only the main prompt has those (see repl.py).
"""

from __future__ import annotations

import shutil
from typing import Callable

from asyncos_cli.shell.prompter import Prompter

MORE = "-Press Any Key For More-"


class TerminalPrompter(Prompter):
    interactive = True

    def __init__(self, on_input: Callable[[str, str, bool], None] | None = None):
        #: Called with (prompt, answer, secret) for the CLI audit log.
        self.on_input = on_input or (lambda prompt, answer, secret: None)
        self._question_session = None

    def read_line(self, prompt: str, secret: bool = False) -> str:
        from prompt_toolkit import PromptSession

        if self._question_session is None:
            self._question_session = PromptSession()
        from .completer import choices_completer

        answer = self._question_session.prompt(prompt, is_password=secret,
                                               completer=choices_completer(self.completions),
                                               complete_while_typing=False)
        self.on_input(prompt, "*****" if secret else answer, secret)
        return answer

    def write(self, text: str) -> None:
        from prompt_toolkit import print_formatted_text

        print_formatted_text(text, end="", flush=True)

    def page(self, text: str) -> None:
        paginate(self, text, shutil.get_terminal_size((80, 24)).lines - 1, read_key)


def paginate(prompter, text: str, rows: int, read_key) -> None:
    """Show ``text`` a screen at a time: ``-Press Any Key For More-``; q or Ctrl-C stops."""
    lines = text.split("\n")
    rows = max(rows, 2)
    if len(lines) <= rows:
        prompter.say(text)
        return
    for start in range(0, len(lines), rows):
        prompter.say("\n".join(lines[start : start + rows]))
        if start + rows < len(lines):
            prompter.write(MORE)
            key = read_key()
            prompter.write("\r" + " " * len(MORE) + "\r")
            if key in ("q", "Q", "\x03"):
                break


def read_key() -> str:
    """One key press, without Enter (falls back to a line when stdin is no terminal)."""
    import sys
    import termios
    import tty

    fd = sys.stdin.fileno()
    try:
        old = termios.tcgetattr(fd)
    except termios.error:
        return sys.stdin.readline()[:1]
    try:
        tty.setraw(fd)
        return sys.stdin.read(1)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
