"""DKIM (RFC 6376, RFC 8463 for ed25519) through dkimpy: keys, their DNS records, signing, verification.

Pure functions: DNS comes in as ``dnsfunc(name) -> bytes`` (the TXT record's text, b"" when there is none;
raising ``TemporaryDnsError`` for a lookup that failed), so the engine never opens a socket itself.
"""

from __future__ import annotations

import base64
import functools
import re
import time
from typing import NamedTuple

import dkim

#: The signature algorithms reported as weak (RFC 8301: rsa-sha1 must not be relied on).
_WEAK_HASHES = (b"rsa-sha1",)


@functools.lru_cache(maxsize=1024)
def _public_key(exponent: int, modulus: int):
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.RSAPublicNumbers(exponent, modulus).public_key()


@functools.lru_cache(maxsize=None)
def _openssl_scheme(hash_name: str):
    """(padding, prehashed algorithm, the exception a bad signature raises) for a hash OpenSSL verifies here,
    made once; None for any other (dkimpy's own code checks it)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, utils

    algorithm = {"sha256": hashes.SHA256, "sha1": hashes.SHA1}.get(hash_name)
    return None if algorithm is None else (padding.PKCS1v15(), utils.Prehashed(algorithm()), InvalidSignature)


def _rsa_verify(hash, signature: bytes, public_key: dict) -> bool:
    """RSASSA-PKCS1-v1_5 verification (RFC 8017 8.2.2) by OpenSSL, where dkimpy does it in Python: the same
    answer (tests/test_dkim.py checks both on valid and broken signatures), a fifth of the time."""
    scheme = _openssl_scheme(hash.name)
    if scheme is None:
        return dkim.crypto.RSASSA_PKCS1_v1_5_verify(hash, signature, public_key)
    pad, prehashed, invalid = scheme
    try:
        _public_key(public_key["publicExponent"], public_key["modulus"]).verify(signature, hash.digest(), pad,
                                                                               prehashed)
        return True
    except (invalid, ValueError):
        return False


dkim.RSASSA_PKCS1_v1_5_verify = _rsa_verify


# dkimpy spends most of a verification on work the same for every message of a sender, or on regexes that
# change nothing in most messages. The same answers, sooner (tests/test_dkim_verifier.py checks each against
# dkimpy's own on generated inputs):

@functools.lru_cache(maxsize=1024)
def _evaluated_key(name, record):
    return dkim.evaluate_pk(name, record)


def _load_pk_from_dns(name, dnsfunc=None, timeout=5):
    """A key record parsed once (dkimpy parses its ASN.1 in Python for every message); errors are not kept."""
    return _evaluated_key(name, dnsfunc(name, timeout=timeout))


dkim.load_pk_from_dns = _load_pk_from_dns

#: dkimpy's RE_BTAG tries FWS before every character of the b= value; this is the same language (FWS is any
#: run of white space) matched a run at a time: the same matches, a tenth of the time.
dkim.RE_BTAG = re.compile(rb"([;\s]b\s*=)[a-zA-Z0-9+/=]*(?:\s+[a-zA-Z0-9+/=]+)*(?:\r?\n\Z)?")

_canonical = dkim.canonicalization
_compress_whitespace = _canonical.compress_whitespace
_strip_trailing_whitespace = _canonical.strip_trailing_whitespace
_unfold_header_value = _canonical.unfold_header_value


def _compress(content: bytes) -> bytes:
    return _compress_whitespace(content) if b"\t" in content or b"  " in content else content


def _strip_trailing(content: bytes) -> bytes:
    return _strip_trailing_whitespace(content) if b" \r\n" in content or b"\t\r\n" in content else content


def _unfold(content: bytes) -> bytes:
    # Every line end out, with the CR before it (a lone CR stays): the regex \r?\n, by two plain replaces.
    return content.replace(b"\r\n", b"").replace(b"\n", b"")


_canonical.compress_whitespace = _compress
_canonical.strip_trailing_whitespace = _strip_trailing
_canonical.unfold_header_value = _unfold


_rfc822_parse = dkim.rfc822_parse
#: A field's start: a line end not followed by white space (a folded line belongs to the field above it).
_FIELD_START = re.compile(rb"\r\n(?![ \t])")
_FIELD_NAME = re.compile(rb"[\x21-\x7e]+")


def _rfc822(message: bytes):
    """dkimpy's rfc822_parse splits the whole message at every line end and joins the body again; with CRLF line
    ends only (all the relay accepts) the head alone is split, a field at a time, and the body is the rest as it
    is. Anything else, or a head this cannot read alone, is dkimpy's to parse (and to refuse in its words)."""
    if message.count(b"\n") != message.count(b"\r\n"):
        return _rfc822_parse(message)
    if message.startswith(b"\r\n"):
        return [], message[2:]
    end = message.find(b"\r\n\r\n")
    head, body = (message, b"") if end < 0 else (message[:end], message[end + 4:])
    if head.endswith(b"\r\n"):  # a message that is all head, ending in one line end
        head = head[:-2]
    headers: list = []
    for field in _FIELD_START.split(head):
        colon = field.find(b":")
        if colon <= 0 or _FIELD_NAME.fullmatch(field, 0, colon) is None:
            return _rfc822_parse(message)  # a "From " line, a continuation first, a line without a name
        headers.append([field[:colon], field[colon + 1:] + b"\r\n"])
    return headers, body


_TAG_NAME = re.compile(rb"[a-zA-Z]")


def _parse_tag_value(tag_list: bytes) -> dict:
    """dkimpy's parse_tag_value with its tag-name regex compiled once (it looked it up in re's cache for each
    tag of each signature and key)."""
    tags = {}
    specs = tag_list.strip().split(b";")
    if not specs[-1]:  # a trailing semicolon is allowed
        specs.pop()
    for spec in specs:
        key, equals, value = spec.partition(b"=")
        if not equals:
            raise dkim.util.InvalidTagSpec(spec)
        key = key.strip()
        if _TAG_NAME.match(key) is None:
            raise dkim.util.InvalidTagSpec(spec)
        if key in tags:
            raise dkim.util.DuplicateTag(key)
        tags[key] = value.strip()
    return tags


dkim.rfc822_parse = _rfc822
dkim.parse_tag_value = _parse_tag_value


class TemporaryDnsError(Exception):
    """The key could not be fetched now (timeout, SERVFAIL): a temperror, not a fail."""


class LookupDeferred(Exception):
    """Raised by a dnsfunc that only answers from a cache: verify() lets it through, for a caller that then
    verifies again where DNS may wait."""


def generate(kind: str, bits: int = 2048) -> str:
    """A new private key in dkimpy's form: PEM (PKCS#8) for RSA, the base64 32-byte seed for ed25519."""
    if kind == "ed25519":
        import nacl.signing

        return base64.b64encode(bytes(nacl.signing.SigningKey.generate())).decode()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def check_private(kind: str, text: str) -> int:
    """The key's size in bits when ``text`` is a usable private key of ``kind``; ValueError says why not."""
    if kind == "ed25519":
        try:
            seed = base64.b64decode(text.strip(), validate=True)
        except ValueError:
            raise ValueError("an ed25519 key is the base64 of its 32-byte seed") from None
        if len(seed) != 32:
            raise ValueError("an ed25519 key is the base64 of its 32-byte seed")
        return 256
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"not a PEM private key without a passphrase ({e})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    if key.key_size < 1024:
        raise ValueError(f"an RSA key of {key.key_size} bits is too short (at least 1024)")
    return key.key_size


def public_record(kind: str, private: str) -> str:
    """The TXT record to publish at SELECTOR._domainkey.DOMAIN: "v=DKIM1; k=rsa; p=..."."""
    if kind == "ed25519":
        import nacl.signing

        seed = base64.b64decode(private)
        public = bytes(nacl.signing.SigningKey(seed).verify_key)
        return f"v=DKIM1; k=ed25519; p={base64.b64encode(public).decode()}"
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private.encode(), password=None)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def zone_lines(selector: str, domain: str, record: str) -> str:
    """The record as a zone file line, in strings of at most 255 characters (RFC 1035 character-strings)."""
    parts = [record[i:i + 255] for i in range(0, len(record), 255)]
    return f'{selector}._domainkey.{domain}. IN TXT ( ' + " ".join(f'"{p}"' for p in parts) + " )"


def sign(message: bytes, domain: str, selector: str, kind: str, private: str, headers: tuple[str, ...],
         canonicalization: str) -> bytes:
    """The DKIM-Signature header field (with its CRLF) for ``message``; prepend it to send the message signed."""
    header, _, body = canonicalization.partition("/")
    signed = [h.encode() for h in headers if h.lower() in _present(message)] or [b"from"]
    key = private.encode() if kind == "rsa" else private.strip().encode()
    out = dkim.sign(message, selector.encode(), domain.encode(), key, include_headers=signed,
                    canonicalize=(header.encode(), body.encode()),
                    signature_algorithm=b"ed25519-sha256" if kind == "ed25519" else b"rsa-sha256")
    return out if out.endswith(b"\r\n") else out.replace(b"\n", b"\r\n")


def _present(message: bytes) -> set[str]:
    head = message.split(b"\r\n\r\n", 1)[0]
    return {line.split(b":", 1)[0].strip().decode("ascii", "replace").lower()
            for line in head.split(b"\r\n") if line[:1] not in (b" ", b"\t") and b":" in line}


class SignatureResult(NamedTuple):
    """One DKIM-Signature's result (RFC 8601 words: pass, fail, neutral, temperror, permerror). A named tuple:
    the verifier process's answers cross to the loop pickled, and a tuple is the cheapest thing to unpickle."""

    result: str
    domain: str = ""
    selector: str = ""
    identity: str = ""
    algorithm: str = ""
    key_bits: int = 0
    reason: str = ""

    @property
    def weak(self) -> bool:
        return self.algorithm.encode() in _WEAK_HASHES


#: dkimpy's own leeway for x= and t= (10 hours): a profile's clock skew can only be shorter.
DKIMPY_SKEW = 36000
#: The longest RSA key OpenSSL verifies at all.
OPENSSL_MAX_KEY_BITS = 16384


def verify(message: bytes, dnsfunc, max_signatures: int = 5, min_key_bits: int = 1024,
           max_key_bits: int = OPENSSL_MAX_KEY_BITS, clock_skew: int = DKIMPY_SKEW,
           body_length: bool = True) -> list[SignatureResult]:
    """Every DKIM-Signature of ``message`` (at most ``max_signatures``), each with its result. Malformed
    signatures, huge l= values and keys too short or too long are results, never exceptions. ``clock_skew``:
    the seconds an expired signature (x=) or one stamped in the future (t=) is still taken; ``body_length``
    False: a body longer than its l= fails (True: the pass says "partially verified [N bytes]")."""
    try:
        d = dkim.DKIM(message, minkey=min_key_bits)
    except Exception as e:  # a message dkimpy cannot even split
        return [SignatureResult("permerror", reason=f"unreadable message ({type(e).__name__})")]
    count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
    out = []
    for i in range(min(count, max_signatures)):
        d.signature_fields = None
        result, reason, bits = _verified(d, i, dnsfunc, min_key_bits, max_key_bits)
        # dkimpy parsed the signature's tags on its way (a second parse cost a tenth of a verification); when it
        # stopped before, they are parsed here.
        tags = d.signature_fields if isinstance(d.signature_fields, dict) else _tags(d, i)
        if result == "pass":
            result, reason = _profile_checks(tags, d.body, clock_skew, body_length)
        domain = tags.get(b"d", b"").decode("ascii", "replace")
        out.append(SignatureResult(
            result, domain=domain, selector=tags.get(b"s", b"").decode("ascii", "replace"),
            # i= defaults to "@" and the signing domain (RFC 6376 3.5)
            identity=tags.get(b"i", b"").decode("ascii", "replace") or (f"@{domain}" if domain else ""),
            algorithm=tags.get(b"a", b"").decode("ascii", "replace"), key_bits=bits, reason=reason))
    return out


_H_SEPARATOR = re.compile(rb"\s*:\s*")


def _profile_checks(sig: dict, body: bytes, clock_skew: int, body_length: bool) -> tuple[str, str]:
    """(result, reason) of a signature dkimpy passed, under a verification profile's clock skew and body length
    rule (the same words from verify() and passes())."""
    now = int(time.time())
    x, t = sig.get(b"x", b""), sig.get(b"t", b"")
    if x.isdigit() and int(x) + clock_skew < now:
        return "permerror", f"signature expired (x={x.decode()})"
    if t.isdigit() and int(t) > now + clock_skew:
        return "permerror", f"signature timestamp in the future (t={t.decode()})"
    length = sig.get(b"l", b"")
    if length.isdigit():
        policy = dkim.CanonicalizationPolicy.from_c_value(sig.get(b"c", b"simple/simple"))
        if int(length) < len(policy.canonicalize_body(body)):
            if not body_length:
                return "fail", "body length limit (l=) not used: the body is longer than signed"
            return "pass", f"partially verified [{int(length)} bytes]"
    return "pass", ""


def passes(message: bytes, keys: dict[str, bytes], max_signatures: int = 5, min_key_bits: int = 1024,
           max_key_bits: int = OPENSSL_MAX_KEY_BITS, clock_skew: int = DKIMPY_SKEW,
           body_length: bool = True) -> list[SignatureResult] | None:
    """The signatures' results when every one checked is a pass, else None: then ``verify`` gives each its result
    and reason.

    A pass is what dkimpy's verify_sig_process answers, by its own steps (tag checks, canonicalisation policy,
    header selection with the extra From, body and header hashes, the key's checks) on the message split once:
    its DKIM object would split and canonicalise every header field again for each signature, log each step and
    build a logger, a third of a verification, which for the usual signed message is spent on the event loop.
    ``keys``: each key record by its lowercased DNS name, as the loop holds them in its cache; a key not
    given is None too (tests/test_dkim_verifier.py checks every answer against ``verify``).
    """
    try:
        headers, body = _rfc822(message)
    except dkim.MessageFormatError:
        return None
    signatures = [field for field in headers if field[0].lower() == b"dkim-signature"][:max_signatures]
    out = []
    for field in signatures:
        try:
            result = _pass(field, headers, body, keys, min_key_bits, max_key_bits, clock_skew, body_length)
        except Exception:  # whatever the reason, verify() tells it with dkimpy's words
            return None
        if result is None:
            return None
        out.append(result)
    return out or None


def _pass(field, headers, body, keys, min_key_bits, max_key_bits, clock_skew, body_length) -> SignatureResult | None:
    sig = dkim.parse_tag_value(field[1])
    dkim.validate_signature_fields(sig)
    name = sig[b"s"] + b"._domainkey." + sig[b"d"]
    record = keys.get(name.decode("ascii").lower().rstrip("."))
    if record is None:
        return None
    pk, bits, kind, tlsrpt = _evaluated_key(name + b".", record)  # the name as dkimpy asks for it
    if tlsrpt or kind not in (b"rsa", b"ed25519") or (kind == b"rsa" and not min_key_bits <= bits <= max_key_bits):
        return None
    policy = dkim.CanonicalizationPolicy.from_c_value(sig.get(b"c", b"simple/simple"))
    hasher = dkim.HASH_ALGORITHMS[sig[b"a"]]
    hashed_body = policy.canonicalize_body(body)
    if b"l" in sig:
        hashed_body = hashed_body[:int(sig[b"l"])]
    if hasher(hashed_body).digest() != base64.b64decode(b"".join(sig[b"bh"].split())):
        return None
    include = [name.lower() for name in _H_SEPARATOR.split(sig[b"h"])]
    if b"from" in include:  # dkimpy's guard against a second From (its bug 644046)
        include.append(b"from")
    # dkimpy canonicalises every field and then selects; the fields are selected first here (a name read by
    # _rfc822 has no white space, so canonicalising it changes only its case, which selection ignores).
    signed = policy.canonicalize_headers(dkim.select_headers(headers, include))
    (name, value), = policy.canonicalize_headers([(field[0], dkim.RE_BTAG.sub(b"\\1", field[1]))])
    h = hasher(b"".join(x + b":" + y for x, y in signed) + name + b":" + value.rstrip())
    signature = base64.b64decode(b"".join(sig[b"b"].split()))  # bytes.split(): the white space of \s
    if kind == b"rsa":
        if not dkim.RSASSA_PKCS1_v1_5_verify(h, signature, pk):
            return None
    else:
        pk.verify(h.digest(), signature)  # raises when it does not verify
    result, reason = _profile_checks(sig, body, clock_skew, body_length)
    if result != "pass":
        return None
    domain = sig[b"d"].decode("ascii")
    return SignatureResult("pass", domain=domain, selector=sig[b"s"].decode("ascii", "replace"),
                           identity=sig.get(b"i", b"").decode("ascii", "replace") or f"@{domain}",
                           algorithm=sig[b"a"].decode("ascii", "replace"), key_bits=bits, reason=reason)


class _KeyTooLong(Exception):
    pass


def _verified(d, i: int, dnsfunc, min_key_bits: int, max_key_bits: int) -> tuple[str, str, int]:
    """(result, reason, key bits) of signature ``i``."""
    fetched: list[bytes] = []

    def lookup(name, timeout=5):
        fetched.append(_txt(dnsfunc, name))
        try:  # a key too long is refused before its RSA check (its cost grows with its size)
            _, bits, kind, _ = _evaluated_key(name if isinstance(name, bytes) else name.encode(), fetched[-1])
        except Exception:
            return fetched[-1]  # dkimpy tells what is wrong with it
        if kind == b"rsa" and bits > max_key_bits:
            raise _KeyTooLong(bits)
        return fetched[-1]

    try:
        ok = d.verify(idx=i, dnsfunc=lookup)
    except LookupDeferred:
        raise
    except _KeyTooLong as e:
        return "permerror", f"key of {e.args[0]} bits, longer than {max_key_bits}", e.args[0]
    except TemporaryDnsError as e:
        return "temperror", str(e) or "key lookup failed", 0
    except dkim.KeyFormatError as e:
        return "permerror", f"bad key: {e}", 0
    except dkim.ValidationError as e:
        # The signature is well formed but the message changed under it: a fail (RFC 8601 2.7.1).
        return "fail" if "hash mismatch" in str(e) else "permerror", str(e).split(" (got", 1)[0], 0
    except dkim.DKIMException as e:
        return "permerror", str(e), 0
    except Exception as e:  # hostile input must be a result, whatever dkimpy raised
        return "permerror", f"{type(e).__name__}: {e}", 0
    bits = int(getattr(d, "keysize", 0) or 0)
    if not ok and fetched and not fetched[-1].strip():
        return "permerror", "no key published for the selector", 0
    if not ok and 0 < bits < min_key_bits:  # dkimpy refuses short keys without saying so
        return "permerror", f"key of {bits} bits, shorter than {min_key_bits}", bits
    return ("pass", "", bits) if ok else ("fail", "signature verification failed", bits)


def _tags(d, i: int) -> dict:
    sigs = [value for name, value in d.headers if name.lower() == b"dkim-signature"]
    try:
        return dkim.util.parse_tag_value(sigs[i]) if i < len(sigs) else {}
    except Exception:
        return {}


def _txt(dnsfunc, name) -> bytes:
    text = dnsfunc(name.decode("ascii", "replace") if isinstance(name, bytes) else name)
    return text if isinstance(text, bytes) else text.encode()
