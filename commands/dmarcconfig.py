"""dmarcconfig: DMARC verification profiles: what a message that fails its From domain's DMARC policy gets."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import DmarcProfile, DmarcSection
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

FIELDS = field_options(DmarcProfile, "reject", "quarantine", "quarantine_name", "temperror", "permerror")
REPORT_FIELDS = field_options(DmarcSection, "aggregate_reports", "report_org_name", "report_contact")
GRAMMAR = Grammar("dmarcconfig", """
print
profiles edit NAME [FIELDS]
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
    if words[:2] != ["profiles", "edit"] or len(words) != 3:
        raise UsageError()
    changes = args.take_fields(FIELDS)
    args.expect_done("dmarcconfig profiles edit")
    if not changes:
        raise UsageError()
    _edit(ctx, args.positional[2], changes)


def _edit(ctx, name: str, changes: dict) -> None:
    section = ctx.config.dmarc
    current = next((p for p in section.profiles if p.name.lower() == name.lower()), None)
    if current is None:
        raise CommandError(f"There is no DMARC profile named {name} ('dmarcconfig print' lists them).")
    if "quarantine_name" in changes and ctx.config.quarantines.get(changes["quarantine_name"]) is None:
        raise CommandError(f"There is no quarantine named {changes['quarantine_name']} ('quarantineconfig print').")
    try:
        new = current.replace(**changes)
        ctx.replace_section("dmarc", profiles=tuple(new if p is current else p for p in section.profiles))
    except ConfigError as e:
        raise CommandError(str(e)) from None
    ctx.say(f"DMARC profile {new.name}: {_line(new)}. Commit to apply.")


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
    return (f"policy reject: {p.reject}; policy quarantine: {p.quarantine} (to {p.quarantine_name}); "
            f"temporary error: {p.temperror}; permanent error: {p.permerror}")


def _print(ctx) -> None:
    ctx.say("DMARC verification profiles:")
    for p in ctx.config.dmarc.profiles:
        ctx.say(f"  {p.name}: {_line(p)}")
    d = ctx.config.dmarc
    ctx.say(f"Trusted ARC sealers: {', '.join(d.trusted_arc_sealers) or '(none)'}")
    ctx.say(f"Aggregate reports: {'on' if d.aggregate_reports else 'off'} (organization "
            f"{d.report_org_name or ctx.config.system.hostname}, contact "
            f"{d.report_contact or 'postmaster@' + ctx.config.system.hostname})")
    using = [p.name for p in ctx.config.hat.policies if p.dmarc_verify]
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
