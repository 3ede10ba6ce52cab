"""Header fields removed from a message's bytes (stripheaders), without parsing the body.

Works on the header block as it is on the wire: a field is its first line and the continuation lines that
follow it (RFC 5322 2.2.3), names compare without case, and everything else is left byte for byte.
"""

from __future__ import annotations


def strip_fields(content: bytes, names: frozenset[bytes]) -> bytes:
    """``content`` without the header fields named in ``names`` (lower-case); the same object if none is there."""
    end = content.find(b"\r\n\r\n")
    head, body = (content[:end + 2], content[end + 2:]) if end >= 0 else (content, b"")
    kept, dropping, dropped = [], False, False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = line.split(b":", 1)[0].strip().lower() in names
        dropped = dropped or dropping
        if not dropping:
            kept.append(line)
    return b"\r\n".join(kept) + body if dropped else content


def strip_claims(content: bytes, authserv_id: str) -> bytes:
    """``content`` without the Authentication-Results fields that claim ``authserv_id`` (RFC 8601 5: a receiver
    removes forged results under its own name before adding its own)."""
    end = content.find(b"\r\n\r\n")
    head, body = (content[:end + 2], content[end + 2:]) if end >= 0 else (content, b"")
    if b"authentication-results" not in head.lower():
        return content  # most mail: nothing claims anything
    ours = authserv_id.lower().encode()
    lines = head.split(b"\r\n")
    kept, i, dropped = [], 0, False
    while i < len(lines):
        field = [lines[i]]
        while i + 1 < len(lines) and lines[i + 1][:1] in (b" ", b"\t"):
            i += 1
            field.append(lines[i])
        i += 1
        name, _, value = b" ".join(field).partition(b":")
        claimed = value.strip().split(b";", 1)[0].split()
        if name.strip().lower() == b"authentication-results" and claimed and claimed[0].lower() == ours:
            dropped = True
            continue
        kept.extend(field)
    return b"\r\n".join(kept) + body if dropped else content
