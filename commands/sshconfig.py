"""sshconfig: the SSH server on or off, and users' public keys.

Where SSH listens is per interface (interfaceconfig); the idle timeout is adminaccessconfig's."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import SshSection, UserKey
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

SETUP_FIELDS = field_options(SshSection, "enabled")
GRAMMAR = Grammar("sshconfig", """
print
setup [FIELDS]
userkey new USER (--key='ssh-ed25519 AAAA... comment' | --key-file=FILE)
userkey delete USER NUMBER
userkey print [USER]
""", fields=SETUP_FIELDS)

@command("sshconfig", "Configure the SSH server and users' SSH public keys.", roles=R.ADMIN_ONLY,
         grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.split()
    if sub == "setup":
        return _setup(ctx, args)
    if sub == "userkey" and rest:
        op, rest = rest[0].lower(), rest[1:]
        if op == "new" and len(rest) == 1:
            key = args.take_option("key")
            key_file = args.take_option("key-file")
            args.expect_done("sshconfig userkey new")
            if (key is None) == (key_file is None):
                raise CommandError("give --key='ssh-... AAAA...' or --key-file=FILE")
            if key_file is not None:
                key = ctx.files.read_text(str(key_file), 64 * 1024).strip()
            return _add_key(ctx, rest[0], str(key))
        if op == "delete" and len(rest) == 2 and rest[1].isdigit():
            args.expect_done("sshconfig userkey delete")
            return _delete_key(ctx, rest[0], int(rest[1]))
        if op == "print" and len(rest) <= 1:
            args.expect_done("sshconfig userkey print")
            return _print_keys(ctx, rest[0] if rest else None)
    raise UsageError()


def _ssh(ctx):
    return ctx.config.ssh


def show(ctx):
    s = _ssh(ctx)
    ctx.say(f"SSH server: {'enabled' if s.enabled else 'disabled'}")
    where = [f"{i.name} ({i.address}) port {i.ssh_port}" for i in ctx.config.interfaces.with_service("ssh")]
    ctx.say(f"Listening on: {', '.join(where) or 'no interface (interfaceconfig turns SSH on per interface)'}")
    ctx.say(f"Idle timeout: {ctx.config.admin_access.timeout_minutes} minutes (adminaccessconfig)")
    ctx.say(f"User keys: {len(s.user_keys)}")


def _setup(ctx, args):
    changes = args.take_fields(SETUP_FIELDS)
    args.expect_done("sshconfig setup")
    if not changes:
        raise UsageError()
    ctx.replace_section("ssh", **changes)
    show(ctx)


def _add_key(ctx, user: str, key: str):
    if ctx.config.users.get(user) is None:
        raise CommandError(f"User {user} does not exist.")
    try:
        new = UserKey(user, " ".join(key.split()))
    except ConfigError as e:
        raise CommandError(f"Invalid key: {e.message}") from None
    if new in _ssh(ctx).user_keys:
        raise CommandError("This key is already installed for that user.")
    ctx.replace_section("ssh", user_keys=(*_ssh(ctx).user_keys, new))
    ctx.say(f"Key added for {user}; commit to apply.")


def _keys_of(ctx, user: str):
    return [k for k in _ssh(ctx).user_keys if k.user == user]


def _delete_key(ctx, user: str, number: int):
    keys = _keys_of(ctx, user)
    if not 1 <= number <= len(keys):
        raise CommandError(f"{user} has no key number {number} ('sshconfig userkey print {user}' lists them).")
    doomed = keys[number - 1]
    ctx.replace_section("ssh", user_keys=tuple(k for k in _ssh(ctx).user_keys if k != doomed))
    ctx.say(f"Key {number} of {user} deleted; commit to apply.")


def _print_keys(ctx, user: str | None):
    users = [user] if user else sorted({k.user for k in _ssh(ctx).user_keys})
    if not users:
        ctx.say("No user keys are installed.")
    for u in users:
        ctx.say(f"Keys for {u}:")
        for i, k in enumerate(_keys_of(ctx, u), 1):
            parts = k.key.split()
            ctx.say(f"  {i}. {parts[0]} {parts[1][:12]}...{parts[1][-12:]} {' '.join(parts[2:])}")


def wizard(ctx):
    p = ctx.prompter
    while True:
        show(ctx)
        op = p.menu([("SETUP", "Configure the SSH server."), ("USERKEY", "Edit users' SSH public keys.")])
        if op is None:
            return
        if op == "SETUP":
            s = _ssh(ctx)
            enabled = p.yes_no("Do you want to enable the SSH server?", s.enabled)
            ctx.replace_section("ssh", enabled=enabled)
        else:
            sub = p.menu([("NEW", "Add a public key for a user."), ("DELETE", "Remove a user's key."),
                          ("PRINT", "Display the keys.")])
            if sub == "NEW":
                user = p.ask("Enter the user name to add a key for.")
                key = p.multiline("Paste the public SSH key. End with '.' on a line of its own.")
                _add_key(ctx, user, key)
            elif sub == "DELETE":
                user = p.ask("Enter the user name.")
                _print_keys(ctx, user)
                _delete_key(ctx, user, p.ask_int("Enter the number of the key to delete.", None, 1, 999))
            elif sub == "PRINT":
                _print_keys(ctx, None)
