"""policyconfig: incoming and outgoing mail policies (who they match, which engines run)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError, parse_scalar
from asyncos_cli.config.schema import MailPolicy
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("policyconfig", """
print
new incoming|outgoing NAME [--senders=PATTERN,...] [--recipients=PATTERN,...]
edit incoming|outgoing NAME [--senders=...] [--recipients=...] [--repeat-clickers=yes|no] [--antispam=yes|no]
      [--antivirus=yes|no] [--file-reputation=yes|no] [--graymail=yes|no] [--dlp=yes|no|DLPPOLICY,...]
      [--content-filters=FILTER,...]
delete incoming|outgoing NAME
filters list
filters import incoming|outgoing FILE   (content filter scripts, the message filter language)
filters detail incoming|outgoing NAME
filters delete incoming|outgoing NAME
""", names=lambda c: [x.name for x in (*c.mail_policies.incoming, *c.mail_policies.outgoing, *c.content_filters.filters)],
    notes="""\
PATTERN: user@domain, @domain, @.domain (subdomains), user@ (any domain)""", same_as={"new": "edit"})

SWITCHES = {"antispam": "antispam", "antivirus": "antivirus", "file-reputation": "file_reputation",
            "graymail": "graymail", "repeat-clickers": "repeat_clickers"}


@command("policyconfig", "Configure per recipient or sender based policies.", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.split()
    if sub == "filters":
        args.expect_done("policyconfig filters")
        return _content_filters(ctx, [r for r in rest])
    if sub in (None, "print") and not rest:
        args.expect_done("policyconfig")
        return _print(ctx)
    if sub in ("new", "edit", "delete") and len(rest) == 2 and rest[0].lower() in ("incoming", "outgoing"):
        direction, name = rest[0].lower(), rest[1]
        changes = {}
        for opt in ("senders", "recipients", "content-filters"):
            if opt in args.options:
                changes[opt.replace("-", "_")] = tuple(p.strip() for p in str(args.take_option(opt)).split(",")
                                                       if p.strip())
        if "dlp" in args.options:
            changes.update(_dlp_option(ctx, direction, str(args.take_option("dlp"))))
        for opt, field_name in SWITCHES.items():
            if opt in args.options:
                try:
                    changes[field_name] = parse_scalar(bool, str(args.take_option(opt)), f"--{opt}")
                except ConfigError as e:
                    raise CommandError(str(e)) from None
        args.expect_done(f"policyconfig {sub}")
        return _change(ctx, sub, direction, name, changes)
    raise UsageError()


def _dlp_option(ctx, direction: str, value: str) -> dict:
    """--dlp=yes|no switches DLP; --dlp=NAME[,NAME...] names the DLP policies (and switches it on)."""
    try:
        return {"dlp": parse_scalar(bool, value, "--dlp")}
    except ConfigError:
        pass
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if direction != "outgoing":
        raise CommandError("DLP policies apply to outgoing mail policies only.")
    missing = [n for n in names if ctx.config.dlp.get(n) is None]
    if missing:
        raise CommandError(f"No DLP policy named {', '.join(missing)} ('dlpconfig policy list' shows them).")
    return {"dlp": True, "dlp_policies": tuple(ctx.config.dlp.get(n).name for n in names)}


def _change(ctx, op: str, direction: str, name: str, changes: dict) -> None:
    section = ctx.config.mail_policies
    undefined = [f for f in changes.get("content_filters", ()) if ctx.config.content_filters.get(direction, f) is None]
    if undefined:
        raise CommandError(f"No {direction} content filter named {', '.join(undefined)} "
                           "('policyconfig filters list' shows them).")
    policies = list(getattr(section, direction))
    current = next((p for p in policies if p.name.lower() == name.lower()), None)
    try:
        if op == "new":
            if current is not None:
                raise CommandError(f"The {direction} policy {name} already exists.")
            policies.insert(len(policies) - 1, MailPolicy(name, **changes))  # before DEFAULT
        elif current is None:
            raise CommandError(f"There is no {direction} policy {name}.")
        elif op == "edit":
            policies[policies.index(current)] = current.replace(**changes)
        else:
            if current.name == "DEFAULT":
                raise CommandError("The DEFAULT policy cannot be deleted.")
            policies.remove(current)
        ctx.stage(section.replace(**{direction: tuple(policies)}))
    except ConfigError as e:
        raise CommandError(str(e)) from None
    ctx.say(f"The {direction} policy {name} was {dict(new='created', edit='changed', delete='deleted')[op]}; "
            "commit to apply.")


def _print(ctx) -> None:
    yn = lambda b: "on" if b else "off"  # noqa: E731
    for direction in ("incoming", "outgoing"):
        ctx.say(f"{direction.capitalize()} Mail Policy Configuration")
        for i, p in enumerate(getattr(ctx.config.mail_policies, direction), 1):
            who = (f"senders {', '.join(p.senders) or 'any'}; recipients {', '.join(p.recipients) or 'any'}"
                   + ("; only repeat clickers" if p.repeat_clickers else "")
                   if p.name != "DEFAULT" else "everyone not matched above")
            ctx.say(f"  {i}. {p.name}: {who}")
            ctx.say(f"     anti-spam {yn(p.antispam)}, anti-virus {yn(p.antivirus)}, file reputation "
                    f"{yn(p.file_reputation)}, graymail {yn(p.graymail)}, DLP {yn(p.dlp)}"
                    + (f" ({', '.join(p.dlp_policies)})" if p.dlp_policies else "")
                    + f", content filters {', '.join(p.content_filters) or 'none'}")


def _content_filters(ctx, rest: list[str]) -> None:
    op = rest[0].lower() if rest else ""
    if op == "list" and len(rest) == 1:
        return _list_content_filters(ctx)
    if len(rest) != 3 or rest[1].lower() not in ("incoming", "outgoing") or op not in ("import", "detail", "delete"):
        raise UsageError()
    direction, arg = rest[1].lower(), rest[2]
    if op == "import":
        return _import_content_filters(ctx, direction, arg)
    current = ctx.config.content_filters.get(direction, arg)
    if current is None:
        raise CommandError(f"There is no {direction} content filter named {arg}.")
    if op == "detail":
        return ctx.say(current.script)
    _delete_content_filter(ctx, current)


def _list_content_filters(ctx) -> None:
    if not ctx.config.content_filters.filters:
        ctx.say("No content filters are defined.")
    for f in ctx.config.content_filters.filters:
        users = [p.name for p in getattr(ctx.config.mail_policies, f.direction) if f.name in p.content_filters]
        ctx.say(f"{f.direction:<9} {f.name:<24} used by: {', '.join(users) or 'no policy'}")


def _import_content_filters(ctx, direction: str, path: str) -> None:
    from asyncos_cli.config.schema import ContentFilter
    from asyncos_cli.shell.shared.filterscripts import compile_script, read_script

    section = ctx.config.content_filters
    compiled = compile_script(read_script(ctx, path))
    clash = [f.name for f in compiled if section.get(direction, f.name) is not None]
    if clash:
        raise CommandError(f"Duplicate filter name: {', '.join(clash)}")
    filters = (*section.filters, *(ContentFilter(f.name, direction, f.source.strip()) for f in compiled))
    ctx.stage(section.replace(filters=filters))
    ctx.say(f"{len(compiled)} {direction} content filters added.")


def _delete_content_filter(ctx, current) -> None:
    section = ctx.config.content_filters
    users = [p.name for p in getattr(ctx.config.mail_policies, current.direction) if current.name in p.content_filters]
    if users:
        raise CommandError(f"The content filter {current.name} is used by the policies {', '.join(users)}: "
                           "remove it from them first.")
    ctx.stage(section.replace(filters=tuple(f for f in section.filters if f is not current)))
    ctx.say(f"The {current.direction} content filter {current.name} was deleted.")
