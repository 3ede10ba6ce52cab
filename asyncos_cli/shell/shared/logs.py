"""What tail and grep share: the log subscriptions written to files, chosen by name or number."""

from __future__ import annotations

from asyncos_cli.shell.prompter import CommandError


def file_logs(ctx) -> list:
    return [s for s in ctx.config.logs.subscriptions if s.retrieval == "file"]


def find_log(ctx, name: str):
    """A subscription by name, or by its number in the list ``choose_log`` prints."""
    logs = file_logs(ctx)
    if name.isdigit() and 1 <= int(name) <= len(logs):
        return logs[int(name) - 1]
    for sub in logs:
        if sub.name == name:
            return sub
    if any(s.name == name for s in ctx.config.logs.subscriptions):
        raise CommandError(f"The log {name} is pushed to syslog: there is no file here to read.")
    raise CommandError(f"No log named {name}: 'logconfig print' lists the log subscriptions.")


def choose_log(ctx, verb: str):
    """The numbered list of logs, then the administrator's choice."""
    logs = file_logs(ctx)
    if not logs:
        raise CommandError("No log is written to files here: 'logconfig' adds one.")
    from asyncos_cli.config.system import LOG_TYPES

    ctx.say("\nCurrently configured logs:")
    for i, sub in enumerate(logs, 1):
        ctx.say(f'{i}. "{sub.name}" Type: "{LOG_TYPES[sub.log_type]}" Retrieval: Manual Download')
    answer = ctx.prompter.ask(f"Enter the number of the log you wish to {verb}.",
                              validate=lambda v: None if v.isdigit() and 1 <= int(v) <= len(logs)
                              else f"Enter a number from 1 to {len(logs)}.")
    return logs[int(answer) - 1]
