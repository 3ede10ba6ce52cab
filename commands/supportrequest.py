"""supportrequest: mail a support request with a diagnostic bundle to the support address.

The bundle holds the configuration with every passphrase masked, the
version, and the end of each current log file. It goes over STARTTLS
whenever the receiving server offers it, and in plain text only when it
does not (AsyncOS 14.0); the command says which it was.
"""

from __future__ import annotations

import time

from asyncos_cli import __version__
from asyncos_cli.auth import roles as R
from asyncos_cli.config.addresses import address_problem as _address_problem
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("supportrequest", """
send --description=TEXT --email=ADDRESS [--name=NAME] [--phone=PHONE] [--to=ADDRESS]
      [--cc=ADDRESS,...]
""", notes="""\
(--to defaults to alertconfig's support address.)""")

#: The end of each log file that goes into the bundle.
LOG_TAIL_BYTES = 256 * 1024


@command("supportrequest", "Send a message to customer support.", roles=R.ADMIN_ONLY, grammar=GRAMMAR)
def run(ctx, args):
    sub = args.subcommand()
    if sub != "send" or len(args.positional) != 1:
        raise UsageError()
    fields = {k: args.take_option(k) for k in ("description", "email", "name", "phone", "to", "cc")}
    args.expect_done("supportrequest send")
    fields = {k: ("" if v is None or v is True else str(v)) for k, v in fields.items()}
    if not fields["description"] or not fields["email"]:
        raise UsageError()
    _send(ctx, fields)



def wizard(ctx) -> None:
    p = ctx.prompter
    fields = {
        "to": p.ask("Please enter the email address of the support team.",
                    ctx.config.alerts.support_address or None, validate=_address_problem),
        "cc": p.ask("Enter other email addresses to send the request to, separated by commas (optional).", "",
                    allow_empty=True, validate=lambda t: next(
                        (_address_problem(a.strip()) for a in t.split(",") if a.strip()
                         and _address_problem(a.strip())), None)),
        "name": p.ask("Please enter your name.", allow_empty=True, default=""),
        "email": p.ask("Please enter your email address.", validate=_address_problem),
        "phone": p.ask("Please enter your phone number (optional).", "", allow_empty=True),
        "description": p.multiline("Please enter a description of your issue. End with a line holding only '.'"),
    }
    if not fields["description"].strip():
        raise CommandError("A support request needs a description.")
    _send(ctx, fields)


def bundle(ctx) -> bytes:
    """The diagnostic bundle: masked configuration, version, log tails (a .tar.gz)."""
    import io
    import tarfile

    from asyncos_cli.config.xmlio import to_xml

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))

        add("config.xml", to_xml(ctx.config, "mask", None, ctx.user).encode())
        add("version.txt", f"Version: {__version__}\nHost name: {ctx.config.system.hostname}\n"
                           f"Model: {ctx.config.system.model}\nSerial #: {ctx.state.get('serial', '')}\n".encode())
        logs = ctx.datadir.logs
        for current in sorted(logs.glob("*/*.current")) if logs.exists() else []:
            with open(current, "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - LOG_TAIL_BYTES))
                add(f"logs/{current.parent.name}/{current.name}", f.read())
    return out.getvalue()


def _send(ctx, fields: dict) -> None:
    import asyncio
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    from asyncos_cli.services.mailer import SendFailed, send

    to = fields["to"] or ctx.config.alerts.support_address
    if not to:
        raise CommandError("There is no support address: give --to or set one with alertconfig setup "
                           "--support-address=ADDRESS.")
    recipients = [to] + [a.strip() for a in fields.get("cc", "").split(",") if a.strip()]
    for a in (*recipients, fields["email"]):
        problem = _address_problem(a)
        if problem:
            raise CommandError(problem)
    hostname = ctx.config.system.hostname
    m = EmailMessage()
    m["From"] = fields["email"]
    m["To"] = ", ".join(recipients)
    m["Subject"] = f"Support request from {hostname}"
    m["Date"] = formatdate(localtime=True)
    m["Message-ID"] = make_msgid(domain=hostname)
    m.set_content(f"{fields['description'].strip()}\n\n--\nName: {fields.get('name') or '-'}\n"
                  f"Email: {fields['email']}\nPhone: {fields.get('phone') or '-'}\n"
                  f"Gateway: {hostname}, version {__version__}\n")
    m.add_attachment(bundle(ctx), maintype="application", subtype="gzip",
                     filename=f"support-{hostname}-{time.strftime('%Y%m%d%H%M%S')}.tar.gz")
    try:
        sent = asyncio.run(send(ctx.config, fields["email"], recipients, bytes(m), "opportunistic"))
    except SendFailed as e:
        raise CommandError(f"The support request could not be sent: {e}") from None
    for s in sent:
        if s.tls:
            ctx.say(f"The support request was sent over TLS ({s.tls}) to {s.host}.")
        else:
            ctx.say(f"The support request was sent in plain text to {s.host}: the server does not offer STARTTLS.")
