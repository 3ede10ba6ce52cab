"""Peer certificate validation: one function for every TLS client of the gateway.

sslconfig's two switches decide what is checked:

- x509 (PEER_CERT_X509): the chain verifies to the system or custom CA list
  (cryptography's X.509 path validation), every certificate is within its
  validity period, and the leaf may serve TLS servers (serverAuth, when it has
  an extended key usage at all);
- FQDN (PEER_CERT_FQDN): the leaf names the host connected to: its SAN
  dNSNames (a wildcard covers one leftmost label), or its CN only when it has
  no SAN at all (RFC 6125); an IP host matches a SAN iPAddress. IDN hosts are
  compared as A-labels (idna).

A failure is a short reason a log line can carry: expired, not yet valid,
wrong host, self-signed, unknown issuer, unsuitable purpose.

The intermediates a server sends take part in path building (most public MX
hosts send leaf + intermediate and are trusted through a root only), as do
intermediates in the custom CA list. Python 3.11 has no public call for the
chain a server sent; ``sent_chain`` reads it where the interpreter has the
private one (3.10 to 3.12; public from 3.13).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from functools import lru_cache

SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@dataclass(frozen=True)
class PeerPolicy:
    fqdn: bool
    x509: bool
    #: PEM blocks of the custom CA list (roots and intermediates), when enabled.
    custom_cas: tuple[str, ...] = ()
    system_cas: bool = True

    @property
    def checks_anything(self) -> bool:
        return self.fqdn or self.x509

    @classmethod
    def from_config(cls, config, force: bool = False) -> "PeerPolicy":
        """sslconfig's switches; ``force`` (a destination's required-verify) turns both on."""
        certs = config.certificates
        return cls(fqdn=force or config.ssl.peer_cert_fqdn, x509=force or config.ssl.peer_cert_x509,
                   custom_cas=tuple(c.certificate for c in certs.custom_cas) if certs.custom_ca_enabled else (),
                   system_cas=certs.system_ca_enabled)


class PeerRejected(Exception):
    """The peer's certificate failed a check; ``reason`` is one of the short reasons above."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def sent_chain(ssl_object) -> list[bytes]:
    """The certificates the peer sent after its leaf (DER), as it sent them; [] when unknown."""
    getter = getattr(ssl_object, "get_unverified_chain", None)
    if getter is None:
        getter = getattr(getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None)
    if getter is None:
        return []
    try:
        chain = getter() or []
    except (ValueError, AttributeError):  # no handshake, or a chain OpenSSL could not give
        return []
    import _ssl

    return [c.public_bytes(_ssl.ENCODING_DER) if not isinstance(c, bytes) else c for c in chain[1:]]


def verify_peer(leaf_der: bytes | None, host: str, policy: PeerPolicy, now: datetime.datetime | None = None,
                chain: list[bytes] | tuple[bytes, ...] = ()) -> None:
    """Raise PeerRejected unless the certificate passes what ``policy`` asks for.

    ``chain``: the intermediates the peer sent (DER), used to build the path, never trusted alone."""
    if not policy.checks_anything:
        return
    if not leaf_der:
        raise PeerRejected("no certificate", "the server sent none")
    from cryptography import x509

    try:
        leaf = x509.load_der_x509_certificate(leaf_der)
    except ValueError as e:
        raise PeerRejected("unreadable certificate", str(e)) from None
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if policy.x509:
        sent = []
        for der in chain:
            try:
                sent.append(x509.load_der_x509_certificate(der))
            except ValueError:
                continue  # a broken extra certificate does not matter if the path builds without it
        _check_chain(leaf, policy, now, sent)
    if policy.fqdn:
        check_names(leaf, host)


def _check_chain(leaf, policy: PeerPolicy, now, sent=()) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID
    from cryptography.x509.verification import VerificationError

    if now < leaf.not_valid_before_utc:
        raise PeerRejected("not yet valid", f"valid from {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    if now > leaf.not_valid_after_utc:
        raise PeerRejected("expired", f"expired {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.SERVER_AUTH not in eku and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku:
            raise PeerRejected("unsuitable purpose", "the certificate is not for TLS servers (no serverAuth)")
    except x509.ExtensionNotFound:
        pass
    try:
        ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        if not (ku.digital_signature or ku.key_encipherment or ku.key_agreement):
            raise PeerRejected("unsuitable purpose", "the certificate's key usage does not allow TLS "
                                                     "(a certificate authority's key: keyCertSign only)")
    except x509.ExtensionNotFound:
        pass
    roots, intermediates = _anchors(policy)
    intermediates = [*intermediates, *(c for c in sent if c != leaf)]
    if leaf.issuer == leaf.subject and not any(r == leaf for r in roots):
        raise PeerRejected("self-signed", leaf.subject.rfc4514_string())
    if not roots:
        raise PeerRejected("unknown issuer", "both certificate authority lists are disabled")
    verifier = _chain_verifier(roots, now)
    try:
        verifier.verify(leaf, intermediates)
    except VerificationError as e:
        text = str(e)
        if "expired" in text or "not yet valid" in text or "validity" in text:
            raise PeerRejected("expired", text) from None
        raise PeerRejected("unknown issuer", f"{leaf.issuer.rfc4514_string()} ({text})") from None


def _chain_verifier(roots, now):
    """A path verifier that does not look at names (the FQDN check is separate and follows RFC 6125's
    CN rule, which the Web PKI profile does not): client verification with an end-entity policy that
    takes any extended key usage (checked above) and no SAN."""
    from cryptography import x509
    from cryptography.x509.verification import (
        Criticality,
        ExtensionPolicy,
        PolicyBuilder,
        Store,
    )

    ee = (ExtensionPolicy.webpki_defaults_ee()
          .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None)
          .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None))
    return (PolicyBuilder().store(Store(roots)).time(now)
            .extension_policies(ee_policy=ee, ca_policy=ExtensionPolicy.webpki_defaults_ca())
            .build_client_verifier())


def _anchors(policy: PeerPolicy):
    roots, intermediates = [], []
    for pem in policy.custom_cas:
        for cert in _parse_pem(pem):
            (roots if cert.issuer == cert.subject else intermediates).append(cert)
    if policy.system_cas:
        roots.extend(_system_roots())
    return roots, intermediates


@lru_cache(maxsize=64)
def _parse_pem(pem: str):
    from cryptography import x509

    return tuple(x509.load_pem_x509_certificates(pem.encode()))


@lru_cache(maxsize=1)
def _system_roots():
    from cryptography import x509

    try:
        with open(SYSTEM_CA_BUNDLE, "rb") as f:
            return tuple(x509.load_pem_x509_certificates(f.read()))
    except (OSError, ValueError):
        return ()


def check_names(leaf, host: str) -> None:
    """RFC 6125: SAN dNSNames (or iPAddresses for an IP host); the CN only when there is no SAN at all."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    wanted = host if address else a_label(host)
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if san is not None:
        if address is not None:
            if address in san.get_values_for_type(x509.IPAddress):
                return
            names = [str(a) for a in san.get_values_for_type(x509.IPAddress)]
        else:
            names = san.get_values_for_type(x509.DNSName)
            if any(_dns_match(n, wanted) for n in names):
                return
        raise PeerRejected("wrong host", f"{host} is not among {', '.join(names) or 'no names'} (subjectAltName)")
    cns = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if address is None and any(_dns_match(str(cn), wanted) for cn in cns):
        return
    raise PeerRejected("wrong host", f"{host} does not match the common name {', '.join(map(str, cns)) or '(none)'}")


def a_label(name: str) -> str:
    """The ASCII (A-label) form of a host name; raises PeerRejected for a name IDNA refuses."""
    name = name.rstrip(".").lower()
    if name.isascii():
        return name
    import idna

    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as e:
        raise PeerRejected("wrong host", f"{name!r} is not a valid IDN host name ({e})") from None


def _dns_match(pattern: str, host: str) -> bool:
    try:
        pattern = a_label(pattern)
    except PeerRejected:
        return False
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:] and "." in rest
    return pattern == host
