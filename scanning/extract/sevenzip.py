"""Opening 7-Zip archives within the same bounds as zip, through py7zr (a maintained reader, not our own).

Plain, AES-256 and with encrypted headers (-mhe=on): the administrator's passphrases are tried, as for zip; an
archive no passphrase opens is "protected", never clean. Every byte py7zr produces is counted as it is written,
so an archive that lies about its sizes stops at the bound, not after it.
"""

from __future__ import annotations

import io
import time

from .unlock import NO_PASSPHRASES, NOT_OPENED, BudgetExceeded, Unlocker
from .zipfiles import Limits, Member, ZipProblem

#: One passphrase trial on an AES-256 7z: the key derivation (2^19 SHA-256 rounds), about 80 ms here.
TRIAL_SECONDS = 0.08


def open_7z(data: bytes, limits: Limits, unlocker: Unlocker = NO_PASSPHRASES) -> tuple[list[Member], bool]:
    """Members and whether the archive is protected (content or headers encrypted)."""
    import py7zr
    from py7zr.exceptions import PasswordRequired

    if len(data) > limits.max_input_bytes:
        raise ZipProblem(f"archive larger than {limits.max_input_bytes} bytes")
    started = time.monotonic()
    try:
        archive = py7zr.SevenZipFile(io.BytesIO(data))
        headers_encrypted = False
        needs = archive.needs_password()
    except PasswordRequired:
        archive, headers_encrypted, needs = None, True, True
    except Exception as e:  # py7zr's errors on damaged input are many: any is "damaged"
        raise ZipProblem(f"damaged 7-Zip archive ({type(e).__name__})") from None
    if not needs:
        return _extract(archive, limits, started, protected=False, label=""), False
    method = "AES-256" + (", encrypted headers" if headers_encrypted else "")
    if not unlocker.candidates:
        return [Member("(7-Zip content)", 0, b"", True, problem="no passphrases configured", method=method)], True
    try:
        for label, passphrase in unlocker.attempts(TRIAL_SECONDS):
            try:
                opened = py7zr.SevenZipFile(io.BytesIO(data), password=passphrase)
                members = _extract(opened, limits, started, protected=True, label=label, method=method)
            except ZipProblem:
                raise
            except Exception:
                continue  # the wrong passphrase: py7zr says so with a decompression or CRC error
            return members, True
    except BudgetExceeded as e:
        return [Member("(7-Zip content)", 0, b"", True, problem=str(e), method=method)], True
    return [Member("(7-Zip content)", 0, b"", True, problem=NOT_OPENED, method=method)], True


def _extract(archive, limits: Limits, started: float, protected: bool, label: str, method: str = "") -> list[Member]:
    from py7zr.io import Py7zIO, WriterFactory

    entries = [e for e in archive.list() if not e.is_directory]
    if len(entries) > limits.max_members:
        raise ZipProblem(f"archive with {len(entries)} members (limit {limits.max_members})")
    declared = sum(e.uncompressed or 0 for e in entries)
    if declared > limits.max_total_bytes:
        raise ZipProblem(f"archive expands to {declared} bytes (limit {limits.max_total_bytes})")

    class Counted(Py7zIO):
        def __init__(self, factory):
            self.factory, self.buffer = factory, io.BytesIO()

        def write(self, s) -> int:
            self.factory.produced(len(s))
            return self.buffer.write(s)

        def read(self, size=None) -> bytes:
            return self.buffer.read(size)

        def seek(self, offset: int, whence: int = 0) -> int:
            return self.buffer.seek(offset, whence)

        def flush(self) -> None:
            pass

        def size(self) -> int:
            return self.buffer.getbuffer().nbytes

    class Factory(WriterFactory):
        def __init__(self):
            self.products: dict[str, Counted] = {}
            self.total = 0

        def create(self, filename: str):
            self.products[filename] = product = Counted(self)
            return product

        def produced(self, n: int) -> None:
            self.total += n
            if self.total > limits.max_total_bytes:
                raise ZipProblem(f"archive expands past {limits.max_total_bytes} bytes")
            if time.monotonic() - started > limits.max_seconds:
                raise ZipProblem(f"archive took longer than {limits.max_seconds} s to open")

    factory = Factory()
    archive.extract(factory=factory)
    members = []
    for e in entries:
        product = factory.products.get(e.filename)
        content = product.buffer.getvalue() if product is not None else b""
        if e.uncompressed is not None and len(content) > e.uncompressed:
            raise ZipProblem(f"member {e.filename!r} is larger than the archive says")
        members.append(Member(e.filename, len(content), content, protected, label=label, method=method))
    return members
