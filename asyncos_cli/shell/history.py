"""Shell history that never records a secret."""

from __future__ import annotations

import os

from prompt_toolkit.history import FileHistory

from asyncos_cli.shell.registry import redact


class RedactingHistory(FileHistory):
    def __init__(self, filename: str):
        if not os.path.exists(filename):
            os.close(os.open(filename, os.O_WRONLY | os.O_CREAT, 0o600))
        super().__init__(filename)

    def store_string(self, string: str) -> None:
        super().store_string(redact(string))

    def append_string(self, string: str) -> None:
        # The in-memory copy (Up arrow) is redacted too: what is recalled is what is stored.
        super().append_string(redact(string))
