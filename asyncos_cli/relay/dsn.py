"""Delivery status notifications (RFC 3464) for recipients that bounced.

Written out directly rather than through the email package: the report's
layout is fixed by the RFC, and the email package cannot serialise a
message/delivery-status part built from text.
"""

from __future__ import annotations

import datetime
import re
import secrets
from email.utils import format_datetime, make_msgid

from .spool import QueuedMessage, Recipient


def build(original: QueuedMessage, failed: list[Recipient], hostname: str, delayed: bool = False,
          rfc3464: bool = True) -> bytes:
    """A bounce (or, ``delayed``, a delay warning) for the original sender, CRLF line endings throughout: a
    multipart/report (RFC 3464) or, ``rfc3464`` False (a bounce profile's choice), one plain text part."""
    boundary = f"=_dsn_{secrets.token_hex(12)}"
    now = format_datetime(datetime.datetime.now(datetime.timezone.utc))
    arrival = format_datetime(datetime.datetime.fromtimestamp(original.received, datetime.timezone.utc))
    if delayed:
        subject = "Delayed Mail (still being retried)"
        text = [f"This is the mail system at host {hostname}.", "",
                "Your message could not be delivered yet to one or more recipients. It is still being retried:",
                "you do not need to send it again.", "",
                *[f"<{r.address}>: {r.detail or original.last_error or 'temporary failure'}" for r in failed]]
    else:
        subject = "Undelivered Mail Returned to Sender"
        text = [f"This is the mail system at host {hostname}.", "",
                "Your message could not be delivered to one or more recipients.", "",
                *[f"<{r.address}>: {r.detail}" for r in failed]]
    status = [f"Reporting-MTA: dns; {hostname}", f"Arrival-Date: {arrival}", ""]
    for r in failed:
        detail = r.detail or original.last_error or "4.0.0 temporary failure"
        status += [
            f"Final-Recipient: rfc822; {r.address}",
            f"Action: {'delayed' if delayed else 'failed'}",
            f"Status: {status_code(detail)}",
            f"Diagnostic-Code: smtp; {_one_line(detail)}",
            "",
        ]
    headers = original.content.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    head = [
        f"From: Mail Delivery System <MAILER-DAEMON@{hostname}>",
        f"To: <{original.sender}>",
        f"Subject: {subject}",
        f"Date: {now}",
        f"Message-ID: {make_msgid(domain=hostname)}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
    ]
    if not rfc3464:
        body = [*text, "", "The headers of your message:", "", *headers.split("\r\n"), ""]
        lines = [*head, "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "", *body]
        return "\r\n".join(lines).encode("utf-8")
    lines = [
        *head,
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        "This is a MIME-encapsulated delivery status notification.",
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        *text,
        "",
        f"--{boundary}",
        "Content-Type: message/delivery-status",
        "",
        *status,
        f"--{boundary}",
        "Content-Type: text/rfc822-headers; charset=utf-8",
        "",
        *headers.split("\r\n"),
        "",
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).encode("utf-8")


def status_code(detail: str) -> str:
    """The enhanced status code in a reply (5.1.1), or one derived from its basic code."""
    m = re.search(r"\b([245]\.\d{1,3}\.\d{1,3})\b", detail)
    if m:
        return m.group(1)
    m = re.match(r"\s*([245])\d\d", detail)
    return f"{m.group(1)}.0.0" if m else "5.0.0"


def _one_line(text: str) -> str:
    return " ".join(text.split())
