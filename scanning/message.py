"""The parsed view of a message: headers, text, and every attachment with what it really is.

Parsing is defensive: the standard library's email package with the default
policy, and a parser failure becomes a "malformed" verdict on the message,
never an exception out of the engine. Each attachment carries its file name,
declared type, detected type (sniffed from its bytes), size and SHA-256;
archives are opened recursively within ``Limits``, and past a limit the
attachment is marked unscannable with the reason.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
from dataclasses import dataclass, field

from .extract.sniff import sniff
from .extract.zipfiles import Limits, ZipProblem, open_zip


@dataclass(frozen=True)
class Attachment:
    filename: str
    declared_type: str
    detected_type: str
    size: int
    sha256: str
    data: bytes = field(repr=False, default=b"")
    #: Names of the containers it was found in, outermost first.
    path: tuple[str, ...] = ()
    #: Password-protected (ZipCrypto/AES zip member, encrypted PDF or Office file).
    protected: bool = False
    #: Why it could not be scanned fully (a bound was hit, a parser failed), or None.
    unscannable: str | None = None
    children: tuple["Attachment", ...] = ()

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class ParsedMessage:
    subject: str
    message_id: str
    headers: tuple[tuple[str, str], ...]
    body_text: str
    attachments: tuple[Attachment, ...]
    size: int
    #: Why the MIME structure could not be read (the message is then one opaque part), or None.
    malformed: str | None = None

    def all_attachments(self):
        """Every attachment, nested ones included, depth first."""
        for a in self.attachments:
            yield from a.walk()

    def header(self, name: str) -> list[str]:
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]


def parse(raw: bytes, limits: Limits | None = None) -> ParsedMessage:
    limits = limits or Limits()
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        headers = tuple((k, _safe_str(v)) for k, v in msg.items())
        subject = _safe_str(msg.get("Subject", ""))
        message_id = _safe_str(msg.get("Message-ID", ""))
        texts: list[str] = []
        attachments = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            filename = part.get_filename()
            disposition = part.get_content_disposition()
            ctype = part.get_content_type()
            payload = part.get_payload(decode=True) or b""
            if filename or disposition == "attachment" or not ctype.startswith("text/"):
                attachments.append(_attachment(filename or "", ctype, payload, (), limits, 0))
            else:
                texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
        defects = [d for part in msg.walk() for d in part.defects]
        malformed = None
        if any(_serious(d) for d in defects):
            malformed = "; ".join(sorted({type(d).__name__ for d in defects if _serious(d)}))
        return ParsedMessage(subject, message_id, headers, "\n".join(texts), tuple(attachments), len(raw),
                             malformed)
    except Exception as e:  # the engine's contract: a parser failure is a verdict, never a crash
        return ParsedMessage("", "", (), "", (), len(raw), f"unparsable MIME ({type(e).__name__}: {e})")


def _serious(defect) -> bool:
    # Missing or broken boundaries hide parts from scanning; cosmetic defects do not.
    return type(defect).__name__ in {
        "StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect", "MultipartInvariantViolationDefect",
        "InvalidBase64CharactersDefect", "InvalidBase64PaddingDefect", "MissingHeaderBodySeparatorDefect",
    }


def _safe_str(value) -> str:
    try:
        return str(value)
    except Exception:  # a header the policy cannot render: keep what can be shown
        return repr(value)


def _attachment(name: str, declared: str, data: bytes, path: tuple[str, ...], limits: Limits,
                depth: int) -> Attachment:
    detected = sniff(data, name)
    digest = hashlib.sha256(data).hexdigest()
    base = dict(filename=name, declared_type=declared, detected_type=detected, size=len(data), sha256=digest,
                data=data, path=path)
    if detected == "zip":
        if depth >= limits.max_depth:
            return Attachment(**base, unscannable=f"archive nesting deeper than {limits.max_depth}")
        try:
            members, protected = open_zip(data, limits)
        except ZipProblem as e:
            return Attachment(**base, unscannable=str(e))
        children = tuple(
            _member(m, path + (name or "(unnamed)",), limits, depth + 1) for m in members
        )
        return Attachment(**base, protected=protected, children=children)
    if detected == "pdf-encrypted" or detected == "office-encrypted":
        return Attachment(**base, protected=True)
    return Attachment(**base)


def _member(member, path, limits, depth) -> Attachment:
    if member.protected:
        return Attachment(member.name, "application/octet-stream", "protected", member.size, "",
                          path=path, protected=True)
    return _attachment(member.name, "application/octet-stream", member.data, path, limits, depth)
