"""tlsverify's check: reach a destination as delivery would and say, step by step, whether TLS holds.

The same route or MX choice, the same STARTTLS negotiation (sslconfig's outbound versions and ciphers) and
the same certificate validator as delivery (smtpout, tlsverify); nothing is sent after the handshake.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from asyncos_cli.config.schema import Config

from . import smtpout


@dataclass
class Check:
    lines: list[str] = field(default_factory=list)
    ok: bool = False

    def say(self, text: str) -> None:
        self.lines.append(text)


async def check_destination(domain: str, target: str | None, config: Config) -> Check:
    import aiosmtplib

    out = Check()
    dest = config.delivery.for_domain(domain)
    out.say(f"Destination {domain}: TLS {dest.tls} (destconfig {dest.domain})")
    if dest.tls == "none":
        out.say("Result: TLS is off for this destination: delivery goes in clear.")
        return out
    hops = await _hops(domain, target, config, out)
    if not hops:
        return out
    hop = hops[0]
    try:
        address = await smtpout.address(hop.host, config)
        client = aiosmtplib.SMTP(hostname=address, port=hop.port, timeout=config.delivery.command_timeout_seconds,
                                 start_tls=False, local_hostname=config.system.hostname)
        await client.connect(timeout=config.delivery.connect_timeout_seconds)
    except (OSError, smtpout.LookupFailed, aiosmtplib.SMTPException) as e:
        out.say(f"Connecting to {hop.host} ({hop.port}): failed: {type(e).__name__}: {e}")
        out.say("Result: no TLS: the host cannot be reached.")
        return out
    try:
        out.say(f"Connected to {hop.host} ({address}) port {hop.port}")
        await client.ehlo()
        if not client.supports_extension("starttls"):
            out.say("EHLO: STARTTLS is not offered")
            out.say("Result: no TLS: " + ("delivery goes in clear (TLS preferred)." if dest.tls == "preferred"
                                          else "delivery is deferred (TLS required)."))
            return out
        out.say("EHLO: STARTTLS offered")
        try:
            await client.starttls(tls_context=smtpout.negotiation_context(config), server_hostname=smtpout.sni(hop.host))
        except (aiosmtplib.SMTPException, OSError) as e:
            out.say(f"STARTTLS: failed: {e}")
            out.say("Result: no TLS: the negotiation failed.")
            return out
        obj = client.transport.get_extra_info("ssl_object")
        out.say(f"STARTTLS: {obj.version()}, {obj.cipher()[0]}")
        _describe(out, obj)
        out.ok = _verified(out, client, hop.host, config, force=dest.tls == "required-verify")
        out.say(f"Result: TLS {'would succeed' if out.ok else 'would fail'} for {domain} ({dest.tls}).")
        return out
    finally:
        client.close()


async def _hops(domain: str, target: str | None, config: Config, out: Check) -> list:
    if target:
        hop = smtpout.parse_host(target)
        out.say(f"Host: {hop.host}:{hop.port} (as given)")
        return [hop]
    routed = smtpout.routed_hosts(domain, config)
    if routed == smtpout.DEV_NULL:
        out.say("Result: smtproutes sends this domain to /dev/null: nothing is delivered.")
        return []
    if routed is not None:
        out.say("Hosts (smtproutes): " + ", ".join(f"{h.host}:{h.port}" for h in routed))
        return routed
    try:
        hops = await smtpout.mx_hops(domain, config)
    except (smtpout.NoSuchDomain, smtpout.LookupFailed) as e:
        out.say(f"MX lookup: failed: {e}")
        return []
    out.say("Hosts (MX): " + ", ".join(f"{h.host}:{h.port}" for h in hops))
    return hops


def _describe(out: Check, ssl_object) -> None:
    from cryptography import x509

    from .tlsverify import sent_chain

    der = ssl_object.getpeercert(binary_form=True)
    if der is None:
        out.say("Certificate: none sent")
        return
    cert = x509.load_der_x509_certificate(der)
    out.say(f"Certificate: subject {cert.subject.rfc4514_string()}")
    out.say(f"  issuer {cert.issuer.rfc4514_string()}")
    out.say(f"  valid {cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}")
    out.say(f"  chain sent: {len(sent_chain(ssl_object)) or 1} certificates")


def _verified(out: Check, client, host: str, config: Config, force: bool) -> bool:
    from .tlsverify import PeerPolicy, PeerRejected

    policy = PeerPolicy.from_config(config, force=force)
    if not policy.checks_anything:
        out.say("Verification: not checked (sslconfig peer_cert_fqdn and peer_cert_x509 are off)")
        return True
    try:
        smtpout.check_peer(client, host, config, force=force)
    except PeerRejected as e:
        out.say(f"Verification: failed: {e}")
        return False
    checks = " and ".join(n for n, on in (("host name", policy.fqdn), ("chain and validity", policy.x509)) if on)
    out.say(f"Verification: passed ({checks})")
    return True
