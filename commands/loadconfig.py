"""loadconfig: load a configuration file saved by saveconfig; the result is pending."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command

MAX_BYTES = 16 * 1024 * 1024


@command("loadconfig", "Load a configuration file.", roles=R.ADMIN_ONLY)
def run(ctx, args):
    args.expect_done("loadconfig")
    if args.positional:
        text = _read(ctx, args.positional[0])
    elif ctx.batch:
        raise CommandError("Usage: loadconfig FILE")
    else:
        text = _interactive_source(ctx)
        if text is None:
            return
    from asyncos_cli.config.xmlio import from_xml

    try:
        result = from_xml(text, ctx.keyring, ctx.config)
    except ConfigError as e:
        raise CommandError(f"Parsing failed: {e}. Nothing was changed.") from None
    _check_new_certificates(ctx, result.config)
    changed = ctx.session.stage_config(result.config)
    for path in result.kept_masked:
        ctx.say(f"The passphrase {path} was masked in the file: the current one is kept.")
    if not changed:
        ctx.say("No changes detected")
        return
    ctx.say(f"Values have been loaded ({', '.join(changed)}).")
    ctx.say("Use the commit command to make these changes active.")


def _check_new_certificates(ctx, loaded) -> None:
    """A certificate the file brings is imported like certconfig imports one: weak keys are refused
    (an expired one is kept with a warning, as --allow-expired would)."""
    from asyncos_cli.services import certificates as certs

    known = {c.certificate for c in ctx.config.certificates.certificates}
    for cert in loaded.certificates.certificates:
        if cert.certificate in known:
            continue
        try:
            for warning in certs.check_importable(cert.certificate, allow_expired=True):
                ctx.say(f"Certificate {cert.name}: {warning}")
        except certs.CertificateProblem as e:
            raise CommandError(f"Parsing failed: the certificate {cert.name} cannot be imported: {e}. "
                               "Nothing was changed.") from None


def _read(ctx, name: str) -> str:
    data = ctx.files.read_bytes(name, MAX_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CommandError(f"Parsing failed: the file is not UTF-8 text (byte {e.start}). Nothing was changed.") from None


def _interactive_source(ctx) -> str | None:
    p = ctx.prompter
    if ctx.session.has_pending:
        if not p.yes_no("You have uncommitted changes. Do you want to discard them and continue?", False):
            return None
        ctx.session.clear()
    ctx.reauthenticate()
    choice = p.choose("Choose the method to load the configuration:", ["Paste via CLI", "Load from file"], default=1)
    if choice == 0:
        text = p.multiline("Paste the configuration file now. End with '.' on a line of its own.")
        if not text.strip():
            ctx.say("No data to load")
            return None
        return text
    name = p.ask("Enter the name of the file to import:")
    return _read(ctx, name)
