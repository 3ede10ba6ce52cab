"""Filter scripts as message filters and content filters read them: from a file, compiled or refused."""

from __future__ import annotations

from pathlib import Path

from .base import CommandError


def compile_script(script: str):
    """The filters in ``script``; a syntax error or unsupported rule is a CommandError with line and column."""
    from scanning.filters import FilterError, parse_filters

    try:
        return parse_filters(script)
    except FilterError as e:
        raise CommandError(f"Invalid filter: {e}") from None


def read_script(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CommandError(f'Error: the file "{path}" cannot be read: {e}') from None
