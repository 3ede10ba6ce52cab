"""domainrepconfig: the domain exception list of Sender Domain Reputation (domains never refused)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("domainrepconfig", """
print
domainexceptionlist print
domainexceptionlist add|delete DOMAIN ...     (a domain, or .domain for its subdomains)
""")

@command("domainrepconfig", "Configure the Sender Domain Reputation exception list.", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    args.expect_done("domainrepconfig")
    sub, rest = args.split()
    if sub != "domainexceptionlist":
        raise UsageError()
    op = rest[0].lower() if rest else "print"
    domains = rest[1:]
    current = list(ctx.config.reputation.domain_exceptions)
    if op == "print" and not domains:
        return show(ctx)
    if op in ("add", "delete") and domains:
        known = {d.lower() for d in current}
        if op == "add":
            current += [d for d in domains if d.lower() not in known]
        else:
            missing = [d for d in domains if d.lower() not in known]
            if missing:
                raise CommandError(f"Not in the exception list: {', '.join(missing)}")
            drop = {d.lower() for d in domains}
            current = [d for d in current if d.lower() not in drop]
        ctx.replace_section("reputation", domain_exceptions=tuple(current))
        ctx.say(f"The domain exception list holds {len(current)} domains.")
        return
    raise UsageError()


def show(ctx) -> None:
    current = ctx.config.reputation.domain_exceptions
    ctx.say("Domain exception list:" if current else "The domain exception list is empty.")
    for d in current:
        ctx.say(f"  {d}")


def wizard(ctx) -> None:
    from asyncos_cli.shell.args import Args

    p = ctx.prompter
    while True:
        show(ctx)
        op = p.menu([("ADD", "Add domains to the exception list."), ("DELETE", "Remove domains.")])
        if op is None:
            return
        words = p.ask("Enter the domains, separated by spaces.").split()
        try:
            run(ctx, Args(["domainexceptionlist", op.lower(), *words], {}))
        except CommandError as e:
            p.error(str(e))
