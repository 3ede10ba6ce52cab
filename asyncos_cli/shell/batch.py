"""Batch runs: ``-c 'CMD; CMD'``, ``batch FILE`` and lines piped on stdin.

Each command runs in turn; the first failure stops the run with its reason on
stderr and a non-zero exit. Pending changes left at the end are discarded,
and the run says so on stderr.
"""

from __future__ import annotations

import sys
from typing import Iterable

from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import redact

from .runner import Shell


def split_commands(text: str) -> list[str]:
    """Split on ';' outside quotes (a quoted ';' belongs to an argument)."""
    out, buf, quote = [], [], None
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\" and quote == '"' and i + 1 < len(text):
                buf.append(c + text[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "\\" and i + 1 < len(text):
            buf.append(c + text[i + 1])
            i += 2
            continue
        elif c == ";":
            out.append("".join(buf))
            buf = []
            i += 1
            continue
        buf.append(c)
        i += 1
    out.append("".join(buf))
    return [c.strip() for c in out if c.strip()]


def lines_to_commands(lines: Iterable[str]) -> Iterable[str]:
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        yield from split_commands(stripped)


def run_batch(shell: Shell, commands: Iterable[str], err=None) -> int:
    err = err or sys.stderr
    ctx = shell.ctx
    status = 0
    for cmd in commands:
        try:
            shell.execute(cmd)
        except CommandError as e:
            err.write(f"asyncos-cli: {redact(cmd)}: {e}\n")
            status = 1
            break
        except KeyboardInterrupt:
            err.write(f"asyncos-cli: {redact(cmd)}: interrupted\n")
            status = 130
            break
        if ctx.quit_requested:
            break
    if ctx.has_session and ctx.session.has_pending:
        names = ", ".join(ctx.session.pending_names())
        ctx.session.clear()
        err.write(
            f"asyncos-cli: uncommitted changes discarded ({names}): add 'commit' to the run to keep them\n"
        )
    return status
