"""grep: the lines of a log that match a regular expression, as the appliance's grep takes its options."""

from __future__ import annotations

import itertools
import re

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("grep", """
[-C COUNT] [-e REGEXP] [-i] [-p] [-t] [REGEXP] LOG
""", notes="-C COUNT lines of context around each match; -e REGEXP the expression (one that starts with '-'); "
           "-i case-insensitive; -p page the output; -t follow the log and show new matching lines until Ctrl-C "
           "(interactive only). LOG is a log subscription's name or its number in 'logconfig print'.")

USAGE = "grep [-C count] [-e regexp] [-i] [-p] [-t] [regexp] log_name"

#: Lines -p pages at most (the rest: narrow the expression, or read it without -p).
PAGED = 10000


@command("grep", "Search for text in a log file.", roles=R.VIEW, grammar=GRAMMAR)
def run(ctx, args):
    from asyncos_cli.services.logread import current_file, follow, matching
    from asyncos_cli.shell.shared.logs import choose_log, find_log

    args.expect_done("grep")
    words = _Options(list(args.positional))
    if not words.log and ctx.batch:
        raise CommandError(f"Usage: {USAGE}")
    if words.expression is None:
        if ctx.batch:
            raise CommandError(f"Give the regular expression to search for. Usage: {USAGE}")
        words.expression = ctx.prompter.ask("Enter the regular expression to grep.")
    try:
        pattern = re.compile(words.expression, re.IGNORECASE if words.ignore_case else 0)
    except re.error as e:
        raise CommandError(f"Invalid regular expression {words.expression!r}: {e}") from None
    sub = find_log(ctx, words.log) if words.log else choose_log(ctx, "grep")
    path = current_file(ctx.datadir.logs, sub)
    if words.follow:
        if ctx.batch or not ctx.prompter.interactive:
            raise CommandError("grep -t follows the log until Ctrl-C: it runs in an interactive session only.")
        following = follow(path, ctx.prompter.wait_unless_stopped)
        ctx.say("Press Ctrl-C to stop.")
        for line in following:
            if pattern.search(line):
                ctx.say(line)
        return
    found = matching(path, pattern, words.context)
    if words.paginate and not ctx.batch:
        # The pager needs its text whole: at most PAGED lines of it, never the whole of a big log.
        lines = list(itertools.islice(found, PAGED + 1))
        more = len(lines) > PAGED
        ctx.prompter.page("\n".join(lines[:PAGED]) + (f"\n(the first {PAGED} lines shown: narrow the expression, "
                                                         "or leave out -p)" if more else ""))
        return
    for line in found:
        ctx.say(line)


class _Options:
    """The appliance's grep words: flags and -C/-e with their values, then [regexp] log_name."""

    def __init__(self, words: list[str]):
        self.context, self.expression = 0, None
        self.ignore_case = self.paginate = self.follow = False
        rest = []
        while words:
            word = words.pop(0)
            if word in ("-C", "-e"):
                if not words:
                    raise CommandError(f"{word} needs a value. Usage: {USAGE}")
                value = words.pop(0)
                if word == "-e":
                    self.expression = value
                elif value.isdigit() and int(value) <= 1000:
                    self.context = int(value)
                else:
                    raise CommandError(f"-C: give a number of context lines from 0 to 1000, got {value!r}")
            elif word in ("-i", "-p", "-t"):
                setattr(self, {"-i": "ignore_case", "-p": "paginate", "-t": "follow"}[word], True)
            elif word.startswith("-") and len(word) > 1 and not rest:
                raise CommandError(f"Unknown option {word}. Usage: {USAGE}")
            else:
                rest.append(word)
        if self.expression is None and len(rest) == 2:
            self.expression = rest.pop(0)
        if len(rest) > 1:
            raise CommandError(f"Too many words: {' '.join(rest)}. Usage: {USAGE}")
        self.log = rest[0] if rest else None
