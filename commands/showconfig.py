"""showconfig: the configuration in effect, as XML (passphrases masked by default)."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command


@command("showconfig", "Display all configuration values.", roles=R.VIEW)
def run(ctx, args):
    from asyncos_cli.config.xmlio import to_xml

    mode = args.take_option("passphrases")
    args.expect_done("showconfig")
    if mode is None:
        if ctx.batch or args.positional:
            mode = "mask"
        else:
            mode = "mask" if ctx.prompter.yes_no("Do you want to mask the passphrase?", True) else "encrypt"
    if mode not in ("mask", "encrypt"):
        raise CommandError("showconfig shows passphrases masked or encrypted: --passphrases=mask|encrypt")
    from .saveconfig import secrets_mode_for

    mode = secrets_mode_for(ctx, mode)
    ctx.prompter.page(to_xml(ctx.session.snapshot.config, mode, ctx.keyring).rstrip("\n"))
