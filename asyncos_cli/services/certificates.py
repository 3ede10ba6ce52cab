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

    def server_context(self, keyring: Keyring) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
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
