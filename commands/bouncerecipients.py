"""bouncerecipients: acts on the running gateway's queue at once (state, not configuration)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R

from .support.queueselect import settle
from .support.registry import command


@command("bouncerecipients", "Bounce messages in the queue.", roles=R.CONFIGURE)
def bouncerecipients(ctx, args):
    settle(ctx, args, "bouncerecipients", bounce=True)
