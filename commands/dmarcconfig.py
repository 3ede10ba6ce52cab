"""dmarcconfig: DMARC verification profiles: what a message that fails its From domain's DMARC policy gets."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import DmarcProfile, DmarcSection
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

FIELDS = field_options(DmarcProfile, "reject", "quarantine", "quarantine_name", "temperror", "permerror",
                       "reject_code", "reject_text", "temperror_code", "temperror_text", "permerror_code",
                       "permerror_text")
REPORT_FIELDS = field_options(DmarcSection, "aggregate_reports", "report_org_name", "report_contact")
GRAMMAR = Grammar("dmarcconfig", """
print
profiles new NAME [FIELDS]
profiles edit NAME [FIELDS]
profiles delete NAME
arc --trusted-sealers=DOMAIN[,DOMAIN...]      (--trusted-sealers= : none)
reports [REPORTS]
reports send [--day=YYYY-MM-DD]             (the day's aggregate reports now; default today)
""", fields={"FIELDS": FIELDS, "REPORTS": REPORT_FIELDS}, notes="A mail flow policy checks DMARC with 'listenerconfig hostaccess policy NAME "
                          "--dmarc-verify=yes'. Changes are pending until commit.")


PROFILES = ListEditor("DMARC profile", "dmarcconfig", lambda ctx: ctx.config.dmarc.profiles, lambda p: p.name,
                      line=lambda p: f"{p.name}: {_line(p)}", heading="DMARC verification profiles:",
                      stored_in=("dmarc", "profiles"))


@command("dmarcconfig", "Configure DMARC settings.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    words = [w.lower() for w in args.positional]
    if words in ([], ["print"]):
        args.expect_done("dmarcconfig")
        if not words and not ctx.batch:
            return _wizard(ctx)
        return _print(ctx)
    if words == ["arc"]:
        return _arc(ctx, args)
    if words == ["reports"]:
        changes = args.take_fields(REPORT_FIELDS)
        args.expect_done("dmarcconfig reports")
        if not changes:
            raise UsageError()
        try:
            ctx.replace_section("dmarc", **changes)
        except ConfigError as e:
            raise CommandError(str(e)) from None
        return _print(ctx)
    if words == ["reports", "send"]:
        day = args.take_option("day")
        args.expect_done("dmarcconfig reports send")
        sent = ctx.control("dmarc_report", day=None if day in (None, True) else str(day))["sent"]
        return ctx.say(f"Aggregate reports sent for: {', '.join(sent)}" if sent else
                       "No aggregate report was due (no data with a mailto: rua, or already sent).")
    if words[:1] != ["profiles"] or len(words) != 3 or words[1] not in ("new", "edit", "delete"):
        raise UsageError()
    changes = args.take_fields(FIELDS) if words[1] != "delete" else {}
    args.expect_done(f"dmarcconfig profiles {words[1]}")
    if words[1] == "new":
        return _new(ctx, args.positional[2], changes)
    if words[1] == "delete":
        return _delete(ctx, args.positional[2])
    if not changes:
        raise UsageError()
    _edit(ctx, args.positional[2], changes)


def _stage(ctx, old, new) -> None:
    try:
        PROFILES.put(ctx, old, new)
    except ConfigError as e:
        raise CommandError(str(e)) from None


def _checked(ctx, make) -> DmarcProfile:
    try:
        new = make()
    except ConfigError as e:
        raise CommandError(str(e)) from None
    if ctx.config.quarantines.get(new.quarantine_name) is None:
        raise CommandError(f"There is no quarantine named {new.quarantine_name} ('quarantineconfig print').")
    return new


def _new(ctx, name: str, changes: dict) -> None:
    PROFILES.refuse_duplicate(ctx, name)
    new = _checked(ctx, lambda: DmarcProfile(name, **changes))
    _stage(ctx, None, new)
    ctx.say(f"DMARC profile {new.name}: {_line(new)}. Commit to apply.")


def _edit(ctx, name: str, changes: dict) -> None:
    current = PROFILES.find(ctx, name)
    new = _checked(ctx, lambda: current.replace(**changes))
    _stage(ctx, current, new)
    ctx.say(f"DMARC profile {new.name}: {_line(new)}. Commit to apply.")


def _delete(ctx, name: str) -> None:
    current = PROFILES.find(ctx, name)
    if current.name == "DEFAULT":
        raise CommandError("The DEFAULT DMARC profile cannot be deleted.")
    users = ctx.config.hat.naming("dmarc_profile", current.name)
    if users:
        raise CommandError(f"The DMARC profile {current.name} is used by the mail flow policies {', '.join(users)}: "
                           "change them first (listenerconfig hostaccess policy NAME --dmarc-profile=...).")
    _stage(ctx, current, None)
    ctx.say(f"The DMARC profile {current.name} was deleted. Commit to apply.")


def _arc(ctx, args) -> None:
    value = args.take_option("trusted-sealers")
    args.expect_done("dmarcconfig arc")
    if value is None:
        raise UsageError()
    sealers = tuple(d.strip() for d in ("" if value is True else str(value)).split(",") if d.strip())
    try:
        ctx.replace_section("dmarc", trusted_arc_sealers=sealers)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    ctx.say(f"Trusted ARC sealers: {', '.join(sealers) or '(none)'}. Commit to apply.")


def _line(p: DmarcProfile) -> str:
    return (f"policy reject: {p.reject} (\"{p.reject_code} {p.reject_text}\"); policy quarantine: {p.quarantine} "
            f"(to {p.quarantine_name}); temporary error: {p.temperror} (\"{p.temperror_code} {p.temperror_text}\"); "
            f"permanent error: {p.permerror} (\"{p.permerror_code} {p.permerror_text}\")")


def _print(ctx) -> None:
    ctx.say("DMARC verification profiles:")
    for p in ctx.config.dmarc.profiles:
        ctx.say(f"  {p.name}: {_line(p)}")
    d = ctx.config.dmarc
    ctx.say(f"Trusted ARC sealers: {', '.join(d.trusted_arc_sealers) or '(none)'}")
    ctx.say(f"Aggregate reports: {'on' if d.aggregate_reports else 'off'} (organization "
            f"{d.report_org_name or ctx.config.system.hostname}, contact "
            f"{d.report_contact or 'postmaster@' + ctx.config.system.hostname})")
    using = [f"{p.name} ({p.dmarc_profile})" for p in ctx.config.hat.policies if p.dmarc_verify]
    ctx.say(f"Mail flow policies verifying DMARC: {', '.join(using) or '(none)'}")


def _ask_profile(ctx, current: DmarcProfile) -> dict:
    """The appliance's questions of a DMARC verification profile, each checked by the field it sets (a quarantine
    that does not exist is asked again)."""
    p = ctx.prompter
    changes: dict = {}
    for action, question, code in (
            ("reject", "Choose the message action when the policy in the DMARC record is reject:", "reject"),
            ("quarantine", "Choose the message action when the policy in the DMARC record is quarantine:", None),
            ("temperror", "Choose the message action in case of a temporary failure:", "temperror"),
            ("permerror", "Choose the message action in case of a permanent failure:", "permerror")):
        changes[action] = p.ask_setting(question, DmarcProfile, action, getattr(current, action))
        if code and changes[action] == "reject" and p.yes_no(
                "Would you like to change the SMTP response for this REJECT action?", False):
            for part in ("code", "text"):
                field = f"{code}_{part}"
                changes[field] = p.ask_setting(f"Enter the SMTP response {part}.", DmarcProfile, field,
                                               getattr(current, field))
    if "quarantine" in (changes["reject"], changes["quarantine"]):
        changes["quarantine_name"] = p.ask(
            "Enter the quarantine for the messages that fail DMARC:", current.quarantine_name,
            validate=lambda name: None if ctx.config.quarantines.get(name) else
            f"There is no quarantine named {name} ('quarantineconfig print' lists them).")
    return changes


def _wizard(ctx) -> None:
    def new(ctx) -> None:
        name = ctx.prompter.ask("Enter the name of the new DMARC verification profile:")
        PROFILES.refuse_duplicate(ctx, name)
        _new(ctx, name, _ask_profile(ctx, DmarcProfile(name)))

    PROFILES.menu(ctx, PROFILES.standard(new, lambda ctx, current: _edit(ctx, current.name, _ask_profile(
        ctx, current)), lambda ctx, current: _delete(ctx, current.name)), show=_print)
