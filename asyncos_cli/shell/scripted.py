"""A Prompter that answers from a list: for tests, and for batch runs (an empty list).

Everything written, prompts included, goes to ``out`` so a test can read the
whole conversation as a transcript.
"""

from __future__ import annotations

import sys
from typing import Iterable, TextIO

from asyncos_cli.shell.prompter import Prompter, ScriptExhausted


class ScriptedPrompter(Prompter):
    interactive = False

    def __init__(self, answers: Iterable[str] = (), out: TextIO | None = None, batch: bool = False):
        self.answers = list(answers)
        self.out = out
        self.batch = batch
        self.transcript: list[str] = []

    def read_line(self, prompt: str, secret: bool = False) -> str:
        self.write(prompt)
        if not self.answers:
            last = prompt.strip() or "a question"
            if self.batch:
                raise ScriptExhausted(
                    f"This command asked '{last}' and a batch run cannot answer questions: "
                    "use its one-line form (see 'help COMMAND')."
                )
            raise ScriptExhausted(f"The script ran out of answers at: {last}")
        answer = self.answers.pop(0)
        self.write(("*" * len(answer) if secret else answer) + "\n")
        return answer

    def write(self, text: str) -> None:
        self.transcript.append(text)
        if self.out is not None:
            self.out.write(text)

    @property
    def text(self) -> str:
        return "".join(self.transcript)


def batch_prompter() -> ScriptedPrompter:
    """Output to stdout; any question is an error (the run is non-interactive)."""

    class _Batch(ScriptedPrompter):
        def write(self, text: str) -> None:
            sys.stdout.write(text)

    return _Batch(batch=True)
