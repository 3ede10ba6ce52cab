"""A private PKI for tests: a CA, and server certificates good and bad in every way the failure matrix needs."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    #: Intermediates a server presents after its certificate.
    chain: tuple = ()

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()

    def write(self, folder, stem: str):
        cert, key = folder / f"{stem}.pem", folder / f"{stem}.key"
        cert.write_text(self.cert_pem + "".join(c.public_bytes(serialization.Encoding.PEM).decode()
                                                for c in self.chain))
        key.write_text(self.key_pem)
        return cert, key


def _name(cn: str | None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test PKI")]
    if cn:
        attrs.insert(0, x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def ca(cn: str = "Test Root CA", issuer: Issued | None = None) -> Issued:
    """A root CA, or with ``issuer`` an intermediate signed by it."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_name, signer = (issuer.cert.subject, issuer.key) if issuer else (_name(cn), key)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - DAY)
            .not_valid_after(NOW + 365 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
            .sign(signer, hashes.SHA256()))
    return Issued(cert, key)


def leaf(issuer: Issued | None, cn: str | None = "localhost", sans=("localhost",), days_before: float = 1,
         days_after: float = 30, eku=(ExtendedKeyUsageOID.SERVER_AUTH,), key_cert_sign_only: bool = False) -> Issued:
    """A server certificate; issuer None: self-signed. ``sans``: names and IP strings (empty: no SAN)."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_name = issuer.cert.subject if issuer else _name(cn)
    signer = issuer.key if issuer else key
    b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer_name).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(NOW - days_before * DAY)
         .not_valid_after(NOW + days_after * DAY)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False))
    if sans:
        entries = []
        for s in sans:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                entries.append(x509.DNSName(s))
        b = b.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if key_cert_sign_only:
        b = b.add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=False,
                                          content_commitment=False, key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
    chain = (issuer.cert, *issuer.chain) if issuer is not None and issuer.cert.subject != issuer.cert.issuer else ()
    return Issued(b.sign(signer, hashes.SHA256()), key, chain)


def serve_https(handler, issued: Issued, folder, stem: str):
    """A threading HTTP server with ``handler`` over TLS with ``issued`` on a free port: (server, base URL)."""
    import http.server
    import ssl
    import threading

    cert, key = issued.write(folder, stem)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"https://127.0.0.1:{server.server_address[1]}"
