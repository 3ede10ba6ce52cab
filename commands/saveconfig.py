"""saveconfig: write the committed configuration to an XML file."""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

OPTIONS = (
    ("mask", "Mask passphrases (Files with masked passphrases cannot be loaded using loadconfig command)"),
    ("encrypt", "Encrypt passphrases"),
    ("plain", "Plain passphrases"),
)


@command("saveconfig", "Saves the configuration to disk.", roles=R.CONFIGURE)
def run(ctx, args):
    from asyncos_cli.config.xmlio import to_xml

    mode = args.take_option("passphrases")
    args.expect_done("saveconfig")
    if len(args.positional) > 1:
        raise CommandError("Usage: saveconfig [FILE] [--passphrases=mask|encrypt|plain]")
    default_name = _default_name(ctx)
    if args.positional or ctx.batch:
        name = args.positional[0] if args.positional else default_name
        mode = mode or "encrypt"
    else:
        if mode is None:
            i = ctx.prompter.choose("Choose the passphrase option:", [t for _, t in OPTIONS], default=1)
            mode = OPTIONS[i][0]
        name = ctx.prompter.ask("Enter the name of the file to save the configuration to:", default_name)
    if mode not in [m for m, _ in OPTIONS]:
        raise CommandError("--passphrases must be mask, encrypt or plain")
    mode = secrets_mode_for(ctx, mode)
    if ctx.session.has_pending:
        ctx.say("Note: pending changes are not saved; saveconfig writes the committed configuration.")
    text = to_xml(ctx.session.snapshot.config, mode, ctx.keyring, saved_by=ctx.user)
    ctx.files.write_text(name, text)  # owner-only: the file may hold passphrases
    ctx.say(f"The file {ctx.files.shown(name)} has been saved.")


def secrets_mode_for(ctx, mode: str) -> str:
    """Secrets follow the role: only administrators get them, plain or sealed, in a file or on screen."""
    if ctx.role == R.ADMINISTRATORS:
        return mode
    if mode == "plain":
        raise CommandError("Only administrators can save passphrases in plain text.")
    if mode == "encrypt":
        ctx.say("Note: passphrases are masked: only administrators can save them.")
    return "mask"


def _default_name(ctx) -> str:
    """In the configuration directory, as the appliance names its saved files."""
    serial = ctx.state.get("serial", "unknown")
    ctx.datadir.private_dir(ctx.datadir.configuration)
    name = f"{ctx.config.system.model}-{serial}-{time.strftime('%Y%m%dT%H%M%S')}.xml"
    return name if ctx.files.confined else str(ctx.datadir.configuration / name)
