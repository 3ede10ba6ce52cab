"""Certificates, certificate authorities and the TLS methods and ciphers (certconfig, sslconfig)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .fields import ConfigError, Record, Secret, Section
from .validators import check_name, check_unique


def check_pem(text: str, kind: str, field_name: str) -> None:
    """A light shape check (the full parse is certconfig's, where the error can be explained)."""
    if f"-----BEGIN {kind}" not in text or f"-----END {kind}" not in text:
        raise ConfigError(f"not a PEM {kind.lower()}", field_name)


@dataclass(frozen=True)
class Certificate(Record):
    """A certificate with its private key (sealed at rest): the leaf first, then intermediates, in PEM."""

    name: str
    certificate: str
    private_key: Secret
    #: server (TLS) or smime (a self-signed S/MIME certificate)
    kind: str = "server"

    def validate(self) -> None:
        check_name(self.name, "name", "certificate name")
        check_pem(self.certificate, "CERTIFICATE", "certificate")
        if self.kind not in ("server", "smime"):
            raise ConfigError("kind must be server or smime", "kind")


@dataclass(frozen=True)
class CustomCa(Record):
    name: str
    certificate: str

    def validate(self) -> None:
        check_name(self.name, "name", "certificate authority name")
        check_pem(self.certificate, "CERTIFICATE", "certificate")


@dataclass(frozen=True)
class CertificatesSection(Section):
    """certconfig: certificates with their keys, and the custom and system certificate authority lists."""

    name: ClassVar[str] = "certificates"
    title: ClassVar[str] = "Certificates and certificate authorities"

    certificates: tuple[Certificate, ...] = field(default=(), metadata={"item": "certificate"})
    custom_cas: tuple[CustomCa, ...] = field(default=(), metadata={"item": "authority"})
    custom_ca_enabled: bool = True
    system_ca_enabled: bool = True

    def validate(self) -> None:
        check_unique((c.name.lower() for c in self.certificates), "certificates", "certificate name")
        check_unique((c.name.lower() for c in self.custom_cas), "custom_cas", "certificate authority name")

    def get(self, name: str) -> Certificate | None:
        return next((c for c in self.certificates if c.name.lower() == name.lower()), None)


#: TLS versions sslconfig offers, in the ssl module's names.
TLS_VERSIONS = ("TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def check_tls_methods(value: str, field_name: str) -> None:
    methods = value.split()
    if not methods:
        raise ConfigError("choose at least one TLS version", field_name)
    for m in methods:
        if m not in TLS_VERSIONS:
            raise ConfigError(f"{m!r} is not one of {', '.join(TLS_VERSIONS)}", field_name)
    positions = sorted(TLS_VERSIONS.index(m) for m in methods)
    if positions != list(range(positions[0], positions[-1] + 1)):
        raise ConfigError("the TLS versions must be a contiguous range (for example TLSv1.2 TLSv1.3)", field_name)


@dataclass(frozen=True)
class SslSection(Section):
    """sslconfig: TLS versions and ciphers per side, and validation of peer certificates."""

    name: ClassVar[str] = "ssl"
    title: ClassVar[str] = "TLS methods, ciphers and peer certificate validation"

    inbound_methods: str = "TLSv1.2 TLSv1.3"
    inbound_ciphers: str = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:!aNULL:!eNULL:!MD5"
    outbound_methods: str = "TLSv1.2 TLSv1.3"
    outbound_ciphers: str = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:!aNULL:!eNULL:!MD5"
    #: The peer certificate must name the host connected to (SAN dNSName; CN only without SAN).
    peer_cert_fqdn: bool = False
    #: The peer certificate chain must verify to the system or custom CA list, in its validity, for its purpose.
    peer_cert_x509: bool = False

    def validate(self) -> None:
        for f in ("inbound_methods", "outbound_methods"):
            check_tls_methods(getattr(self, f), f)
        for f in ("inbound_ciphers", "outbound_ciphers"):
            value = getattr(self, f)
            if not value or any(c.isspace() for c in value) or len(value) > 1000:
                raise ConfigError("an OpenSSL cipher list without spaces", f)

    def commit_check(self) -> None:
        for f in ("inbound_ciphers", "outbound_ciphers"):
            check_cipher_list(getattr(self, f), getattr(self, f.replace("ciphers", "methods")), f)


def check_cipher_list(ciphers: str, methods: str, field_name: str) -> None:
    """Build the context the gateway would build: a list OpenSSL refuses, or one that cannot serve a
    listed TLS version, is refused at commit rather than found when a listener or a delivery needs it."""
    import ssl

    old = [m for m in methods.split() if m in ("TLSv1.0", "TLSv1.1")]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        # OpenSSL 3 serves TLS 1.0/1.1 only at security level 0 (as the listeners set it).
        ctx.set_ciphers(ciphers + (":@SECLEVEL=0" if old else ""))
    except ssl.SSLError as e:
        reason = getattr(e, "reason", None) or (e.args[0] if e.args else str(e))
        raise ConfigError(f"OpenSSL refuses the cipher list {ciphers!r}: {reason}", field_name) from None
    tls12 = [c for c in ctx.get_ciphers() if c["protocol"] not in ("TLSv1.3",)]
    if not tls12 and any(m != "TLSv1.3" for m in methods.split()):
        raise ConfigError(f"no cipher of {ciphers!r} serves {', '.join(m for m in methods.split() if m != 'TLSv1.3')}"
                          " (TLS 1.3 suites are configured apart)", field_name)
    if old and not any(c["protocol"] in ("TLSv1.0", "SSLv3") for c in tls12):
        raise ConfigError(f"no cipher of {ciphers!r} serves {', '.join(old)}: TLS 1.0 and 1.1 have no AEAD "
                          "ciphers (add CBC ciphers such as ECDHE+AES, or remove the old versions)", field_name)
