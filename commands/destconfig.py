"""destconfig: per-destination delivery controls (TLS, concurrency)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError, parse_scalar
from asyncos_cli.config.schema import DEST_TLS, Destination
from asyncos_cli.shell.args import Args
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("destconfig", """
print
new DOMAIN [--tls=none|preferred|required|required-verify] [--concurrency=N] [--bounce-profile=NAME]
edit DOMAIN|default [--tls=...] [--concurrency=N] [--bounce-profile=NAME]
delete DOMAIN
""",
    notes="--bounce-profile: a bounceconfig profile for mail to the domain (empty: the receiving listener's).",
    names=lambda c: [x.domain for x in c.delivery.destinations])

@command("destconfig", "Configure options for outgoing mail by destination domain.", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.split()
    changes = {}
    if "tls" in args.options:
        changes["tls"] = str(args.take_option("tls"))
    if "concurrency" in args.options:
        try:
            changes["concurrency"] = parse_scalar(int, str(args.take_option("concurrency")), "--concurrency")
        except ConfigError as e:
            raise CommandError(str(e)) from None
    if "bounce-profile" in args.options:
        profile = str(args.take_option("bounce-profile") or "")
        if profile and ctx.config.bounces.get(profile) is None:
            raise CommandError(f"There is no bounce profile named {profile} ('bounceconfig print' lists them).")
        changes["bounce_profile"] = ctx.config.bounces.get(profile).name if profile else ""
    args.expect_done("destconfig")
    if len(rest) != 1 or sub not in ("new", "edit", "delete"):
        raise UsageError()
    if sub == "new":
        if DESTINATIONS.exists(ctx, rest[0]):
            raise CommandError(f"{rest[0]} already has settings: use 'destconfig edit'.")
        return _put(ctx, None, _made(lambda: Destination(rest[0], **changes)))
    current = _own(ctx, rest[0])
    if sub == "edit":
        return _put(ctx, current, _made(lambda: current.replace(**changes)))
    if current.domain == "default":
        raise CommandError("The default destination cannot be deleted; edit it instead.")
    _stage(ctx, [d for d in ctx.config.delivery.destinations if d is not current])
    ctx.say(f"Destination {current.domain} deleted; commit to apply.")


DESTINATIONS = ListEditor("destination", "destconfig", lambda ctx: ctx.config.delivery.destinations,
                          lambda d: d.domain)


def _own(ctx, name: str) -> Destination:
    try:
        return DESTINATIONS.find(ctx, name)
    except CommandError:
        raise CommandError(f"{name} has no settings of its own.") from None


def _made(make) -> Destination:
    try:
        return make()
    except ConfigError as e:
        raise CommandError(f"{e} (TLS: {', '.join(DEST_TLS)})") from None


def _put(ctx, current, new: Destination) -> None:
    _stage(ctx, [d for d in ctx.config.delivery.destinations if d is not current] + [new])
    ctx.say(f"Destination {new.domain}: {_describe(new)}; commit to apply.")


def _describe(d: Destination) -> str:
    bounce = f", bounce profile {d.bounce_profile}" if d.bounce_profile else ""
    return f"TLS {d.tls}, concurrency {d.concurrency}{bounce}"


def _stage(ctx, dests) -> None:
    try:
        ctx.stage(ctx.config.delivery.replace(destinations=tuple(dests)))
    except ConfigError as e:
        raise CommandError(str(e)) from None


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        for d in ctx.config.delivery.destinations:
            ctx.say(f"{d.domain}: {_describe(d)}")
        op = p.menu([("NEW", "Create a new entry."), ("EDIT", "Modify an entry."), ("DELETE", "Remove an entry.")])
        if op is None:
            return
        domain = p.ask("Enter the domain (or 'default').")
        if op == "DELETE":
            run(ctx, Args.from_line(f"delete {domain}"))
            continue
        tls = DEST_TLS[p.choose("Do you want to use TLS support?", ["No", "Preferred", "Required",
                                                                   "Required - Verify"], 1)]
        conc = p.ask_int("Enter the maximum number of concurrent connections.", 20, 1, 1000)
        line = f"{op.lower()} {domain} --tls={tls} --concurrency={conc}"
        if p.yes_no("Do you wish to apply a specific bounce profile to this domain?", False):
            names = [b.name for b in ctx.config.bounces.profiles]
            line += f" --bounce-profile={names[p.choose('Choose the bounce profile:', names, 0)]}"
        run(ctx, Args.from_line(line))


def show(ctx) -> None:
    for d in ctx.config.delivery.destinations:
        ctx.say(f"{d.domain}: {_describe(d)}")
