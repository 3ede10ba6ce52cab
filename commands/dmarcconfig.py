"""dmarcconfig: DMARC verification profiles: what a message that fails its From domain's DMARC policy gets."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import DmarcProfile, DmarcSection
from asyncos_cli.shell.grammar import Grammar, field_options
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


def _found(ctx, name: str) -> DmarcProfile | None:
    return next((p for p in ctx.config.dmarc.profiles if p.name.lower() == name.lower()), None)


def _stage(ctx, profiles) -> None:
    try:
        ctx.replace_section("dmarc", profiles=tuple(profiles))
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
    if _found(ctx, name) is not None:
        raise CommandError(f"There is already a DMARC profile named {_found(ctx, name).name}.")
    new = _checked(ctx, lambda: DmarcProfile(name, **changes))
    _stage(ctx, (*ctx.config.dmarc.profiles, new))
    ctx.say(f"DMARC profile {new.name}: {_line(new)}. Commit to apply.")


def _edit(ctx, name: str, changes: dict) -> None:
    current = _found(ctx, name)
    if current is None:
        raise CommandError(f"There is no DMARC profile named {name} ('dmarcconfig print' lists them).")
    new = _checked(ctx, lambda: current.replace(**changes))
    _stage(ctx, (new if p is current else p for p in ctx.config.dmarc.profiles))
    ctx.say(f"DMARC profile {new.name}: {_line(new)}. Commit to apply.")


def _delete(ctx, name: str) -> None:
    current = _found(ctx, name)
    if current is None:
        raise CommandError(f"There is no DMARC profile named {name} ('dmarcconfig print' lists them).")
    if current.name == "DEFAULT":
        raise CommandError("The DEFAULT DMARC profile cannot be deleted.")
    users = [p.name for p in ctx.config.hat.policies if p.dmarc_profile.lower() == current.name.lower()]
    if users:
        raise CommandError(f"The DMARC profile {current.name} is used by the mail flow policies {', '.join(users)}: "
                           "change them first (listenerconfig hostaccess policy NAME --dmarc-profile=...).")
    _stage(ctx, (p for p in ctx.config.dmarc.profiles if p is not current))
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


def _wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        _print(ctx)
        ctx.say()
        if p.menu([("PROFILES", "Edit the DEFAULT verification profile.")]) is None:
            return
        current = ctx.config.dmarc.profile()
        reject = p.ask_setting("Choose the message action when the policy in the DMARC record is reject:",
                               DmarcProfile, "reject", current.reject)
        quarantine = p.ask_setting("Choose the message action when the policy in the DMARC record is quarantine:",
                                   DmarcProfile, "quarantine", current.quarantine)
        try:
            _edit(ctx, "DEFAULT", {"reject": reject, "quarantine": quarantine})
        except CommandError as e:
            p.error(str(e))
