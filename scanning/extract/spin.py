"""The iterated hash of Office key derivation: h = H(LE32(i) || h), i = 0 .. n-1.

The C version (``_spin``, built by ``pip install``) is used for SHA-512,
the hash every Office since 2010 writes; other hashes, or a machine where
the extension was not built, take the Python loop. ``IMPLEMENTATION`` says
which one runs (the benchmark prints it).
"""

from __future__ import annotations

import hashlib
import struct

try:
    from ._spin import sha512_spin
    IMPLEMENTATION = "C"
except ImportError:  # no compiler at install time: the same loop in Python, slower
    sha512_spin = None
    IMPLEMENTATION = "Python"


def iterate_hash(algorithm: str, digest: bytes, count: int) -> bytes:
    if algorithm == "sha512" and sha512_spin is not None:
        return sha512_spin(digest, count)
    new = getattr(hashlib, algorithm)
    pack = struct.Struct("<I").pack
    for i in range(count):
        digest = new(pack(i) + digest).digest()
    return digest
