"""version: the appliance's version, as the appliance's command prints it."""

from __future__ import annotations

import time

from asyncos_cli import PRODUCT, __version__
from asyncos_cli.shell.registry import command

NOT_APPLICABLE = "not applicable (software appliance)"


@command("version", "View system version information.")
def run(ctx, args):
    args.expect_done("version")
    installed = ctx.state.get("install_date")
    rows = [
        ("Product", PRODUCT),
        ("Model", ""),
        ("Version", __version__),
        ("Build Date", _build_date()),
        ("Install Date", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(installed)) if installed else "unknown"),
        ("Serial #", ctx.state.get("serial", "unknown")),
        ("BIOS", NOT_APPLICABLE),
        ("RAID", NOT_APPLICABLE),
        ("RAID Status", NOT_APPLICABLE),
        ("RAID Type", NOT_APPLICABLE),
        ("BMC", NOT_APPLICABLE),
    ]
    from asyncos_cli.lifecycle import alerts, dates

    model = ctx.config.system.model
    rows[1] = ("Model", model)
    rows += dates(model)
    for line in alerts(model):
        ctx.say(line)
    ctx.say("Current Version\n===============")
    for label, value in rows:
        ctx.say(f"{label}: {value}")


def _build_date() -> str:
    import os

    import asyncos_cli

    return time.strftime("%Y-%m-%d", time.localtime(os.path.getmtime(asyncos_cli.__file__)))
