"""reboot: stop the gateway's processes cleanly and start them again (the queue is kept on disk)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.stopping import grammar, stop_gateway


@command("reboot", "Restart the system.", roles=R.ADMIN_ONLY, grammar=grammar("reboot"))
def run(ctx, args):
    stop_gateway(ctx, args, "reboot")
