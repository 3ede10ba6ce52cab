"""The parsed view of a message: headers, text, and every attachment with what it really is.

Parsing is defensive: the standard library's email package with the default
policy, and a parser failure becomes a "malformed" verdict on the message,
never an exception out of the engine. Each attachment carries its file name,
declared type, detected type (sniffed from its bytes), size and SHA-256;
archives are opened recursively within ``Limits``, and past a limit the
attachment is marked unscannable with the reason.
"""

from __future__ import annotations

import dataclasses
import email
import email.header
import email.policy
import hashlib
import io
import re
import time
from dataclasses import dataclass, field

from .extract import office, ooxml, pdf
from .extract.office import OfficeProblem, is_encrypted_ole
from .extract.pdf import PdfProblem
from .extract.sevenzip import open_7z
from .extract.sniff import sniff
from .extract.text import (
    binary_strings,
    harvest_passphrases,
    html_text,
    normalise,
    urls_in,
)
from .extract.unlock import NOT_OPENED, BudgetExceeded, Unlocker
from .extract.zipfiles import Limits, ZipProblem, open_zip, unsafe_name


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
    #: Why it could not be scanned fully (a bound was hit, a parser failed, no passphrase fits), or None.
    unscannable: str | None = None
    children: tuple["Attachment", ...] = ()
    #: Text extracted from the content (documents, HTML, decrypted files), NFC-normalised.
    text: str = field(repr=False, default="")
    urls: tuple[str, ...] = ()
    #: Which passphrase candidate opened it ("priority 0"), never the passphrase itself.
    unlocked_by: str = ""
    #: The protection found (ZipCrypto, AES-256, agile, R6 256-bit AES, ...).
    protection: str = ""
    #: What an archive does that archives should not (a member name escaping it): reported, its content scanned.
    flags: tuple[str, ...] = ()

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
    #: URLs in the message text (the body parts that are not attachments).
    body_urls: tuple[str, ...] = ()

    def all_attachments(self):
        """Every attachment, nested ones included, depth first."""
        for a in self.attachments:
            yield from a.walk()

    def header(self, name: str) -> list[str]:
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]


def parse(raw: bytes, limits: Limits | None = None, unlocker: Unlocker | None = None,
          harvest: bool = False) -> ParsedMessage:
    """The message's structure, with every attachment opened as far as the bounds allow.

    ``unlocker`` holds the passphrases to try on protected content (none: protected
    content is only marked); ``harvest`` adds the ones the message text gives.
    """
    limits = limits or Limits()
    crowded = _too_many_parts(raw)
    if crowded:
        return ParsedMessage("", "", (), "", (), len(raw), crowded)
    try:
        # compat32: the structured header objects of policy.default cost two thirds of a parse,
        # and the engine needs only text; encoded words are decoded here, once per header.
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        headers = tuple((k, _header_text(v)) for k, v in msg.items())
        subject = next((v for k, v in headers if k.lower() == "subject"), "")
        message_id = next((v for k, v in headers if k.lower() == "message-id"), "")
        texts: list[str] = []
        parts = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            filename = _header_text(part.get_filename() or "")
            disposition = part.get_content_disposition()
            ctype = part.get_content_type()
            payload = part.get_payload(decode=True) or b""
            if filename or disposition == "attachment" or not ctype.startswith("text/"):
                parts.append((filename or "", ctype, payload))
            else:
                body = payload.decode(_charset(part), "replace")
                texts.append(html_text(body) if ctype == "text/html" else normalise(body))
        body_text = "\n".join(texts)
        unlocker = unlocker or Unlocker([], 0.0)
        if harvest:
            unlocker.add_harvested(harvest_passphrases(body_text))
        extraction = _Extraction(limits, unlocker, time.monotonic() + limits.max_seconds)
        attachments = extraction.top_level(parts)
        defects = [d for part in msg.walk() for d in part.defects]
        malformed = None
        if any(_serious(d) for d in defects):
            malformed = "; ".join(sorted({type(d).__name__ for d in defects if _serious(d)}))
        return ParsedMessage(subject, message_id, headers, body_text, attachments, len(raw), malformed,
                             tuple(urls_in(body_text)))
    except Exception as e:  # the engine's contract: a parser failure is a verdict, never a crash
        return ParsedMessage("", "", (), "", (), len(raw), f"unparsable MIME ({type(e).__name__}: {e})")


#: MIME parts and nesting the parser is given at most: the stdlib parser's cost grows fast with deep
#: nesting (2,000 levels take over a second), and no real message needs more.
MAX_MIME_PARTS = 1000
MAX_MIME_NESTING = 40
_BOUNDARY_LINE = re.compile(rb"(?m)^--")
_MULTIPART = re.compile(rb"(?im)^content-type:[ \t]*(?:\r?\n[ \t]+)?multipart/")


def _too_many_parts(raw: bytes) -> str | None:
    """Why the MIME structure is refused before parsing, or None (counts are upper bounds, cheap to take)."""
    parts = len(_BOUNDARY_LINE.findall(raw))
    if parts > 2 * MAX_MIME_PARTS:
        return f"more than {MAX_MIME_PARTS} MIME parts"
    nesting = len(_MULTIPART.findall(raw))
    if nesting > MAX_MIME_NESTING:
        return f"{nesting} multipart containers (limit {MAX_MIME_NESTING})"
    return None


def _charset(part) -> str:
    import codecs

    name = part.get_content_charset() or "utf-8"
    try:
        codecs.lookup(name)
        return name
    except LookupError:
        return "utf-8"


def _serious(defect) -> bool:
    # Missing or broken boundaries hide parts from scanning; cosmetic defects do not.
    return type(defect).__name__ in {
        "StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect", "MultipartInvariantViolationDefect",
        "InvalidBase64CharactersDefect", "InvalidBase64PaddingDefect", "MissingHeaderBodySeparatorDefect",
    }


def _header_text(value) -> str:
    """A header's text: unfolded, RFC 2047 encoded words decoded; never an exception."""
    try:
        if isinstance(value, email.header.Header):
            value = str(value)
        text = re.sub(r"\r?\n[ \t]+", " ", str(value))
        if "=?" in text:
            text = str(email.header.make_header(email.header.decode_header(text)))
        return text
    except Exception:  # an undecodable header: keep what can be shown
        return repr(value)


#: Text searched in one text or HTML attachment: a bound on memory (a str can take four bytes a character).
MAX_TEXT_BYTES = 8 * 1024 * 1024


class _Extraction:
    """One message's extraction: its bounds, its passphrases and one deadline for all of its attachments."""

    def __init__(self, limits: Limits, unlocker: Unlocker, deadline: float):
        self.limits, self.unlocker, self.deadline = limits, unlocker, deadline
        #: Bytes expanded so far for this message, all attachments and nesting levels together: the expansion
        #: bound is the message's, so sixteen archives at the bound each cannot add up to sixteen times it.
        self.expanded = 0

    def top_level(self, parts: list[tuple[str, str, bytes]]) -> tuple[Attachment, ...]:
        """The message's attachments, in their order; protected ones are opened cheapest format first, each with
        its share of the passphrase budget (36 Office decoys cannot starve the zip that holds the payload)."""
        unlocker = self.unlocker
        kinds = [_protected_kind(payload) if unlocker.candidates else None for _, _, payload in parts]
        protected = sorted((i for i, kind in enumerate(kinds) if kind is not None),
                           key=lambda i: (_TRIAL_COST[kinds[i]], i))
        order = [i for i in range(len(parts)) if kinds[i] is None] + protected
        out: list[Attachment | None] = [None] * len(parts)
        waiting = len(protected)
        for i in order:
            name, ctype, payload = parts[i]
            if kinds[i] is None:
                unlocker.share(None)
            else:
                # What is left, divided among those still waiting: time an attachment did not need goes to the next.
                share = max(0.0, unlocker.remaining()) / waiting
                if unlocker.share_seconds is not None:
                    share = min(share, unlocker.share_seconds)
                unlocker.share(share)
                waiting -= 1
            out[i] = self.attachment(name, ctype, payload, (), 0)
        unlocker.share(None)
        return tuple(a for a in out if a is not None)

    def _room(self) -> Limits:
        """The bounds for the next archive: what is left of the message's expansion budget."""
        return dataclasses.replace(self.limits, max_total_bytes=max(0, self.limits.max_total_bytes - self.expanded))

    def _spent(self, produced: int) -> None:
        self.expanded += produced
        if self.expanded > self.limits.max_total_bytes:
            raise ZipProblem(f"the message's attachments expand past {self.limits.max_total_bytes} bytes")

    def attachment(self, name: str, declared: str, data: bytes, path: tuple[str, ...], depth: int,
                   protected: bool = False, unlocked_by: str = "", protection: str = "") -> Attachment:
        base = dict(filename=name, declared_type=declared, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                    data=data, path=path, protected=protected, unlocked_by=unlocked_by, protection=protection)
        if len(data) > self.limits.max_input_bytes:
            return Attachment(**base, detected_type=sniff(data[:65536], name),
                              unscannable=f"larger than {self.limits.max_input_bytes} bytes")
        detected = sniff(data, name)
        if time.monotonic() > self.deadline:
            return Attachment(**base, detected_type=detected,
                              unscannable=f"scanning time of {self.limits.max_seconds:g} s spent")
        try:
            return self._open(base, detected, name, data, path, depth)
        except ZipProblem as e:
            reason = str(e)
            if self.expanded and ("expands past" in reason or "expands to" in reason):  # the message's budget ran
                # out, not this archive's own bound (a ratio refusal keeps its own reason)
                reason = f"the message's attachments expand past {self.limits.max_total_bytes} bytes"
            return Attachment(**base, detected_type=detected, unscannable=reason)
        except BudgetExceeded as e:
            return Attachment(**{**base, "protected": True}, detected_type=detected, unscannable=f"protected: {e}")
        except (PdfProblem, OfficeProblem) as e:
            protected_now = base["protected"] or detected in ("pdf-encrypted", "office-encrypted") or \
                str(e) == NOT_OPENED
            if str(e) == NOT_OPENED and not self.unlocker.candidates:
                return Attachment(**{**base, "protected": True}, detected_type=detected)  # nothing to try: marked only
            reason = f"protected: {e}" if str(e) == NOT_OPENED else str(e)
            return Attachment(**{**base, "protected": protected_now}, detected_type=detected, unscannable=reason)
        except MemoryError:  # the worker's memory cap for the message (scanning.memorycap)
            return Attachment(**base, detected_type=detected, unscannable=f"needs more than the "
                              f"{self.limits.max_memory_bytes} bytes of memory a message may use")
        except Exception as e:  # an extractor's bug on hostile bytes is this attachment's verdict
            return Attachment(**base, detected_type=detected, unscannable=f"extraction failed ({type(e).__name__})")

    def _open(self, base, detected, name, data, path, depth) -> Attachment:
        here = path + (name or "(unnamed)",)
        if detected in ("zip", "docx", "xlsx", "pptx"):
            if depth >= self.limits.max_depth:
                return Attachment(**base, detected_type=detected,
                                  unscannable=f"archive nesting deeper than {self.limits.max_depth}")
            members, protected = open_zip(data, self._room(), self.unlocker)
            self._spent(sum(len(m.data) for m in members))
            if detected != "zip":
                text, urls = ooxml.extract(members)
                return Attachment(**base, detected_type=detected, text=text, urls=tuple(urls))
            children = tuple(self._member(m, here, depth + 1) for m in members)
            flags = tuple(f"member name escapes the archive: {m.name!r}" for m in members if unsafe_name(m.name))
            return Attachment(**{**base, "protected": base["protected"] or protected}, detected_type=detected,
                              children=children, flags=flags)
        if detected == "7z":
            if depth >= self.limits.max_depth:
                return Attachment(**base, detected_type=detected,
                                  unscannable=f"archive nesting deeper than {self.limits.max_depth}")
            members, protected = open_7z(data, self._room(), self.unlocker)
            self._spent(sum(len(m.data) for m in members))
            children = tuple(self._member(m, here, depth + 1) for m in members)
            flags = tuple(f"member name escapes the archive: {m.name!r}" for m in members if unsafe_name(m.name))
            return Attachment(**{**base, "protected": base["protected"] or protected}, detected_type=detected,
                              children=children, flags=flags)
        if detected == "rar":  # no maintained RAR reader here yet: never passed as clean
            return Attachment(**base, detected_type=detected,
                              unscannable="RAR archive: not supported yet (not opened, so not scanned)")
        if detected == "gzip":
            return self._gunzip(base, detected, name, data, here, depth)
        if detected in ("pdf", "pdf-encrypted"):
            content = pdf.read(data, self.unlocker, self.limits.max_seconds)
            return Attachment(**{**base, "protected": base["protected"] or content.encrypted,
                                 "unlocked_by": content.label or base["unlocked_by"],
                                 "protection": content.method or base["protection"]},
                              detected_type=detected, text=content.text, urls=tuple(content.urls),
                              unscannable=f"damaged PDF ({content.damaged[:200]})" if content.damaged else None)
        if detected == "office-encrypted" or (detected in ("doc", "xls", "ppt", "ole") and is_encrypted_ole(data)):
            unlocked = office.unlock(data, self.unlocker, self.limits.max_spin_count)
            self._spent(len(unlocked.plain))
            child = self.attachment(name, declared_type_of(name), unlocked.plain, here, depth + 1)
            return Attachment(**{**base, "protected": True, "unlocked_by": unlocked.label,
                                 "protection": unlocked.method}, detected_type=detected, children=(child,))
        if detected in ("doc", "xls", "ppt", "ole"):
            text = binary_strings(data)
            return Attachment(**base, detected_type=detected, text=text, urls=tuple(_binary_urls(text)))
        if detected in ("html", "text"):
            raw_text = data[:MAX_TEXT_BYTES].decode("utf-8", "replace")
            text = html_text(raw_text) if detected == "html" else normalise(raw_text)
            return Attachment(**base, detected_type=detected, text=text, urls=tuple(urls_in(raw_text)))
        return Attachment(**base, detected_type=detected)

    def _gunzip(self, base, detected, name, data, here, depth) -> Attachment:
        """A gzip file holds one file: decompressed within the expansion bound, then scanned like any other."""
        import zlib

        if depth >= self.limits.max_depth:
            return Attachment(**base, detected_type=detected,
                              unscannable=f"archive nesting deeper than {self.limits.max_depth}")
        room = self._room().max_total_bytes
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            plain = inflater.decompress(data, room + 1)
        except zlib.error as e:
            return Attachment(**base, detected_type=detected, unscannable=f"damaged gzip ({e})")
        if len(plain) > room or inflater.unconsumed_tail:
            raise ZipProblem(f"archive expands past {room} bytes")
        self._spent(len(plain))
        inner = name[:-3] if name and name.lower().endswith(".gz") else (name or "(unnamed)") + ".out"
        child = self.attachment(inner, declared_type_of(inner), plain, here, depth + 1)
        return Attachment(**base, detected_type=detected, children=(child,))

    def _member(self, member, path, depth) -> Attachment:
        if member.protected and not member.label:
            return Attachment(member.name, "application/octet-stream", "protected", member.size, "",
                              path=path, protected=True, protection=member.method,
                              unscannable=None if member.problem == "no passphrases configured" else
                              f"protected: {member.problem}")
        return self.attachment(member.name, declared_type_of(member.name), member.data, path, depth,
                               protected=member.protected, unlocked_by=member.label, protection=member.method)


#: Relative cost of one passphrase trial by format (zip: under a millisecond; agile Office: tens of ms).
_TRIAL_COST = {"zip": 0, "pdf": 1, "7z": 2, "office": 3}


def _protected_kind(data: bytes) -> str | None:
    """The format of a protected attachment, looked at cheaply before opening anything (None: not protected, or
    too damaged to say: opening it gives the verdict)."""
    try:
        return _protected_format(data)
    except Exception:  # hostile bytes: the attachment's own opening says what is wrong with them
        return None


def _protected_format(data: bytes) -> str | None:
    kind = sniff(data)
    if kind == "zip":
        try:
            import zipfile

            infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
        except Exception:
            return None
        return "zip" if any(i.flag_bits & 0x1 for i in infos[:1000]) else None
    if kind == "pdf-encrypted":
        return "pdf"
    if kind == "7z":
        try:
            import py7zr

            return "7z" if py7zr.SevenZipFile(io.BytesIO(data)).needs_password() else None
        except Exception:
            return "7z"  # headers encrypted (or damaged: opening it will say so)
    if kind == "office-encrypted" or (kind in ("doc", "xls", "ppt", "ole") and is_encrypted_ole(data)):
        return "office"
    return None


def _binary_urls(text: str) -> list[str]:
    """URLs in a legacy Office file's strings: a string run may carry the record's next bytes after the URL, so
    each URL ends at its first character outside printable ASCII."""
    out = []
    for url in urls_in(text):
        m = re.match(r"[\x21-\x7e]+", url)
        clean = m.group(0).rstrip(".,;:)]}'\"") if m else ""
        if "://" in clean and clean not in out:
            out.append(clean)
    return out


def declared_type_of(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"
