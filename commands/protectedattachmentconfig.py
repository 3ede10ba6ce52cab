"""protectedattachmentconfig: scan password-protected attachments, with the administrator's passphrases.

Also reached from scanconfig's PROTECTEDATTACHMENTCONFIG item, as on the
appliance. Passphrases are sealed at rest; PRINT masks them unless
``--reveal`` is given; logs name a passphrase's priority, never its text.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import ProtectedAttachmentsSection, ProtectedPassphrase
from asyncos_cli.shell.args import Args
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.reveal import print_maybe_revealed

SETUP_FIELDS = field_options(ProtectedAttachmentsSection, "inbound", "outbound", "harvest_from_body", "budget_seconds",
                             "share_seconds")
GRAMMAR = Grammar("protectedattachmentconfig", """
print [--reveal]
setup [FIELDS]
new --priority=N (--passphrase=P | --passphrase-file=FILE|-)
edit --priority=N [--new-priority=M] [--passphrase=P | --passphrase-file=FILE|-]
swap --priority=N --with=M
delete --priority=N
""", fields=SETUP_FIELDS)


@command("protectedattachmentconfig", "Configure scanning of password-protected attachments.", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    sub = args.subcommand()
    if len(args.positional) != 1:
        raise UsageError()
    if sub == "print":
        return print_maybe_revealed(ctx, args, "protectedattachmentconfig", "protected attachment passphrases",
                                    _print)
    if sub == "setup":
        changes = args.take_fields(SETUP_FIELDS)
        args.expect_done("protectedattachmentconfig setup")
        if not changes:
            raise UsageError()
        ctx.replace_section("protected_attachments", **changes)
        ctx.say(_status(ctx.config.protected_attachments))
        return
    priority = args.take_typed((("priority", "priority", int),)).get("priority")
    if priority is None:
        raise CommandError(f"protectedattachmentconfig {sub} needs --priority=N")
    if sub == "new":
        passphrase = args.secret("passphrase", ctx)
        args.expect_done("protectedattachmentconfig new")
        if passphrase is None:
            raise CommandError("protectedattachmentconfig new needs --passphrase=P or --passphrase-file=FILE")
        return _new(ctx, priority, passphrase)
    if sub == "edit":
        new_priority = args.take_typed((("new-priority", "p", int),)).get("p")
        passphrase = args.secret("passphrase", ctx)
        args.expect_done("protectedattachmentconfig edit")
        return _edit(ctx, priority, new_priority, passphrase)
    if sub == "swap":
        other = args.take_typed((("with", "p", int),)).get("p")
        args.expect_done("protectedattachmentconfig swap")
        if other is None:
            raise CommandError("protectedattachmentconfig swap needs --with=M")
        return _swap(ctx, priority, other)
    if sub == "delete":
        args.expect_done("protectedattachmentconfig delete")
        _get(ctx, priority)
        ctx.replace_section("protected_attachments", passphrases=tuple(p for p in _list(ctx) if p.priority != priority))
        ctx.say(f"The password with priority {priority} was deleted.")
        return
    raise UsageError()


def _list(ctx) -> list[ProtectedPassphrase]:
    return list(ctx.config.protected_attachments.ordered())


def _get(ctx, priority: int) -> ProtectedPassphrase:
    found = next((p for p in _list(ctx) if p.priority == priority), None)
    if found is None:
        raise CommandError(f"There is no password with priority {priority}.")
    return found


def _new(ctx, priority: int, passphrase: str) -> None:
    if any(p.priority == priority for p in _list(ctx)):
        raise CommandError(f"A password with priority {priority} already exists (EDIT or SWAP it).")
    try:
        entry = ProtectedPassphrase(priority, ctx.keyring.seal(passphrase))
    except ConfigError as e:
        raise CommandError(str(e)) from None
    ctx.replace_section("protected_attachments", passphrases=tuple(_list(ctx) + [entry]))
    ctx.say(f"The password was added with priority {priority}.")


def _edit(ctx, priority: int, new_priority: int | None, passphrase: str | None) -> None:
    current = _get(ctx, priority)
    if new_priority is None and passphrase is None:
        raise CommandError("give --new-priority=M and/or --passphrase=P")
    target = priority if new_priority is None else new_priority
    if target != priority and any(p.priority == target for p in _list(ctx)):
        raise CommandError(f"A password with priority {target} already exists (SWAP them instead).")
    try:
        changed = ProtectedPassphrase(target, ctx.keyring.seal(passphrase) if passphrase else current.passphrase)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    ctx.replace_section("protected_attachments", passphrases=tuple(changed if p is current else p for p in _list(ctx)))
    ctx.say(f"The password with priority {priority} was changed.")


def _swap(ctx, first: int, second: int) -> None:
    a, b = _get(ctx, first), _get(ctx, second)
    swapped = {a.priority: b.passphrase, b.priority: a.passphrase}
    ctx.replace_section("protected_attachments", passphrases=tuple(p.replace(passphrase=swapped.get(p.priority, p.passphrase)) for p in _list(ctx)))
    ctx.say(f"The passwords with priorities {first} and {second} were swapped.")


def _status(section) -> str:
    onoff = lambda b: "enabled" if b else "disabled"  # noqa: E731
    return "\n".join([
        f"Scanning of password-protected attachments for inbound mails: {onoff(section.inbound)}",
        f"Scanning of password-protected attachments for outbound mails: {onoff(section.outbound)}",
        f"Passphrases taken from the message text: {onoff(section.harvest_from_body)}",
        f"Time for passphrase trials per message: {section.budget_seconds:g} seconds",
        f"Time for passphrase trials per attachment at most: {section.share_seconds:g} seconds",
        f"User Defined Passwords: {len(section.passphrases)}",
    ])


def _print(ctx, reveal: bool) -> None:
    section = ctx.config.protected_attachments
    ctx.say(_status(section))
    ctx.say()
    if not section.passphrases:
        ctx.say("No passwords are defined.")
        return
    ctx.say("Priority:  Password:")
    ctx.say("-" * 30)
    for p in section.ordered():
        ctx.say(f"{p.priority:<10} {ctx.keyring.reveal(p.passphrase) if reveal else '********'}")


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        section = ctx.config.protected_attachments
        op = p.menu([("SETUP", "Configure scanning of password-protected attachments."),
                     ("PASSWORDS", "Manage the User Defined Passwords.")], status=_status(section))
        if op is None:
            return
        if op == "SETUP":
            inbound = p.yes_no("Do you want to scan password-protected attachments for inbound mails?",
                               section.inbound)
            outbound = p.yes_no("Do you want to scan password-protected attachments for outbound mails?",
                                section.outbound)
            harvest = p.yes_no("Do you want to try passphrases written in the message text (for example "
                               "\"password: X\") after your list?", section.harvest_from_body)
            ctx.replace_section("protected_attachments", inbound=inbound, outbound=outbound, harvest_from_body=harvest)
        else:
            _passwords_menu(ctx)


def _passwords_menu(ctx) -> None:
    p = ctx.prompter
    while True:
        ctx.say("User Defined Passwords")
        op = p.menu([("NEW", "Add a password."), ("EDIT", "Change a password or its priority."),
                     ("SWAP", "Swap the priorities of two passwords."), ("DELETE", "Remove a password."),
                     ("PRINT", "Show the passwords.")])
        if op is None:
            return
        used = [x.priority for x in _list(ctx)]
        try:
            if op == "NEW":
                free = next(i for i in range(1000) if i not in used)
                prio = p.ask_int("Enter a priority for the new password", free, 0, 999)
                _new(ctx, prio, p.secret("Enter the new password"))
            elif op == "EDIT":
                prio = p.ask_int("Enter the priority or the password that you want to edit", None, 0, 999)
                new_prio = p.ask_int("Enter the new priority", prio, 0, 999)
                run(ctx, Args(["edit"], {"priority": str(prio), "new-priority": str(new_prio),
                                         "passphrase": p.secret("Enter the new password")}))
            elif op == "SWAP":
                a = p.ask_int("Enter the priority of the first password that you want to switch", None, 0, 999)
                b = p.ask_int("Enter the priority of the second password that you want to switch", None, 0, 999)
                _swap(ctx, a, b)
            elif op == "DELETE":
                run(ctx, Args(["delete"], {"priority": str(p.ask_int(
                    "Enter the priority of the password that you want to delete", None, 0, 999))}))
            else:
                _print(ctx, reveal=False)
        except CommandError as e:  # the wizard re-asks instead of leaving
            p.error(str(e))
