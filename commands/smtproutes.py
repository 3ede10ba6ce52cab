"""smtproutes: send mail for a domain (or ALL) to given hosts; /dev/null drops it."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import Route
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("smtproutes", """
print
new DOMAIN|.DOMAIN|ALL HOST[:PORT][,HOST[:PORT]...]   (/dev/null drops the mail)
edit DOMAIN HOST[:PORT][,HOST[:PORT]...]
delete DOMAIN|ALL
""",
    names=lambda c: [x.domain for x in c.routes.routes])
USAGE = GRAMMAR.usage()

@command("smtproutes", "Set up permanent domain redirections.", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    args.expect_done("smtproutes")
    sub = args.subcommand()
    rest = args.positional[1:]
    if sub in ("new", "edit") and len(rest) == 2:
        return _set(ctx, rest[0], rest[1], new=sub == "new")
    if sub == "delete" and len(rest) == 1:
        return _delete(ctx, rest[0])
    raise CommandError(USAGE)


def _stage(ctx, routes) -> None:
    try:
        ctx.stage(ctx.config.routes.replace(routes=tuple(routes)))
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _set(ctx, domain: str, hosts: str, new: bool) -> None:
    routes = ctx.config.routes.routes
    exists = any(r.domain.lower() == domain.lower() for r in routes)
    if new and exists:
        raise CommandError(f"A route for {domain} already exists: use 'smtproutes edit'.")
    if not new and not exists:
        raise CommandError(f"There is no route for {domain}.")
    try:
        route = Route(domain, tuple(h.strip() for h in hosts.split(",") if h.strip()))
    except ConfigError as e:
        raise CommandError(f"Invalid route: {e}") from None
    _stage(ctx, [r for r in routes if r.domain.lower() != domain.lower()] + [route])
    ctx.say(f"Mail for {domain} goes to {', '.join(route.hosts)}; commit to apply.")


def show(ctx) -> None:
    routes = ctx.config.routes.routes
    if not routes:
        ctx.say("No routes are defined: mail is delivered by MX lookup.")
    for r in routes:
        ctx.say(f"{r.domain} => {', '.join(r.hosts)}")


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        show(ctx)
        op = p.menu([("NEW", "Create a new route."), ("EDIT", "Edit destinations of an existing route."),
                     ("DELETE", "Remove a route.")])
        if op is None:
            return
        domain = p.ask("Enter the domain for which you want to set up a permanent route.")
        if op == "DELETE":
            _delete(ctx, domain)
            continue
        hosts = p.ask("Enter the destination hosts, separated by commas, which you want mail for "
                      f"{domain} to be delivered. Enter /dev/null to drop it.")
        _set(ctx, domain, hosts, new=op == "NEW")


def _delete(ctx, domain: str) -> None:
    routes = ctx.config.routes.routes
    if not any(r.domain.lower() == domain.lower() for r in routes):
        raise CommandError(f"There is no route for {domain}.")
    _stage(ctx, [r for r in routes if r.domain.lower() != domain.lower()])
    ctx.say(f"Route for {domain} deleted; commit to apply.")
