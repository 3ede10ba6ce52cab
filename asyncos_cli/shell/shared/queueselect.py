"""Selecting queued recipients, shared by the queue commands (showrecipients, deleterecipients...)."""

from __future__ import annotations

from asyncos_cli.shell.prompter import CommandError

SELECT_USAGE = "{cmd} all | sender ADDRESS | recipient ADDRESS-OR-DOMAIN"


def selection(ctx, args, cmd: str) -> tuple[str, str]:
    args.expect_done(cmd)
    pos = args.positional
    if not pos:
        if ctx.batch:
            raise CommandError("Usage: " + SELECT_USAGE.format(cmd=cmd))
        i = ctx.prompter.choose("Please select how you would like to select messages:",
                                ["By recipient host", "By envelope from address", "All"], 2)
        if i == 2:
            return "all", ""
        return ("recipient", ctx.prompter.ask("Please enter the hostname or address:")) if i == 0 else (
            "sender", ctx.prompter.ask("Please enter the envelope from address:"))
    by = pos[0].lower()
    if by == "all" and len(pos) == 1:
        return "all", ""
    if by in ("sender", "recipient") and len(pos) == 2:
        return by, pos[1]
    raise CommandError("Usage: " + SELECT_USAGE.format(cmd=cmd))


def settle(ctx, args, cmd: str, bounce: bool) -> None:
    by, value = selection(ctx, args, cmd)
    if not ctx.batch and not ctx.prompter.yes_no(
            f"Are you sure you want to {'bounce' if bounce else 'delete'} the selected recipients?", False):
        return
    res = ctx.control("settle", by=by, value=value, bounce=bounce)
    ctx.say(f"{res['recipients']} recipients {'bounced' if bounce else 'deleted'} (in effect now).")
    if res["in_delivery"]:
        ctx.say(f"{res['in_delivery']} recipients are being delivered right now and were left alone.")
