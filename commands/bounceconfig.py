"""bounceconfig: bounce profiles (retries, time in queue, bounce and delay warning messages).

A listener names the profile of the mail it receives (listenerconfig --bounce-profile) and a destination may
name its own (destconfig --bounce-profile), which wins for mail to that domain; Default is everyone else's.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.addresses import address_problem
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import BounceProfile
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

PROFILE_FIELDS = field_options(BounceProfile, "max_retries", "max_queue_seconds", "initial_retry_seconds",
                               "max_retry_seconds", "hard_bounce_messages", "dsn_format", "delay_warnings",
                               "warning_interval_seconds", "max_warnings", "bounce_address")
GRAMMAR = Grammar("bounceconfig", """
print
new NAME [FIELDS]
edit NAME [FIELDS]
delete NAME
""", fields=PROFILE_FIELDS,
    notes="NAME: a profile's name or its number in 'bounceconfig print'. --bounce-to= (empty): bounce messages "
          "go to the sender. Changes are pending until commit.",
    names=lambda c: [p.name for p in c.bounces.profiles])

PROFILES = ListEditor("bounce profile", "bounceconfig", lambda ctx: ctx.config.bounces.profiles, lambda p: p.name,
                      heading="Current bounce profiles:", stored_in=("bounces", "profiles"))


@command("bounceconfig", "Configure the behavior of bounces.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    words = list(args.positional)
    if not words:
        args.expect_done("bounceconfig")
        if ctx.batch:
            raise UsageError()
        return wizard(ctx)
    op = words[0].lower()
    if op == "print" and len(words) == 1:
        args.expect_done("bounceconfig print")
        return _print(ctx)
    if op not in ("new", "edit", "delete") or len(words) != 2:
        raise UsageError()
    changes = args.take_fields(PROFILE_FIELDS)
    args.expect_done(f"bounceconfig {op}")
    if op == "new":
        PROFILES.refuse_duplicate(ctx, words[1])
        _put(ctx, None, _made(lambda: BounceProfile(words[1], **changes)))
    elif op == "edit":
        current = PROFILES.find(ctx, words[1])
        _put(ctx, current, _made(lambda: current.replace(**changes)))
    else:
        if changes:
            raise UsageError()
        _delete(ctx, PROFILES.find(ctx, words[1]))


def _made(make) -> BounceProfile:
    try:
        return make()
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _put(ctx, current: BounceProfile | None, new: BounceProfile) -> None:
    if current is not None and current.name == "Default" and new.name != "Default":
        raise CommandError("The Default bounce profile cannot be renamed.")
    PROFILES.put(ctx, current, new)
    ctx.say(f"Bounce profile {new.name}: {_summary(new)}. Commit to apply.")


def _delete(ctx, profile: BounceProfile) -> None:
    if profile.name == "Default":
        raise CommandError("The Default bounce profile cannot be deleted; edit it instead.")
    name = profile.name.lower()
    users = [f"listener {l.name}" for l in ctx.config.listeners.listeners if l.bounce_profile.lower() == name]
    users += [f"destination {d.domain}" for d in ctx.config.delivery.destinations
              if d.bounce_profile.lower() == name]
    if users:
        raise CommandError(f"The bounce profile {profile.name} is used by {', '.join(users)}: change them first "
                           "(listenerconfig edit, destconfig edit).")
    PROFILES.put(ctx, profile, None)
    ctx.say(f"The bounce profile {profile.name} was deleted. Commit to apply.")


def _summary(p: BounceProfile) -> str:
    hard = "sent" if p.hard_bounce_messages else "not sent"
    fmt = "DSN" if p.dsn_format else "plain text"
    to = f" to {p.bounce_address}" if p.bounce_address else " to the sender"
    warnings = (f"delay warnings every {p.warning_interval_seconds} s, at most {p.max_warnings}"
                if p.delay_warnings else "no delay warnings")
    return (f"{p.max_retries} retries, {p.max_queue_seconds} s in queue, retries after {p.initial_retry_seconds} s "
            f"up to every {p.max_retry_seconds} s; hard bounce messages {hard} ({fmt}){to}; {warnings}")


def _print(ctx) -> None:
    ctx.say("Current bounce profiles:")
    for i, p in enumerate(ctx.config.bounces.profiles, 1):
        ctx.say(f"{i}. {p.name}")
        ctx.say(f"   Maximum number of retries: {p.max_retries}")
        ctx.say(f"   Maximum number of seconds in queue: {p.max_queue_seconds}")
        ctx.say(f"   Initial number of seconds to wait before retrying a message: {p.initial_retry_seconds}")
        ctx.say(f"   Maximum number of seconds to wait before retrying a message: {p.max_retry_seconds}")
        ctx.say(f"   Send hard bounce messages: {'Yes' if p.hard_bounce_messages else 'No'}")
        ctx.say(f"   Use DSN format for bounce messages: {'Yes' if p.dsn_format else 'No'}")
        ctx.say(f"   Send delay warning messages: {'Yes' if p.delay_warnings else 'No'}")
        if p.delay_warnings:
            ctx.say(f"   Minimum interval between delay warning messages: {p.warning_interval_seconds} seconds")
            ctx.say(f"   Maximum number of delay warning messages: {p.max_warnings}")
        ctx.say(f"   Send bounce messages to: {p.bounce_address or 'the sender'}")


# ---------------------------------------------------------------- the wizard


def wizard(ctx) -> None:
    PROFILES.menu(ctx, PROFILES.standard(new=_new_wizard, edit=lambda c, p: _edit_wizard(c, p),
                                         delete=_delete))


def _new_wizard(ctx) -> None:
    def check(name: str) -> str | None:
        return f"A bounce profile named {name} already exists." if PROFILES.exists(ctx, name) else None

    name = ctx.prompter.ask("Please enter the name for the profile:", validate=check)
    _edit_wizard(ctx, None, name)


def _edit_wizard(ctx, current: BounceProfile | None, name: str = "") -> None:
    p = ctx.prompter
    base = current or _made(lambda: BounceProfile(name))

    def ask(question: str, field: str) -> int:
        return p.ask_setting(question, BounceProfile, field, getattr(base, field))

    changes = {
        "max_retries": ask("Please enter the maximum number of retries.", "max_retries"),
        "max_queue_seconds": ask("Please enter the maximum number of seconds a message may stay in the queue "
                                 "before being hard bounced.", "max_queue_seconds"),
        "initial_retry_seconds": ask("Please enter the initial number of seconds to wait before retrying a "
                                     "message.", "initial_retry_seconds"),
        "max_retry_seconds": ask("Please enter the maximum number of seconds to wait before retrying a message.",
                                 "max_retry_seconds"),
        "hard_bounce_messages": p.yes_no("Do you want hard bounce messages to be sent?", base.hard_bounce_messages),
    }
    changes["dsn_format"] = p.yes_no("Do you want to use the DSN message format for bounce messages?",
                                     base.dsn_format)
    if p.yes_no("Do you want bounce messages sent to an alternate address?", bool(base.bounce_address)):
        changes["bounce_address"] = p.ask("Please enter the email address to send bounce messages to:",
                                     base.bounce_address or None, validate=address_problem)
    else:
        changes["bounce_address"] = ""
    changes["delay_warnings"] = p.yes_no("Do you want to send delay warning messages?", base.delay_warnings)
    if changes["delay_warnings"]:
        changes["warning_interval_seconds"] = ask("Please enter the minimum interval in seconds between delay "
                                                  "warning messages.", "warning_interval_seconds")
        changes["max_warnings"] = ask("Please enter the maximum number of delay warning messages to send.",
                                      "max_warnings")
    _put(ctx, current, _made(lambda: base.replace(**changes)))
