"""resumedel: resume delivery."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.registry import command


@command("resumedel", "Resume delivery.", roles=R.CONFIGURE)
def run(ctx, args):
    from asyncos_cli.shell.shared import suspension

    args.expect_done("resumedel")
    suspension.resume(ctx, receiving=False)
