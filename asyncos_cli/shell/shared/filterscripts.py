"""Filter scripts as message filters and content filters read them: from a file, compiled or refused."""

from __future__ import annotations

from asyncos_cli.shell.prompter import CommandError


def compile_script(script: str):
    """The filters in ``script``; a syntax error or unsupported rule is a CommandError with line and column."""
    from scanning.filters import FilterError, parse_filters

    try:
        return parse_filters(script)
    except FilterError as e:
        raise CommandError(f"Invalid filter: {e}") from None


def read_script(ctx, path: str) -> str:
    """A filter script file, through the session's path resolver."""
    return ctx.files.read_text(path, 4 * 1024 * 1024).replace("\r\n", "\n")
