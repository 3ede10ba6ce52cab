"""The demonstration certificate: made on first start so STARTTLS works at once.

It is state, not configuration (like the SSH host key): certconfig replaces
it with an imported certificate, and the shell warns while it is in use.
The private key is kept encrypted (PKCS#8 with a passphrase derived from
the configuration key), never in the clear on disk.
"""

from __future__ import annotations

import datetime
import ssl
from dataclasses import dataclass
from pathlib import Path

from asyncos_cli.config.datadir import write_private
from asyncos_cli.config.secrets import Keyring

DEMO_ORG = "Demonstration certificate - replace with certconfig"
_PURPOSE = "demo-certificate-key"


@dataclass(frozen=True)
class DemoCertificate:
    cert: Path
    key: Path

    @classmethod
    def at(cls, state_dir: Path) -> "DemoCertificate":
        return cls(state_dir / "demo-cert.pem", state_dir / "demo-key.pem")

    def exists(self) -> bool:
        return self.cert.exists() and self.key.exists()

    def ensure(self, keyring: Keyring, hostname: str) -> bool:
        """Create the certificate unless it exists; returns True when it was created."""
        if self.exists():
            return False
        cert_pem, key_pem = _make(hostname, keyring.derived_passphrase(_PURPOSE))
        for path, data in ((self.key, key_pem), (self.cert, cert_pem)):
            write_private(path, data)
        return True

    def server_context(self, keyring: Keyring, methods: str = "TLSv1.2 TLSv1.3",
                       ciphers: str = "DEFAULT") -> ssl.SSLContext:
        ctx = apply_tls_settings(ssl.create_default_context(ssl.Purpose.CLIENT_AUTH), methods, ciphers)
        ctx.load_cert_chain(self.cert, self.key, password=keyring.derived_passphrase(_PURPOSE))
        return ctx

    def subject(self) -> str:
        from cryptography import x509

        cert = x509.load_pem_x509_certificate(self.cert.read_bytes())
        return cert.subject.rfc4514_string()

    def key_passphrase(self, keyring: Keyring) -> bytes:
        return keyring.derived_passphrase(_PURPOSE)


def _make(hostname: str, passphrase: bytes) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, hostname),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEMO_ORG),
        ]
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    return cert_pem, key_pem


# ---------------------------------------------------------------- certconfig's certificates

_TLS_KEY_PURPOSE = "listener-tls-key"


class CertificateProblem(ValueError):
    """A certificate or key that cannot be used, with the reason an administrator can act on."""


def fqdn_problem(name: str) -> str | None:
    """Why ``name`` is not a fully qualified domain name, or None. IDN names pass: U-labels are
    converted with idna (IDNA 2008, UTS 46) and A-labels must decode."""
    from asyncos_cli.config.validators import hostname_problem

    name = name.strip()
    if not name:
        return "the name is empty"
    if name.startswith("*."):
        return "a wildcard is not a fully qualified domain name"
    import idna

    try:
        ascii_name = name if name.isascii() else idna.encode(name, uts46=True).decode("ascii")
        for label in ascii_name.split("."):
            if label.lower().startswith("xn--"):
                idna.decode(label)
    except idna.IDNAError as e:
        return f"{name!r} is not a valid internationalised domain name: {e}"
    problem = hostname_problem(ascii_name)
    return f"{name!r}: {problem}" if problem else None


def subject_names(cert_pem: str) -> tuple[list[str], list[str]]:
    """(common names, SAN dNSNames) of the first certificate."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = load_chain(cert_pem)[0]
    cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName)
    except x509.ExtensionNotFound:
        sans = []
    return cns, list(sans)


def check_fqdn(cert_pem: str, which: str = "cn") -> None:
    """The FQDN check of certconfig: ``which`` is cn, san or both."""
    cns, sans = subject_names(cert_pem)
    names = []
    if which in ("cn", "both"):
        if not cns:
            raise CertificateProblem("the certificate has no Common Name to check")
        names += [("Common Name", n) for n in cns]
    if which in ("san", "both"):
        if not sans:
            raise CertificateProblem("the certificate has no SAN dNSName to check")
        names += [("SAN dNSName", n) for n in sans]
    for label, n in names:
        problem = fqdn_problem(n)
        if problem:
            raise CertificateProblem(f"the {label} is not in FQDN format: {problem}")


def load_chain(pem: str):
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as e:
        raise CertificateProblem(f"not a PEM certificate ({e})") from None
    if not certs:
        raise CertificateProblem("no certificate found")
    return certs


def read_bundle(data: bytes, passphrase: str | None) -> tuple[str, str]:
    """(certificate chain PEM, private key PEM) from a PKCS#12 file or PEM text holding both."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    if b"-----BEGIN" not in data:
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase.encode() if passphrase else None)
        except ValueError as e:
            raise CertificateProblem(f"not a PKCS#12 file, or a wrong passphrase ({e})") from None
        if key is None or cert is None:
            raise CertificateProblem("the PKCS#12 file holds no certificate with its private key")
        chain = [cert, *(extra or [])]
        pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain)
        return pem, _key_pem(key)
    text = data.decode("utf-8", "replace")
    last_end = text.rfind("-----END ")
    tail = text[text.find("-----", last_end + 9) + 5:] if last_end >= 0 else ""
    if tail.strip():
        raise CertificateProblem("the file holds text after its last PEM block (a damaged or tampered file)")
    return certificate_blocks(text), key_from_pem(text, passphrase)


def certificate_blocks(text: str) -> str:
    import re

    blocks = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S)
    if not blocks:
        raise CertificateProblem("no PEM certificate found")
    pem = "\n".join(blocks) + "\n"
    load_chain(pem)
    return pem


def key_from_pem(text: str, passphrase: str | None = None) -> str:
    import re

    from cryptography.hazmat.primitives import serialization

    m = re.search(r"-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----.+?-----END \1-----", text, re.S)
    if m is None:
        raise CertificateProblem("no PEM private key found")
    try:
        key = serialization.load_pem_private_key(m.group(0).encode(), passphrase.encode() if passphrase else None)
    except (ValueError, TypeError) as e:
        raise CertificateProblem(f"the private key cannot be read (wrong passphrase?): {e}") from None
    return _key_pem(key)


def _key_pem(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


#: Warned about at import (and by the daily expiry check) this many days before a certificate ends.
EXPIRY_WARNING_DAYS = 30


def servable_problem(cert_pem: str, now: datetime.datetime | None = None) -> str | None:
    """Why a listener must not present this certificate (expired, not yet valid), or None."""
    leaf = load_chain(cert_pem)[0]
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if now < leaf.not_valid_before_utc:
        return f"the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    if now > leaf.not_valid_after_utc:
        return f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    return None


def check_importable(cert_pem: str, allow_expired: bool = False) -> list[str]:
    """Refuse what cannot serve TLS safely; returns warnings (near expiry, kept expired)."""
    from cryptography.hazmat.primitives.asymmetric import dsa, rsa

    leaf = load_chain(cert_pem)[0]
    key = leaf.public_key()
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
        raise CertificateProblem(f"its RSA key has {key.key_size} bits: at least 2048 are required")
    if isinstance(key, dsa.DSAPublicKey):
        raise CertificateProblem("DSA keys are not accepted for TLS: use RSA (2048 bits or more) or ECDSA")
    problem = servable_problem(cert_pem)
    if problem and datetime.datetime.now(datetime.timezone.utc) < leaf.not_valid_before_utc:
        raise CertificateProblem(problem)  # a future certificate is never kept: it would serve later unseen
    if problem:
        if not allow_expired:
            raise CertificateProblem(f"{problem} (--allow-expired keeps it, never served)")
        return [f"Warning: {problem}; it is kept but no listener will present it."]
    left = (leaf.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)).days
    if left < EXPIRY_WARNING_DAYS:
        return [f"Warning: the certificate expires in {left} days ({leaf.not_valid_after_utc:%Y-%m-%d})."]
    return []


def check_pair(cert_pem: str, key_pem: str) -> None:
    from cryptography.hazmat.primitives import serialization

    cert = load_chain(cert_pem)[0]
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise CertificateProblem("the private key does not belong to the certificate")


def make_self_signed(common_name: str, organization: str, unit: str, locality: str, state: str, country: str,
                     days: int, key_size: int, email: str | None = None) -> tuple[str, str]:
    """A self-signed certificate (for TLS, or for S/MIME when ``email`` is given) and its RSA key, in PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    if len(country) != 2 or not country.isalpha():
        raise CertificateProblem("the country must be a two-letter code (for example US)")
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    attrs = [(NameOID.COMMON_NAME, common_name), (NameOID.ORGANIZATION_NAME, organization),
             (NameOID.ORGANIZATIONAL_UNIT_NAME, unit), (NameOID.LOCALITY_NAME, locality),
             (NameOID.STATE_OR_PROVINCE_NAME, state), (NameOID.COUNTRY_NAME, country.upper())]
    if email:
        attrs.append((NameOID.EMAIL_ADDRESS, email))
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in attrs if value])
    now = datetime.datetime.now(datetime.timezone.utc)
    sans: list = [x509.RFC822Name(email)] if email else []
    if not email:
        try:
            import idna

            sans.append(x509.DNSName(common_name if common_name.isascii() else
                                     idna.encode(common_name, uts46=True).decode()))
        except (ValueError, idna.IDNAError):
            pass  # not a host name (the FQDN check was declined): the certificate has no SAN
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
               .add_extension(x509.ExtendedKeyUsage(
                   [ExtendedKeyUsageOID.EMAIL_PROTECTION] if email else
                   [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key)


def to_pkcs12(name: str, cert_pem: str, key_pem: str, passphrase: str) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    chain = load_chain(cert_pem)
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    return pkcs12.serialize_key_and_certificates(name.encode(), key, chain[0], chain[1:] or None,
                                                 serialization.BestAvailableEncryption(passphrase.encode()))


def describe(cert_pem: str) -> list[tuple[str, str]]:
    from cryptography import x509

    chain = load_chain(cert_pem)
    cert = chain[0]
    try:
        sans = ", ".join(str(v.value) for v in cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        sans = "(none)"
    return [("Subject", cert.subject.rfc4514_string()), ("Issuer", cert.issuer.rfc4514_string()),
            ("Valid from", f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"),
            ("Valid until", f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"),
            ("Subject alternative names", sans), ("Serial number", format(cert.serial_number, "x")),
            ("Intermediates", str(len(chain) - 1))]


def expires(cert_pem: str) -> datetime.datetime:
    return load_chain(cert_pem)[0].not_valid_after_utc


def tls_versions(methods: str):
    """(minimum, maximum) ssl.TLSVersion of an sslconfig method list."""
    order = {"TLSv1.0": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1, "TLSv1.2": ssl.TLSVersion.TLSv1_2,
             "TLSv1.3": ssl.TLSVersion.TLSv1_3}
    chosen = [order[m] for m in methods.split()]
    return min(chosen), max(chosen)


def apply_tls_settings(ctx: ssl.SSLContext, methods: str, ciphers: str) -> ssl.SSLContext:
    low, high = tls_versions(methods)
    if low < ssl.TLSVersion.TLSv1_2:
        ctx.set_ciphers(ciphers + ":@SECLEVEL=0")  # OpenSSL 3 refuses TLS 1.0/1.1 at the default level
    else:
        ctx.set_ciphers(ciphers)
    ctx.minimum_version, ctx.maximum_version = low, high
    return ctx


def listener_context(cert_pem: str, key_pem: str, methods: str, ciphers: str, run_dir: Path,
                     key_passphrase: bytes) -> ssl.SSLContext:
    """A server context for a listener: the certificate (with its intermediates) and sslconfig's inbound
    versions and ciphers. The key reaches OpenSSL through a private temporary file, itself encrypted."""
    import os
    import tempfile

    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_pem.encode(), None)
    sealed = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.BestAvailableEncryption(key_passphrase))
    ctx = apply_tls_settings(ssl.create_default_context(ssl.Purpose.CLIENT_AUTH), methods, ciphers)
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, path = tempfile.mkstemp(dir=run_dir, prefix=".tls-", suffix=".pem")
    try:
        os.write(fd, cert_pem.encode() + sealed)
        os.close(fd)
        ctx.load_cert_chain(path, password=key_passphrase)
    finally:
        os.unlink(path)
    return ctx
