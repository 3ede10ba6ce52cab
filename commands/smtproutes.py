"""smtproutes: send mail for a domain (or ALL) to given hosts; /dev/null drops it."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import Route
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("smtproutes", """
print
new DOMAIN|.DOMAIN|ALL HOST[:PORT][,HOST[:PORT]...] [--auth=PROFILE]   (/dev/null drops the mail)
edit DOMAIN HOST[:PORT][,HOST[:PORT]...] [--auth=PROFILE]
delete DOMAIN|ALL
""", notes="--auth: an outgoing SMTP AUTH profile (smtpauthconfig) the gateway logs in with at these hosts, "
           "after STARTTLS only; --auth= (empty): none.",
    names=lambda c: [x.domain for x in c.routes.routes])

ROUTES = ListEditor("route", "smtproutes", lambda ctx: ctx.config.routes.routes, lambda r: r.domain,
                    line=lambda r: f"{r.domain} => {', '.join(r.hosts)}"
                    + (f" (SMTP AUTH profile {r.auth_profile})" if r.auth_profile else ""))


@command("smtproutes", "Set up permanent domain redirections.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    auth = args.take_option("auth")
    args.expect_done("smtproutes")
    sub, rest = args.subcommand(), args.positional[1:]
    auth = None if auth is None else _outgoing_profile(ctx, "" if auth is True else str(auth))
    if sub == "new" and len(rest) == 2:
        return _new(ctx, rest[0], rest[1], auth or "")
    if sub == "edit" and len(rest) == 2:
        old = ROUTES.find(ctx, rest[0])
        return _edit(ctx, old, rest[1], old.auth_profile if auth is None else auth)
    if sub == "delete" and len(rest) == 1:
        return _delete(ctx, ROUTES.find(ctx, rest[0]))
    raise UsageError()


def _stage(ctx, routes) -> None:
    try:
        ctx.stage(ctx.config.routes.replace(routes=tuple(routes)))
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _outgoing_profile(ctx, name: str) -> str:
    """The outgoing SMTP AUTH profile named ``name``, as smtpauthconfig spells it ("" for none)."""
    if not name:
        return ""
    profile = ctx.config.smtp_auth.get(name)
    if profile is None or profile.kind != "outgoing":
        raise CommandError(f"There is no outgoing SMTP AUTH profile named {name} ('smtpauthconfig print' lists "
                           "them).")
    return profile.name


def _route(domain: str, hosts: str, auth: str = "") -> Route:
    try:
        return Route(domain, tuple(h.strip() for h in hosts.split(",") if h.strip()), auth)
    except ConfigError as e:
        raise CommandError(f"Invalid route: {e}") from None


def _new(ctx, domain: str, hosts: str, auth: str = "") -> None:
    if ROUTES.exists(ctx, domain):
        raise CommandError(f"A route for {domain} already exists: use 'smtproutes edit'.")
    _put(ctx, _route(domain, hosts, auth), ctx.config.routes.routes)


def _edit(ctx, old: Route, hosts: str, auth: str | None = None) -> None:
    route = _route(old.domain, hosts, old.auth_profile if auth is None else auth)
    _put(ctx, route, [r for r in ctx.config.routes.routes if r is not old])


def _put(ctx, route: Route, others) -> None:
    _stage(ctx, [*others, route])
    auth = f", logging in with the SMTP AUTH profile {route.auth_profile}" if route.auth_profile else ""
    ctx.say(f"Mail for {route.domain} goes to {', '.join(route.hosts)}{auth}; commit to apply.")


def _delete(ctx, route: Route) -> None:
    _stage(ctx, [r for r in ctx.config.routes.routes if r is not route])
    ctx.say(f"Route for {route.domain} deleted; commit to apply.")


def show(ctx) -> None:
    if not ctx.config.routes.routes:
        ctx.say("No routes are defined: mail is delivered by MX lookup.")
        return
    ROUTES.print(ctx)


def _ask_hosts(ctx, domain: str) -> str:
    return ctx.prompter.ask("Enter the destination hosts, separated by commas, which you want mail for "
                            f"{domain} to be delivered. Enter /dev/null to drop it.")


def _wizard_new(ctx) -> None:
    domain = ctx.prompter.ask("Enter the domain for which you want to set up a permanent route.")
    _new(ctx, domain, _ask_hosts(ctx, domain))


def wizard(ctx) -> None:
    ROUTES.menu(ctx, ROUTES.standard(
        _wizard_new, lambda ctx, route: _edit(ctx, route, _ask_hosts(ctx, route.domain)), _delete), show=show)
