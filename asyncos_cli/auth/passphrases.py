"""Passphrase hashing: scrypt from the standard library, never a stored passphrase.

Format: ``scrypt$n$r$p$salt_b64$hash_b64``. The parameters travel with the
hash so they can be raised later without invalidating stored hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

_N, _R, _P = 2**14, 8, 1

#: What an unknown account's passphrase is checked against, so that it costs what a known one does: the same
#: parameters, a digest no passphrase gives. (Hashing a passphrase at import cost every process 60 ms.)
DUMMY_HASH = f"scrypt${_N}${_R}${_P}${base64.b64encode(bytes(16)).decode()}${base64.b64encode(bytes(32)).decode()}"


def hash_passphrase(passphrase: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_passphrase(passphrase: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            passphrase.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)
