"""The notification an engine's "notify" action sends: what was found, in which message, what was done."""

from __future__ import annotations

import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from .spool import QueuedMessage

_TITLES = {"antivirus": "anti-virus", "antispam": "anti-spam", "file_reputation": "file reputation"}


def build(original: QueuedMessage, stage: str, verdict: str, policy: str, hostname: str) -> bytes:
    engine = _TITLES.get(stage, stage)
    notice = EmailMessage(policy=SMTP)
    notice["From"] = f"Mail Security <MAILER-DAEMON@{hostname}>"
    notice["To"] = "undisclosed-recipients:;"
    notice["Subject"] = f"[{engine} {verdict}] {original.subject or '(no subject)'}"[:200]
    notice["Date"] = format_datetime(datetime.datetime.now(datetime.timezone.utc))
    notice["Message-ID"] = make_msgid(domain=hostname)
    notice["Auto-Submitted"] = "auto-generated"
    notice.set_content(
        f"The {engine} scan on {hostname} found the message below {verdict} (mail policy {policy}).\n\n"
        f"  MID:        {original.mid}\n"
        f"  From:       <{original.sender}>\n"
        f"  To:         {', '.join('<' + r.address + '>' for r in original.recipients)}\n"
        f"  Subject:    {original.subject}\n"
        f"  Message-ID: {original.message_id}\n")
    return notice.as_bytes()
