"""stripheaders: the header fields removed from every message before it is delivered."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import header_name_problem
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("stripheaders", """
print
setup HEADER[,HEADER...]
clear
""", notes="Header names compare without case; every field of a listed name is removed, continuation lines "
           "included. Changes are pending until commit.")


@command("stripheaders", "Define a list of message headers to remove.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    args.expect_done("stripheaders")
    words = list(args.positional)
    if not words:
        if ctx.batch:
            raise UsageError()
        return _wizard(ctx)
    op = words[0].lower()
    if op == "print" and len(words) == 1:
        return _print(ctx)
    if op == "clear" and len(words) == 1:
        return _set(ctx, ())
    if op == "setup" and len(words) >= 2:
        return _set(ctx, _names(" ".join(words[1:])))
    raise UsageError()


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip().rstrip(":") for n in text.split(",") if n.strip())
    for n in names:
        problem = header_name_problem(n)
        if problem:
            raise CommandError(problem)
    return names


def _set(ctx, names: tuple[str, ...]) -> None:
    try:
        ctx.replace_section("strip_headers", headers=names)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    _print(ctx)


def _print(ctx) -> None:
    names = ctx.config.strip_headers.headers
    ctx.say(f"Currently stripping headers: {', '.join(names)}" if names else "Not currently stripping any headers.")


def _wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        _print(ctx)
        ctx.say()
        op = p.menu([("SETUP", "Set message headers to remove.")])
        if op is None:
            return
        current = ", ".join(ctx.config.strip_headers.headers)

        def check(text: str) -> str | None:
            try:
                _names(text)
            except CommandError as e:
                return str(e)
            return None

        answer = p.ask("Enter the list of headers to strip from messages before they are delivered. Separate "
                       "multiple headers with commas (a single space: none).", current or None, validate=check,
                       allow_empty=True)
        _set(ctx, _names(answer))
