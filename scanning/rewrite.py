"""Applying the engine's decisions to the message bytes: headers added or stripped, attachments dropped.

The result is serialised with CRLF line endings only (email.policy.SMTP), so
a rewritten message can never carry a bare CR or LF to the next hop.
"""

from __future__ import annotations

import email
import email.policy


def rewrite(raw: bytes, add_headers=(), strip_headers=(), drop_attachments=()) -> bytes:
    """``drop_attachments``: SHA-256 values of the decoded attachments to remove (exactly those, whatever their names)."""
    if not (add_headers or strip_headers or drop_attachments):
        return raw
    # A value built from message content ($Subject, $Header['X']) must never start a new header line.
    add_headers = [(name, " ".join(str(value).splitlines())) for name, value in add_headers]
    if not (strip_headers or drop_attachments):
        return _prepend_headers(raw, add_headers)
    msg = email.message_from_bytes(raw, policy=email.policy.SMTP)
    for name in strip_headers:
        del msg[name]
    for name, value in add_headers:
        msg[name] = value
    if drop_attachments:
        doomed = set(drop_attachments)
        _drop(msg, doomed)
    return msg.as_bytes(policy=email.policy.SMTP)


def _drop(part, doomed: set[str]) -> None:
    import hashlib

    if not part.is_multipart():
        return
    kept = []
    for sub in part.get_payload():
        if not sub.is_multipart() and hashlib.sha256(sub.get_payload(decode=True) or b"").hexdigest() in doomed:
            continue
        _drop(sub, doomed)
        kept.append(sub)
    part.set_payload(kept)


def _prepend_headers(raw: bytes, add_headers) -> bytes:
    """New header fields on top, the rest untouched: no parse of the body, whatever its shape.

    (Trace fields are prepended the same way; a filter's header being first is harmless.)
    Values are folded and, when not ASCII, encoded by the SMTP policy.
    """
    fields = b"".join(email.policy.SMTP.fold_binary(name, value) for name, value in add_headers)
    return fields + raw
