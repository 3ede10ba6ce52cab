"""policyconfig: incoming and outgoing mail policies (who they match, which engines run)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError, parse_scalar
from asyncos_cli.config.schema import MailPolicy

from .support.base import CommandError
from .support.registry import command

USAGE = """Usage:
  policyconfig print
  policyconfig new incoming|outgoing NAME [--senders=PATTERN,...] [--recipients=PATTERN,...]
  policyconfig edit incoming|outgoing NAME [--senders=...] [--recipients=...] [--antispam=yes|no]
      [--antivirus=yes|no] [--file-reputation=yes|no] [--graymail=yes|no] [--dlp=yes|no]
  policyconfig delete incoming|outgoing NAME
PATTERN: user@domain, @domain, @.domain (subdomains), user@ (any domain)"""

SWITCHES = {"antispam": "antispam", "antivirus": "antivirus", "file-reputation": "file_reputation",
            "graymail": "graymail", "dlp": "dlp"}


@command("policyconfig", "Configure per recipient or sender based policies.", roles=R.CONFIGURE,
         subcommands=("print", "new", "edit", "delete"))
def run(ctx, args):
    sub = args.subcommand()
    rest = args.positional[1:]
    if sub in (None, "print") and not rest:
        args.expect_done("policyconfig")
        return _print(ctx)
    if sub in ("new", "edit", "delete") and len(rest) == 2 and rest[0].lower() in ("incoming", "outgoing"):
        direction, name = rest[0].lower(), rest[1]
        changes = {}
        for opt in ("senders", "recipients"):
            if opt in args.options:
                changes[opt] = tuple(p.strip() for p in str(args.take_option(opt)).split(",") if p.strip())
        for opt, field_name in SWITCHES.items():
            if opt in args.options:
                try:
                    changes[field_name] = parse_scalar(bool, str(args.take_option(opt)), f"--{opt}")
                except ConfigError as e:
                    raise CommandError(str(e)) from None
        args.expect_done(f"policyconfig {sub}")
        return _change(ctx, sub, direction, name, changes)
    raise CommandError(USAGE)


def _change(ctx, op: str, direction: str, name: str, changes: dict) -> None:
    section = ctx.config.mail_policies
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
                   if p.name != "DEFAULT" else "everyone not matched above")
            ctx.say(f"  {i}. {p.name}: {who}")
            ctx.say(f"     anti-spam {yn(p.antispam)}, anti-virus {yn(p.antivirus)}, file reputation "
                    f"{yn(p.file_reputation)}, graymail {yn(p.graymail)}, DLP {yn(p.dlp)}, content filters "
                    f"{', '.join(p.content_filters) or 'none'}")
