"""remediationconfig: the mailbox account profiles search & remediate acts through, and their validation."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.remediation import RemediationProfile
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("remediationconfig", """
print
new NAME --kind=graph --tenant=TENANT --client-id=ID (--client-secret=S | --client-secret-file=F)
      [--domains=DOMAIN,...] [--token-url=https://...] [--graph-url=https://...]
new NAME --kind=imap --host=HOST [--port=993] [--tls=implicit|starttls|none] --username=ACCOUNT
      (--passphrase=P | --passphrase-file=F) [--login-separator=*] [--domains=DOMAIN,...]
edit NAME [the same options]
delete NAME
validate NAME [--mailbox=ADDRESS]   (IMAP: log in to that mailbox through the account)
""", names=lambda c: [x.name for x in c.remediation.profiles],
    notes="""\
Profiles are tried in order: the first whose domains hold a recipient's domain acts for it.""",
    same_as={"edit": "new"})

OPTIONS = (("kind", "kind", str), ("tenant", "tenant", str), ("client-id", "client_id", str),
           ("token-url", "token_url", str), ("graph-url", "graph_url", str), ("host", "host", str),
           ("port", "port", int), ("tls", "tls", str), ("username", "username", str),
           ("login-separator", "login_separator", str))


@command("remediationconfig", "Configure the mailbox profiles of search and remediate.", roles=R.ADMIN_ONLY,
         grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.split()
    if sub in (None, "print") and not rest:
        args.expect_done("remediationconfig")
        return _print(ctx)
    if sub in ("new", "edit") and len(rest) == 1:
        changes = args.take_typed(OPTIONS)
        domains = args.take_option("domains")
        if domains is not None:
            changes["domains"] = tuple(d.strip() for d in str(domains).split(",") if d.strip())
        for option, field_name in (("client-secret", "client_secret"), ("passphrase", "passphrase")):
            secret = args.secret(option, ctx)
            if secret:
                changes[field_name] = ctx.keyring.seal(secret)
        args.expect_done(f"remediationconfig {sub}")
        return _save(ctx, sub, rest[0], changes)
    if sub == "delete" and len(rest) == 1:
        args.expect_done("remediationconfig delete")
        section = ctx.config.remediation
        if section.get(rest[0]) is None:
            raise CommandError(f"No remediation profile named {rest[0]}.")
        ctx.stage(section.replace(profiles=tuple(p for p in section.profiles if p.name.lower() != rest[0].lower())))
        ctx.say(f"Profile {rest[0]} deleted.")
        return None
    if sub == "validate" and len(rest) == 1:
        mailbox = args.take_option("mailbox")
        args.expect_done("remediationconfig validate")
        return _validate(ctx, rest[0], None if mailbox is None else str(mailbox))
    raise UsageError()


def _save(ctx, op: str, name: str, changes: dict) -> None:
    section = ctx.config.remediation
    current = section.get(name)
    if op == "new" and current is not None:
        raise CommandError(f"A remediation profile named {name} exists already.")
    if op == "edit" and current is None:
        raise CommandError(f"No remediation profile named {name}.")
    try:
        profile = RemediationProfile(name, **changes) if op == "new" else current.replace(**changes)
        profiles = [profile if p is current else p for p in section.profiles] if current else \
            [*section.profiles, profile]
        ctx.stage(section.replace(profiles=tuple(profiles)))
    except (ConfigError, TypeError) as e:
        raise CommandError(str(e)) from None
    ctx.say(f"Profile {name} {'created' if op == 'new' else 'changed'}.")


def _print(ctx) -> None:
    profiles = ctx.config.remediation.profiles
    if not profiles:
        ctx.say("No remediation profiles are configured.")
    for p in profiles:
        serves = ", ".join(p.domains) or "every domain"
        if p.kind == "graph":
            ctx.say(f"{p.name}: Office 365 / Hybrid (Graph) tenant {p.tenant or '(not set)'}, client ID "
                    f"{p.client_id or '(not set)'}, client secret {'set' if p.client_secret else 'not set'}; "
                    f"for {serves}")
        else:
            ctx.say(f"{p.name}: IMAP {p.host}:{p.port} ({p.tls}), administrative account {p.username} "
                    f"(passphrase {'set' if p.passphrase else 'not set'}); for {serves}")


def _validate(ctx, name: str, mailbox: str | None) -> None:
    from asyncos_cli.services import remediation as rm
    from asyncos_cli.services.outbound import ca_bundle, http_session

    p = ctx.config.remediation.get(name)
    if p is None:
        raise CommandError(f"No remediation profile named {name}.")
    try:
        if p.kind == "graph":
            session = http_session(ctx.config.outbound, ctx.keyring)
            session.verify = ca_bundle(ctx.config, ctx.datadir.run)
            result = rm.GraphMailboxes(p, rm.secret_of(ctx.keyring, p.client_secret), session,
                                       emit=ctx.emit).validate()
        else:
            result = rm.ImapMailboxes(p, rm.secret_of(ctx.keyring, p.passphrase), emit=ctx.emit).validate(mailbox)
    except rm.RemediationError as e:
        raise CommandError(f"Validation of {name} failed: {e}") from None
    ctx.say(f"Validation of {name} succeeded: {result}")
