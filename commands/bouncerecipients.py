"""bouncerecipients: acts on the running gateway's queue at once (state, not configuration)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.queueselect import settle


@command("bouncerecipients", "Bounce messages in the queue.", roles=R.CONFIGURE)
def bouncerecipients(ctx, args):
    settle(ctx, args, "bouncerecipients", bounce=True)
