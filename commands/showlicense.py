"""showlicense: the license information: Smart Licensing's registration and the features it covers."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.registry import command

from . import featurekey, license_smart


@command("showlicense", "Show license information.", roles=R.VIEW)
def run(ctx, args):
    args.expect_done("showlicense")
    license_smart.show(ctx)
    ctx.say()
    featurekey.print_features(ctx)
