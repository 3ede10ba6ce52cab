"""logconfig: log subscriptions (type, level, file name, size and time rollover, kept files)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import LOG_LEVELS, LOG_TYPES, LogSubscription
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.registry import command

FIELDS = field_options(LogSubscription, "prefix", "level", "max_file_bytes", "rollover_seconds", "keep_files",
                       "retrieval", "syslog_host", "syslog_port", "syslog_protocol", "syslog_facility")
GRAMMAR = Grammar("logconfig", """
print
new NAME --type=TYPE [FIELDS] [--cef-fields=ESAMsgSize,ESAAttachmentDetails,act,...]
edit NAME [FIELDS] [--cef-fields=FIELD,...]
delete NAME
""", names=lambda c: [x.name for x in c.logs.subscriptions],
    fields=FIELDS, notes=f"""\
TYPE: {', '.join(LOG_TYPES)}
LEVEL: {', '.join(LOG_LEVELS)}
Syslog push: --retrieval=syslog --syslog-host=HOST; consolidated logs: --cef-fields names the CEF fields written.""")


@command("logconfig", "Configure access to log files.", roles=R.ADMIN_ONLY, grammar=GRAMMAR)
def run(ctx, args):
    sub, rest = args.split()
    section = ctx.config.logs
    subs = list(section.subscriptions)
    current = next((s for s in subs if s.name == (rest[0] if rest else None)), None)
    if sub == "new" and len(rest) == 1:
        log_type = args.take_option("type")
        changes = args.take_fields(FIELDS)
        if "cef-fields" in args.options:
            changes["cef_fields"] = _fields(args.take_option("cef-fields"))
        args.expect_done("logconfig new")
        if current is not None:
            raise CommandError(f"A log named {rest[0]} already exists.")
        if log_type in (None, True):
            raise CommandError("logconfig new needs --type=TYPE")
        changes.setdefault("prefix", rest[0])
        try:
            subs.append(LogSubscription(rest[0], str(log_type), **changes))
        except (ConfigError, TypeError) as e:
            raise CommandError(str(e)) from None
    elif sub == "edit" and len(rest) == 1 and current is not None:
        changes = args.take_fields(FIELDS)
        if "cef-fields" in args.options:
            changes["cef_fields"] = _fields(args.take_option("cef-fields"))
        args.expect_done("logconfig edit")
        try:
            subs[subs.index(current)] = current.replace(**changes)
        except ConfigError as e:
            raise CommandError(str(e)) from None
    elif sub == "delete" and len(rest) == 1 and current is not None:
        args.expect_done("logconfig delete")
        subs.remove(current)
    elif sub in ("edit", "delete") and len(rest) == 1:
        raise CommandError(f"There is no log named {rest[0]} ('logconfig print' lists them).")
    else:
        raise UsageError()
    try:
        ctx.stage(section.replace(subscriptions=tuple(subs)))
    except ConfigError as e:
        raise CommandError(str(e)) from None
    show(ctx)


def _fields(value) -> tuple[str, ...]:
    return tuple(f.strip() for f in ("" if value is True else str(value)).split(",") if f.strip())


def show(ctx) -> None:
    ctx.say("Currently configured logs:")
    for i, s in enumerate(ctx.config.logs.subscriptions, 1):
        if s.retrieval == "syslog":
            how = (f"Syslog Push ({s.syslog_protocol.upper()} to {s.syslog_host}:{s.syslog_port}, facility "
                   f"{s.syslog_facility}, level {s.level})")
        else:
            how = (f"Manual Download (file {s.prefix}.current, level {s.level}, {s.max_file_bytes} bytes or "
                   f"{s.rollover_seconds} s per file, {s.keep_files} kept)")
        ctx.say(f"{i}. \"{s.name}\" Type: \"{LOG_TYPES[s.log_type]}\" Retrieval: {how}")
