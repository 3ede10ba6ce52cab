"""resumelistener: accept connections again on a suspended listener."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.registry import command

from .suspendlistener import _name


@command("resumelistener", "Resume receiving on a suspended listener.", roles=R.CONFIGURE)
def run(ctx, args):
    name = ctx.control("resumelistener", name=_name(ctx, args, "resumelistener"))
    ctx.say(f"Listener {name} resumed (in effect now).")
