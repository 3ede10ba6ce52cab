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
