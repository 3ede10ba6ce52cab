"""Opening zip archives within bounds.

The standard library's zipfile (and pyzipper, its fork for AES) trusts the
archive's own sizes and, before Python 3.12, does not refuse overlapping
entries (CVE-2024-0450): a small file can then expand without limit. This
module checks the central directory before reading anything and counts the
bytes actually produced while reading.
"""

from __future__ import annotations

import io
import struct
import time
import zipfile
from dataclasses import dataclass

from .unlock import NO_PASSPHRASES, NOT_OPENED, BudgetExceeded, Unlocker


@dataclass(frozen=True)
class Limits:
    max_input_bytes: int = 25 * 1024 * 1024
    max_total_bytes: int = 64 * 1024 * 1024
    max_ratio: int = 100
    max_members: int = 1000
    max_depth: int = 5
    max_seconds: float = 1.0
    max_spin_count: int = 500_000
    #: Memory one message's parse may take in a worker (scanning.memorycap); here for the verdict's wording.
    max_memory_bytes: int = 256 * 1024 * 1024

    @classmethod
    def from_config(cls, scanning) -> "Limits":
        """The bounds an administrator set with scanconfig (a ScanningSection)."""
        return cls(scanning.max_attachment_bytes, scanning.max_expanded_bytes, scanning.max_ratio,
                   scanning.max_members, scanning.max_depth, scanning.max_seconds, scanning.max_spin_count,
                   scanning.max_memory_bytes)


class ZipProblem(Exception):
    """The archive cannot be scanned within the bounds (or at all): the reason, for the verdict."""


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    data: bytes
    protected: bool
    #: For a protected member: which candidate opened it (then ``data`` is the plain content) ...
    label: str = ""
    #: ... or why it stayed closed.
    problem: str = ""
    method: str = ""


def open_zip(data: bytes, limits: Limits, unlocker: Unlocker = NO_PASSPHRASES) -> tuple[list[Member], bool]:
    """Members and whether any member is protected; protected ones are opened when a candidate fits."""
    started = time.monotonic()
    if len(data) > limits.max_input_bytes:
        raise ZipProblem(f"archive larger than {limits.max_input_bytes} bytes")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as e:
        raise ZipProblem(f"damaged archive ({type(e).__name__})") from None
    if len(infos) > limits.max_members:
        raise ZipProblem(f"archive with {len(infos)} members (limit {limits.max_members})")
    _check_layout(infos, len(data))
    _check_local_headers(infos, data)
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        raise ZipProblem(f"archive expands to {total} bytes (limit {limits.max_total_bytes})")
    members, protected = [], False
    produced = 0
    for info in infos:
        if info.is_dir():
            continue
        if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
            raise ZipProblem(f"member {info.filename!r} expands {info.file_size // info.compress_size}:1 "
                             f"(limit {limits.max_ratio}:1)")
        if info.flag_bits & 0x1:
            protected = True
            member = _unlock_member(data, info, unlocker)
            produced += len(member.data)
            if produced > limits.max_total_bytes:
                raise ZipProblem(f"archive expands past {limits.max_total_bytes} bytes")
            members.append(member)
            continue
        try:
            with zf.open(info) as f:
                content = f.read(info.file_size + 1)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError) as e:
            raise ZipProblem(f"member {info.filename!r} cannot be read ({type(e).__name__})") from None
        if len(content) > info.file_size:
            raise ZipProblem(f"member {info.filename!r} is larger than the archive says")
        produced += len(content)
        if produced > limits.max_total_bytes:
            raise ZipProblem(f"archive expands past {limits.max_total_bytes} bytes")
        if time.monotonic() - started > limits.max_seconds:
            raise ZipProblem(f"archive took longer than {limits.max_seconds} s to open")
        members.append(Member(info.filename, len(content), content, False))
    return members, protected


def _unlock_member(data: bytes, info, unlocker: Unlocker) -> Member:
    """A ZipCrypto or WinZip-AES member, opened with the first candidate that fits (pyzipper reads both)."""
    import zlib

    import pyzipper

    try:
        zf = pyzipper.AESZipFile(io.BytesIO(data))
        zinfo = zf.getinfo(info.filename)
    except Exception as e:
        return Member(info.filename, info.file_size, b"", True, problem=f"damaged ({type(e).__name__})")
    method = f"AES-{64 * (zinfo.wz_aes_strength + 1)}" if getattr(zinfo, "wz_aes_strength", None) else "ZipCrypto"
    if not unlocker.candidates:
        return Member(info.filename, info.file_size, b"", True, problem="no passphrases configured", method=method)
    try:
        for label, passphrase in unlocker.attempts(0.003):
            try:
                with zf.open(zinfo, pwd=passphrase.encode("utf-8")) as f:
                    content = f.read(info.file_size + 1)
            except (RuntimeError, zlib.error, zipfile.BadZipFile, pyzipper.BadZipFile, ValueError, EOFError):
                continue  # wrong passphrase (ZipCrypto's 1-byte check lets some through to a CRC error)
            if len(content) > info.file_size:
                return Member(info.filename, info.file_size, b"", True, problem="larger than the archive says")
            return Member(info.filename, len(content), content, True, label=label, method=method)
    except BudgetExceeded as e:
        return Member(info.filename, info.file_size, b"", True, problem=str(e), method=method)
    return Member(info.filename, info.file_size, b"", True, problem=NOT_OPENED, method=method)


def unsafe_name(name: str) -> bool:
    """A member name that would escape the folder it is extracted to (../, absolute, a drive letter)."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")


def _check_local_headers(infos, data: bytes) -> None:
    """Each member's local header must say what the central directory says: a reader that streams the local
    headers (Info-ZIP's unzip -, many mail clients) would otherwise unpack something other than what was scanned."""
    for info in infos:
        start = info.header_offset
        fields = _LOCAL_HEADER.unpack_from(data, start) if start + 30 <= len(data) else None
        if fields is None or fields[0] != b"PK\x03\x04":
            raise ZipProblem(f"member {info.filename!r} has no local header where the directory says")
        _, _, flags, method, _, _, crc, csize, usize, name_len, _ = fields
        local_name = data[start + 30:start + 30 + name_len]
        differs = []
        if method != info.compress_type:
            differs.append("compression method")
        if local_name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace"):
            differs.append("name")
        if not flags & 0x8 and usize != 0xFFFFFFFF:  # without a data descriptor (or ZIP64) the sizes are here
            if crc != info.CRC:
                differs.append("CRC")
            if csize != info.compress_size or usize != info.file_size:
                differs.append("sizes")
        if differs:
            raise ZipProblem(f"member {info.filename!r}: local header and directory disagree ({', '.join(differs)})")


def _check_layout(infos, archive_size: int) -> None:
    """Local entries must not overlap: overlapping ones are the trick of non-recursive zip bombs."""
    spans = []
    for info in infos:
        start = info.header_offset
        # 30-byte local header + name + extra (approximated by the central copies) + data
        end = start + 30 + len(info.filename.encode("utf-8", "replace")) + info.compress_size
        if start < 0 or start > archive_size:
            raise ZipProblem(f"member {info.filename!r} points outside the archive")
        spans.append((start, end, info.filename))
    spans.sort()
    for (s1, e1, n1), (s2, _, n2) in zip(spans, spans[1:]):
        if s2 < e1:
            raise ZipProblem(f"overlapping archive entries ({n1!r} and {n2!r}): a zip bomb")
