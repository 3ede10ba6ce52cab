"""urllistconfig: the local URL reputation table (blocked and allowed lists), the embedded provider.

Entries are domains (matching their subdomains) or URL prefixes with a
scheme. A blocked URL scores -10, an allowed one +10 (and the allowed list
wins): the url-reputation filter rule and the URL scanning of attachments
read these verdicts.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.args import Args
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("urllistconfig", """
print
add blocked|allowed ENTRY ...
remove blocked|allowed ENTRY ...
import blocked|allowed FILE      (one entry per line; '#' comments)
""", notes="""\
ENTRY: a domain (example.com, also its subdomains) or a URL prefix (https://example.com/path)""")

FIELDS = {"blocked": "url_blocked", "allowed": "url_allowed"}


@command("urllistconfig", "Configure the local URL allowed and blocked lists.", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    args.expect_done("urllistconfig")
    sub, rest = args.split()
    if sub in ("add", "remove", "import") and len(rest) >= 2 and rest[0].lower() in FIELDS:
        which, entries = rest[0].lower(), rest[1:]
        if sub == "import":
            if len(entries) != 1:
                raise UsageError()
            entries = _read(ctx, entries[0])
        current = list(getattr(ctx.config.reputation, FIELDS[which]))
        known = {e.lower() for e in current}
        if sub == "remove":
            missing = [e for e in entries if e.lower() not in known]
            if missing:
                raise CommandError(f"Not in the {which} list: {', '.join(missing)}")
            drop = {e.lower() for e in entries}
            current = [e for e in current if e.lower() not in drop]
        else:
            for e in entries:
                if e.lower() not in known:
                    current.append(e)
                    known.add(e.lower())
        ctx.replace_section("reputation", **{FIELDS[which]: tuple(current)})
        ctx.say(f"The {which} list now holds {len(current)} entries.")
        return
    raise UsageError()


def _read(ctx, path: str) -> list[str]:
    lines = ctx.files.read_text(path, 16 * 1024 * 1024).splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def show(ctx) -> None:
    rep = ctx.config.reputation
    for which, field_name in FIELDS.items():
        entries = getattr(rep, field_name)
        ctx.say(f"URL {which} list ({len(entries)} entries):")
        for e in entries:
            ctx.say(f"  {e}")


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        show(ctx)
        op = p.menu([("ADD", "Add entries to a list."), ("REMOVE", "Remove entries from a list."),
                     ("IMPORT", "Import a list from a file.")])
        if op is None:
            return
        which = ("blocked", "allowed")[p.choose("Which list?", ["Blocked list", "Allowed list"], 0)]
        what = (p.ask("Enter the name of the file to import:") if op == "IMPORT"
                else p.ask("Enter the domains or URLs, separated by spaces."))
        try:
            run(ctx, Args.from_line(f"{op.lower()} {which} {what}"))
        except CommandError as e:
            p.error(str(e))
