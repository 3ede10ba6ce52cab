"""scanconfig: the attachment scanner's bounds, the unscannable actions, URL scanning of attachments.

The appliance's menu also has NEW/DELETE/IMPORT/EXPORT/CLEAR (attachment
types to skip), SMIME and SAFEPRINT; those are not supported yet and are not
offered. PROTECTEDATTACHMENTCONFIG opens protectedattachmentconfig.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.schema import UNSCANNABLE_ACTIONS, ScanningSection
from asyncos_cli.shell.grammar import Grammar, field_options
from asyncos_cli.shell.prompter import UsageError
from asyncos_cli.shell.registry import command

from . import protectedattachmentconfig

GRAMMAR = Grammar("scanconfig", """
print
setup [FIELDS]
""", fields=field_options(ScanningSection, "max_attachment_bytes", "max_expanded_bytes", "max_memory_bytes", "max_ratio",
                          "max_members",
                          "max_depth", "max_seconds", "max_spin_count", "unscannable_action", "unscannable_header",
                          "unscannable_quarantine", "url_scanning", "url_blocked_action", "url_quarantine"))


@command("scanconfig", "Configure attachment scanning policy.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    sub = args.subcommand()
    if sub == "print" and len(args.positional) == 1:
        args.expect_done("scanconfig print")
        ctx.say(_status(ctx.config.scanning))
        return
    if sub == "setup" and len(args.positional) == 1:
        changes = args.take_fields(GRAMMAR.fields)
        args.expect_done("scanconfig setup")
        if not changes:
            raise UsageError()
        ctx.replace_section("scanning", **changes)
        ctx.say(_status(ctx.config.scanning))
        return
    raise UsageError()


def _status(s) -> str:
    header = f" (header {s.unscannable_header})" if s.unscannable_action == "deliver" and s.unscannable_header else ""
    quarantine = f" to {s.unscannable_quarantine}" if s.unscannable_action == "quarantine" else ""
    url_q = f" to {s.url_quarantine}" if s.url_blocked_action == "quarantine" else ""
    return "\n".join([
        f"Maximum size of an attachment to scan: {s.max_attachment_bytes} bytes",
        f"Maximum size of an archive's expanded content: {s.max_expanded_bytes} bytes",
        f"Maximum memory for scanning one message: {s.max_memory_bytes} bytes",
        f"Maximum expansion ratio: {s.max_ratio}:1",
        f"Maximum number of members in an archive: {s.max_members}",
        f"Maximum depth of attachment recursion to scan: {s.max_depth}",
        f"Timeout for scanning one message: {s.max_seconds:g} seconds",
        f"Maximum Office key-derivation spin count: {s.max_spin_count}",
        f"Action for unscannable messages: {s.unscannable_action}{header}{quarantine}",
        f"URL scanning of attachments: {'enabled' if s.url_scanning else 'disabled'}",
        f"Action for a blocked URL in an attachment: {s.url_blocked_action}{url_q}",
    ])


def wizard(ctx) -> None:
    p = ctx.prompter
    while True:
        op = p.menu([("SETUP", "Configure the scanning bounds and the unscannable actions."),
                     ("PRINT", "Show the scanning settings."),
                     ("PROTECTEDATTACHMENTCONFIG", "Configure scanning of password-protected attachments.")],
                    status=_status(ctx.config.scanning))
        if op is None:
            return
        if op == "PRINT":
            ctx.say(_status(ctx.config.scanning))
        elif op == "PROTECTEDATTACHMENTCONFIG":
            protectedattachmentconfig.wizard(ctx)
        else:
            _setup_wizard(ctx)


def _setup_wizard(ctx) -> None:
    p, s = ctx.prompter, ctx.config.scanning
    changes = {
        "max_attachment_bytes": p.ask_int("Enter the maximum size of an attachment to scan, in bytes",
                                          s.max_attachment_bytes, 1024, 1024**3),
        "max_depth": p.ask_int("Enter the maximum depth of attachment recursion to scan", s.max_depth, 1, 20),
        "max_ratio": p.ask_int("Enter the maximum expansion ratio of an archive", s.max_ratio, 2, 100_000),
    }
    actions = list(UNSCANNABLE_ACTIONS)
    changes["unscannable_action"] = actions[p.choose(
        "Choose the action for messages with an attachment that cannot be scanned:",
        ["Deliver (with a header)", "Drop", "Quarantine"], actions.index(s.unscannable_action))]
    changes["url_scanning"] = p.yes_no("Do you want to scan URLs in attachments?", s.url_scanning)
    changes["url_blocked_action"] = actions[p.choose(
        "Choose the action for messages with a blocked URL in an attachment:",
        ["Deliver", "Drop", "Quarantine"], actions.index(s.url_blocked_action))]
    ctx.replace_section("scanning", **changes)
