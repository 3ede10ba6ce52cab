"""smtpauthconfig: SMTP AUTH profiles.

An ``accounts`` profile lets a listener's clients authenticate (PLAIN, LOGIN, after STARTTLS only) against the
gateway's user accounts, through the login throttle and lockout every door shares; a listener names it with
``listenerconfig edit NAME --smtp-auth=PROFILE`` and its mail flow policies say off, preferred or required.
An ``outgoing`` profile is the user name and passphrase the gateway logs in with at a smart host; an SMTP
route names it (``smtproutes new DOMAIN HOST --auth=PROFILE``).
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import SMTP_AUTH_KINDS, SmtpAuthProfile
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("smtpauthconfig", """
print
new NAME --kind=accounts
new NAME --kind=outgoing --user=NAME (--passphrase=P | --passphrase-file=FILE|-)
edit NAME [--user=NAME] [--passphrase=P | --passphrase-file=FILE|-]
delete NAME
""", notes="accounts: a listener's clients log in with the gateway's accounts (listenerconfig edit NAME "
           "--smtp-auth=PROFILE). outgoing: the gateway logs in at a smart host (smtproutes ... --auth=PROFILE). "
           "Passphrases are sealed at rest and never printed. Changes are pending until commit.",
    names=lambda c: [p.name for p in c.smtp_auth.profiles])

PROFILES = ListEditor("SMTP AUTH profile", "smtpauthconfig", lambda ctx: ctx.config.smtp_auth.profiles,
                      lambda p: p.name, stored_in=("smtp_auth", "profiles"),
                      line=lambda p: _describe(p))


@command("smtpauthconfig", "Configure SMTP Auth profiles.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    words = list(args.positional)
    kind = args.take_option("kind")
    user = args.take_option("user")
    passphrase = args.secret("passphrase", ctx) if words[:1] in (["new"], ["edit"]) else None
    args.expect_done("smtpauthconfig")
    if not words:
        if ctx.batch:
            raise UsageError()
        return _wizard(ctx)
    op, rest = words[0].lower(), words[1:]
    if op == "print" and not rest:
        return PROFILES.print(ctx)
    if len(rest) != 1:
        raise UsageError()
    if op == "new":
        PROFILES.refuse_duplicate(ctx, rest[0])
        kind = str(kind or "accounts")
        if kind not in SMTP_AUTH_KINDS:
            raise CommandError(f"--kind must be one of {', '.join(SMTP_AUTH_KINDS)}, got {kind!r}")
        return _put(ctx, None, _made(lambda: SmtpAuthProfile(
            rest[0], kind, str(user or ""), ctx.keyring.seal(passphrase) if passphrase else None)))
    current = PROFILES.find(ctx, rest[0])
    if op == "edit":
        changes = {}
        if user is not None:
            changes["username"] = str(user)
        if passphrase:
            changes["password"] = ctx.keyring.seal(passphrase)
        if not changes:
            raise UsageError()
        return _put(ctx, current, _made(lambda: current.replace(**changes)))
    if op == "delete":
        return _delete(ctx, current)
    raise UsageError()


def _describe(p: SmtpAuthProfile) -> str:
    if p.kind == "outgoing":
        return f"{p.name} (outgoing: logs in at a smart host as {p.username}, passphrase set)"
    return f"{p.name} (accounts: clients log in with the gateway's user accounts)"


def _made(make) -> SmtpAuthProfile:
    try:
        return make()
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _put(ctx, current, new: SmtpAuthProfile) -> None:
    PROFILES.put(ctx, current, new)
    ctx.say(f"{_describe(new)}. Commit to apply.")


def _delete(ctx, profile: SmtpAuthProfile) -> None:
    name = profile.name.lower()
    users = [f"listener {l.name}" for l in ctx.config.listeners.listeners if l.smtp_auth_profile.lower() == name]
    users += [f"route {r.domain}" for r in ctx.config.routes.routes if r.auth_profile.lower() == name]
    if users:
        raise CommandError(f"The SMTP AUTH profile {profile.name} is used by {', '.join(users)}: change them "
                           "first (listenerconfig edit, smtproutes edit).")
    PROFILES.put(ctx, profile, None)
    ctx.say(f"The SMTP AUTH profile {profile.name} was deleted. Commit to apply.")


def _wizard(ctx) -> None:
    p = ctx.prompter

    def new(ctx) -> None:
        def check(name: str) -> str | None:
            return f"A profile named {name} already exists." if PROFILES.exists(ctx, name) else None

        name = p.ask("Enter a name for this profile:", validate=check)
        choice = p.choose("Choose the type of profile:", ["Authenticate clients against the gateway's user "
                                                          "accounts", "Outgoing (log in at a smart host)"], 0)
        if choice == 0:
            return _put(ctx, None, _made(lambda: SmtpAuthProfile(name, "accounts")))
        user = p.ask("Enter the username:")
        secret = p.secret("Enter the passphrase:", "Please enter the passphrase again:")
        _put(ctx, None, _made(lambda: SmtpAuthProfile(name, "outgoing", user, ctx.keyring.seal(secret))))

    def edit(ctx, current: SmtpAuthProfile) -> None:
        if current.kind != "outgoing":
            raise CommandError(f"{current.name} has nothing to edit: it checks the gateway's user accounts.")
        user = p.ask("Enter the username:", current.username)
        changes = {"username": user}
        if p.yes_no("Do you want to change the passphrase?", False):
            changes["password"] = ctx.keyring.seal(p.secret("Enter the passphrase:",
                                                            "Please enter the passphrase again:"))
        _put(ctx, current, _made(lambda: current.replace(**changes)))

    PROFILES.menu(ctx, PROFILES.standard(new=new, edit=edit, delete=_delete))
