"""What a file really is, from its first bytes (the declared type and name can lie)."""

from __future__ import annotations

import io
import zipfile

_MAGIC = (
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"MZ", "exe"),
    (b"\x7fELF", "elf"),
    (b"\x1f\x8b", "gzip"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
)


def sniff(data: bytes, name: str = "") -> str:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            if kind == "pdf" and b"/Encrypt" in data[:1 << 20]:
                return "pdf-encrypted"
            if kind == "ole":
                return _ole_kind(data, name)
            return kind
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _zip_kind(data)
    head = data[:4096]
    low = head.lower()
    if b"<html" in low or b"<!doctype html" in low:
        return "html"
    try:
        head.decode("utf-8")
        return "text"
    except UnicodeDecodeError as e:
        if e.start > len(head) - 4:  # cut in the middle of a character
            return "text"
    return "binary"


def _zip_kind(data: bytes) -> str:
    """Office Open XML files are zips; the parts they hold say which."""
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist()[:2000])
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError):
        return "zip"
    if "[Content_Types].xml" in names:
        for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
            if any(n.startswith(prefix) for n in names):
                return kind
    return "zip"


def _ole_kind(data: bytes, name: str) -> str:
    """OLE compound files: legacy Office, or an encrypted OOXML package (EncryptionInfo stream)."""
    if "EncryptionInfo".encode("utf-16-le") in data[:1 << 20] or "EncryptedPackage".encode("utf-16-le") in data[:1 << 20]:
        return "office-encrypted"
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return {"doc": "doc", "xls": "xls", "ppt": "ppt", "msg": "msg"}.get(ext, "ole")
