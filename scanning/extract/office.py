"""Encrypted Office files: OOXML agile and standard, legacy .doc/.xls/.ppt (RC4, RC4 CryptoAPI, XOR).

msoffcrypto-tool parses the containers and decrypts. Agile passphrase
trials are our own code: the library derives the key twice per trial (once
to make the key, once to verify) in a pure-Python loop, and a hostile file
can ask for ten million spins. Here the spin count is checked against the
bound before any work, the key is derived once, and the hash loop runs in C
when the ``_spin`` extension is built (``spin.py``).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from .spin import iterate_hash
from .unlock import NOT_OPENED, Unlocker

_BLOCK_VERIFIER_INPUT = bytes((0xFE, 0xA7, 0xD2, 0x76, 0x3B, 0x4B, 0x9E, 0x79))
_BLOCK_VERIFIER_VALUE = bytes((0xD7, 0xAA, 0x0F, 0x6D, 0x30, 0x61, 0x34, 0x4E))
_BLOCK_KEY_VALUE = bytes((0x14, 0x6E, 0x0B, 0xE7, 0xAB, 0xAC, 0xD0, 0xD6))
_HASHES = {"SHA512": "sha512", "SHA384": "sha384", "SHA256": "sha256", "SHA1": "sha1", "SHA-1": "sha1",
           "MD5": "md5"}


class OfficeProblem(Exception):
    """The file cannot be opened (damaged, unsupported, over a bound, or no passphrase fits)."""


@dataclass(frozen=True)
class Unlocked:
    plain: bytes
    label: str  # which candidate opened it ("priority 0"); never the passphrase
    method: str  # agile, standard, rc4, rc4cryptoapi, xor


def is_encrypted_ole(data: bytes) -> bool:
    """Legacy Office files carry their encryption flag inside streams: ask the parser.

    A compound file the parser cannot read at all (truncated, damaged) is an
    OfficeProblem: its content cannot be scanned.
    """
    import msoffcrypto
    import olefile

    try:
        ole = olefile.OleFileIO(data)
        ole.close()
    except Exception as e:
        raise OfficeProblem(f"damaged Office file ({type(e).__name__})") from None
    try:
        return bool(msoffcrypto.OfficeFile(io.BytesIO(data)).is_encrypted())
    except Exception:  # a compound file msoffcrypto has no format for (msg, an embedded object): not encrypted
        return False


def unlock(data: bytes, unlocker: Unlocker, max_spin: int) -> Unlocked:
    import msoffcrypto

    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        kind = getattr(office, "type", None)
        info = getattr(office, "info", None)
    except Exception as e:
        raise OfficeProblem(f"damaged Office file ({type(e).__name__})") from None
    if kind == "agile":
        return _unlock_agile(office, info, unlocker, max_spin)
    if kind == "standard":
        return _unlock_with_library(office, unlocker, "standard", 0.06)
    if kind in ("plain", "extensible"):
        raise OfficeProblem(f"Office encryption type {kind!r} is not supported yet")
    return _unlock_with_library(office, unlocker, _legacy_method(office), 0.002)


def _legacy_method(office) -> str:
    name = type(office).__name__.lower()
    return {"doc97file": "doc", "xls97file": "xls", "ppt97file": "ppt"}.get(name, name)


def _unlock_with_library(office, unlocker: Unlocker, method: str, cost: float) -> Unlocked:
    from msoffcrypto.exceptions import InvalidKeyError

    for label, passphrase in unlocker.attempts(cost):
        try:
            if method == "standard":
                office.load_key(password=passphrase, verify_password=True)
            else:
                office.load_key(password=passphrase)
        except InvalidKeyError:
            continue
        except Exception as e:  # the library could not read what it needs: the file, not the passphrase
            raise OfficeProblem(f"damaged Office file ({type(e).__name__}: {str(e)[:80]})") from None
        return Unlocked(_decrypt(office), label, method)
    raise OfficeProblem(NOT_OPENED)


def _decrypt(office) -> bytes:
    out = io.BytesIO()
    try:
        office.decrypt(out)
    except Exception as e:
        raise OfficeProblem(f"decryption failed ({type(e).__name__}: {str(e)[:80]})") from None
    return out.getvalue()


def _unlock_agile(office, info: dict, unlocker: Unlocker, max_spin: int) -> Unlocked:
    try:
        spin = int(info["spinValue"])
        algorithm = _HASHES[str(info["passwordHashAlgorithm"]).upper()]
        salt = info["passwordSalt"]
        key_bytes = int(info["passwordKeyBits"]) // 8
        verifier_input = info["encryptedVerifierHashInput"]
        verifier_value = info["encryptedVerifierHashValue"]
        key_value = info["encryptedKeyValue"]
    except (KeyError, ValueError, TypeError) as e:
        raise OfficeProblem(f"damaged agile encryption header ({type(e).__name__})") from None
    if spin > max_spin or spin < 0:
        raise OfficeProblem(f"key derivation asks for {spin} spins (limit {max_spin})")
    if key_bytes not in (16, 24, 32):
        raise OfficeProblem(f"unsupported key size {key_bytes * 8} bits")
    cost = spin * 0.4e-6  # about the C loop's speed; a trial that cannot finish is not begun
    for label, passphrase in unlocker.attempts(cost):
        h = hashlib.new(algorithm, salt + passphrase.encode("utf-16-le")).digest()
        h = iterate_hash(algorithm, h, spin)
        k1, k2, k3 = (_final_key(algorithm, h, block, key_bytes)
                      for block in (_BLOCK_VERIFIER_INPUT, _BLOCK_VERIFIER_VALUE, _BLOCK_KEY_VALUE))
        actual = hashlib.new(algorithm, _aes_cbc(k1, salt, verifier_input)).digest()
        expected = _aes_cbc(k2, salt, verifier_value)[:len(actual)]
        if actual != expected:
            continue
        secret = _aes_cbc(k3, salt, key_value)[:key_bytes]
        office.load_key(secret_key=secret)
        return Unlocked(_decrypt(office), label, "agile")
    raise OfficeProblem(NOT_OPENED)


def _final_key(algorithm: str, h: bytes, block: bytes, size: int) -> bytes:
    key = hashlib.new(algorithm, h + block).digest()[:size]
    return key + b"\x36" * (size - len(key))


def _aes_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = (iv + b"\x00" * 16)[:16]
    data = data[: len(data) - len(data) % 16]
    d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return d.update(data) + d.finalize()
