"""logconfig: log subscriptions (type, level, file name, size and time rollover, kept files)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import LOG_LEVELS, LOG_TYPES, LogSubscription
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.listedit import ListEditor
from asyncos_cli.shell.prompter import CommandError, UsageError
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
    changes = args.take_fields(FIELDS)
    if "cef-fields" in args.options:
        changes["cef_fields"] = _fields(args.take_option("cef-fields"))
    log_type = args.take_option("type") if sub == "new" else None
    args.expect_done(f"logconfig {sub}")
    if len(rest) != 1 or sub not in ("new", "edit", "delete") or (changes and sub == "delete"):
        raise UsageError()
    if sub == "new":
        return _new(ctx, rest[0], log_type, changes)
    current = LOGS.find(ctx, rest[0])
    if sub == "edit":
        return _stage(ctx, current, _made(lambda: current.replace(**changes)))
    _stage(ctx, current, None)


LOGS = ListEditor("log", "logconfig", lambda ctx: ctx.config.logs.subscriptions, lambda s: s.name, ignore_case=False,
                  stored_in=("logs", "subscriptions"))


def _made(make):
    try:
        return make()
    except (ConfigError, TypeError) as e:
        raise CommandError(str(e)) from None


def _new(ctx, name: str, log_type, changes: dict) -> None:
    LOGS.refuse_duplicate(ctx, name)
    if log_type in (None, True):
        raise CommandError("logconfig new needs --type=TYPE")
    changes.setdefault("prefix", name)
    _stage(ctx, None, _made(lambda: LogSubscription(name, str(log_type), **changes)))


def _stage(ctx, old, new) -> None:
    """Put ``new`` in the place of ``old`` (None: add it; a None ``new`` deletes ``old``)."""
    LOGS.put(ctx, old, new)
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
