"""Reading the log files back: the last lines, matching lines with their context, new lines as they come.

Every reader streams: a 100 MB log is read a block or a line at a time, never whole. A file that rolls over
while it is followed (rollovernow, or its size or age) is left for the new current file.
"""

from __future__ import annotations

import os
import re
from collections import deque
from pathlib import Path
from typing import Callable, Iterator

#: How much is read at a time from the end of a file.
BLOCK = 64 * 1024


def current_file(logs_dir: Path, sub) -> Path:
    """The file a subscription is being written to now."""
    return logs_dir / sub.name / f"{sub.prefix}.current"


def last_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` lines, read backwards a block at a time."""
    if count <= 0:
        return []
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return []
    with f:
        end = f.seek(0, os.SEEK_END)
        data, pos = b"", end
        while pos > 0 and data.count(b"\n") <= count:
            step = min(BLOCK, pos)
            pos -= step
            f.seek(pos)
            data = f.read(step) + data
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [_text(line) for line in lines[-count:]]


def matching(path: Path, pattern: re.Pattern, context: int = 0) -> Iterator[str]:
    """Lines that match, each with up to ``context`` lines before and after; "--" between groups that do not
    touch (as grep -C prints them)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    before: deque[str] = deque(maxlen=context)
    last_printed, after = -1, 0
    with f:
        for i, raw in enumerate(f):
            line = _text(raw.rstrip(b"\n"))
            if pattern.search(line):
                if context and last_printed >= 0 and i - len(before) > last_printed + 1:
                    yield "--"
                yield from before
                before.clear()
                yield line
                last_printed, after = i, context
            elif after:
                yield line
                last_printed, after = i, after - 1
            elif context:
                before.append(line)


def follow(path: Path, wait: Callable[[float], bool], poll: float = 0.5) -> Iterator[str]:
    """New lines as they are written, from the end of the file now; then from the start of each new current
    file after a rollover. Between looks it calls ``wait(poll)``, and stops when that says False.

    "Now" is this call, not the first line asked for: a line written between the two is not lost."""
    f, inode = _open_at_end(path)
    return _follow(path, f, inode, wait, poll)


def _follow(path: Path, f, inode, wait, poll: float) -> Iterator[str]:
    partial = b""
    try:
        while True:
            chunk = f.read() if f is not None else b""
            if chunk:
                lines = (partial + chunk).split(b"\n")
                partial = lines.pop()
                for line in lines:
                    yield _text(line)
                continue
            try:
                now = os.stat(path).st_ino
            except FileNotFoundError:
                now = None
            if now is not None and now != inode:  # rolled over: the new current file from its start
                if f is not None:
                    f.close()
                f, inode, partial = open(path, "rb"), now, b""
                continue
            if not wait(poll):
                return
    finally:
        if f is not None:
            f.close()


def _open_at_end(path: Path):
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return None, None
    f.seek(0, os.SEEK_END)
    return f, os.fstat(f.fileno()).st_ino


def _text(raw: bytes) -> str:
    """A line as text; the writers escaped control characters already, so only bad UTF-8 is replaced."""
    return raw.decode("utf-8", "replace")
