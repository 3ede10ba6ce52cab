"""saveconfig: write the committed configuration to an XML file."""

from __future__ import annotations

import time
from pathlib import Path

from asyncos_cli.auth import roles as R
from asyncos_cli.config.datadir import write_private

from .support.base import CommandError
from .support.registry import command

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
    default_path = _default_path(ctx)
    if args.positional or ctx.batch:
        path = Path(args.positional[0]) if args.positional else default_path
        mode = mode or "encrypt"
    else:
        if mode is None:
            i = ctx.prompter.choose("Choose the passphrase option:", [t for _, t in OPTIONS], default=1)
            mode = OPTIONS[i][0]
        path = Path(ctx.prompter.ask("Enter the name of the file to save the configuration to:", str(default_path)))
    if mode not in [m for m, _ in OPTIONS]:
        raise CommandError("--passphrases must be mask, encrypt or plain")
    if ctx.session.has_pending:
        ctx.say("Note: pending changes are not saved; saveconfig writes the committed configuration.")
    text = to_xml(ctx.session.snapshot.config, mode, ctx.keyring, saved_by=ctx.user)
    try:
        write_private(path, text.encode("utf-8"))  # the file may hold passphrases: owner only
    except OSError as e:
        raise CommandError(f"cannot write {path}: {e.strerror}") from None
    ctx.say(f"The file {path} has been saved.")


def _default_path(ctx) -> Path:
    folder = ctx.datadir.private_dir(ctx.datadir.root / "configuration")
    serial = ctx.state.get("serial", "unknown")
    return folder / f"{ctx.config.system.model}-{serial}-{time.strftime('%Y%m%dT%H%M%S')}.xml"
