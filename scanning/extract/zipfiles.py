"""Opening zip archives within bounds.

The standard library's zipfile (and pyzipper, its fork for AES) trusts the
archive's own sizes and, before Python 3.12, does not refuse overlapping
entries (CVE-2024-0450): a small file can then expand without limit. This
module checks the central directory before reading anything and counts the
bytes actually produced while reading.
"""

from __future__ import annotations

import io
import time
import zipfile
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_input_bytes: int = 50 * 1024 * 1024
    max_total_bytes: int = 200 * 1024 * 1024
    max_ratio: int = 100
    max_members: int = 1000
    max_depth: int = 5
    max_seconds: float = 1.0


class ZipProblem(Exception):
    """The archive cannot be scanned within the bounds (or at all): the reason, for the verdict."""


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    data: bytes
    protected: bool


def open_zip(data: bytes, limits: Limits) -> tuple[list[Member], bool]:
    """Members (protected ones without data) and whether any member is protected."""
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
    total = sum(i.file_size for i in infos)
    if total > limits.max_total_bytes:
        raise ZipProblem(f"archive expands to {total} bytes (limit {limits.max_total_bytes})")
    members, protected = [], False
    produced = 0
    for info in infos:
        if info.is_dir():
            continue
        if _unsafe_name(info.filename):
            raise ZipProblem(f"unsafe member name {info.filename!r} (path traversal)")
        if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
            raise ZipProblem(f"member {info.filename!r} expands {info.file_size // info.compress_size}:1 "
                             f"(limit {limits.max_ratio}:1)")
        if info.flag_bits & 0x1:
            protected = True
            members.append(Member(info.filename, info.file_size, b"", True))
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


def _unsafe_name(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


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
