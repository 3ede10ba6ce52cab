"""Outbound SMTP shared by delivery and the gateway's own mail (alerts, support requests).

Where a domain's mail goes (smtproutes, else MX through dnsconfig's
resolvers), where a host name points, and the TLS client side: OpenSSL only
negotiates; the peer certificate is judged by ``tlsverify.verify_peer``
under sslconfig's switches.
"""

from __future__ import annotations

import dataclasses
import ssl
from dataclasses import dataclass

from asyncos_cli.config.addresses import domain_matches
from asyncos_cli.config.schema import Config

from . import dnsstats

DEV_NULL = "/dev/null"


@dataclass(frozen=True)
class Hop:
    host: str
    port: int
    #: The outgoing SMTP AUTH profile to log in with (smtproutes --auth), or "".
    auth: str = ""


class NoSuchDomain(Exception):
    """NXDOMAIN: a permanent failure."""


class LookupFailed(Exception):
    """A temporary failure: DNS errors, a null MX, no address."""


def sni(host: str) -> str:
    """The server name to send: IDN hosts as A-labels (the ssl module would use IDNA 2003)."""
    if host.isascii():
        return host
    import idna

    return idna.encode(host, uts46=True).decode("ascii")


def parse_host(text: str, default_port: int = 25) -> Hop:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else default_port
        return Hop(host, port)
    if text.count(":") == 1:
        host, port = text.split(":")
        return Hop(host, int(port))
    return Hop(text, default_port)


def routed_hosts(domain: str, config: Config):
    """smtproutes' hosts for ``domain`` (a named domain before ALL), DEV_NULL, or None for MX."""
    for wanted in (False, True):
        for route in config.routes.routes:
            if (route.domain == "ALL") == wanted and (wanted or domain_matches(domain, route.domain)):
                if route.hosts == (DEV_NULL,):
                    return DEV_NULL
                return [dataclasses.replace(parse_host(h), auth=route.auth_profile) for h in route.hosts]
    return None


def resolver(config: Config):
    import dns.asyncresolver

    from asyncos_cli.config.schema import parse_dns_server

    r = dns.asyncresolver.Resolver(configure=not config.dns.servers)
    if config.dns.servers:
        servers = [parse_dns_server(s) for s in config.dns.servers]
        r.nameservers = [host for host, _ in servers]
        r.port = servers[0][1]
    return r


async def mx_hops(domain: str, config: Config) -> list[Hop]:
    import dns.exception
    import dns.resolver

    try:
        answer = await dnsstats.lookup(resolver(config), domain, "MX", 10.0)
    except dns.resolver.NXDOMAIN:
        raise NoSuchDomain(domain) from None
    except dns.resolver.NoAnswer:
        return [Hop(domain, 25)]  # RFC 5321 5.1: the implicit MX is the domain's own address
    except dns.exception.DNSException as e:
        raise LookupFailed(f"DNS lookup of {domain} failed: {e.__class__.__name__}") from None
    records = sorted(answer, key=lambda rr: rr.preference)
    hops = [Hop(str(rr.exchange).rstrip("."), 25) for rr in records if str(rr.exchange) != "."]
    if not hops:
        raise LookupFailed(f"{domain} accepts no mail (null MX)")
    return hops


async def address(host: str, config: Config) -> str:
    """Where to connect: the host itself (system resolver), or its address from dnsconfig's resolvers."""
    import ipaddress

    if not config.dns.servers:
        return host
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    import dns.exception

    r = resolver(config)
    for rdtype in ("A", "AAAA"):
        try:
            answer = await dnsstats.lookup(r, host, rdtype, config.dns.timeout_seconds)
            return str(answer[0])
        except dns.exception.DNSException:
            continue
    raise LookupFailed(f"no address for {host} from the configured DNS servers")


def negotiation_context(config: Config) -> ssl.SSLContext:
    """A client context that only negotiates (sslconfig's outbound versions and ciphers)."""
    from .certificates import apply_tls_settings

    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    apply_tls_settings(ctx, config.ssl.outbound_methods, config.ssl.outbound_ciphers)
    return ctx


def check_peer(client, host: str, config: Config, force: bool = False) -> None:
    """Judge the certificate of an aiosmtplib client after STARTTLS; raises tlsverify.PeerRejected."""
    from .tlsverify import PeerPolicy, sent_chain, verify_peer

    policy = PeerPolicy.from_config(config, force=force)
    if not policy.checks_anything:
        return
    ssl_object = client.transport.get_extra_info("ssl_object") if client.transport else None
    leaf = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    chain = sent_chain(ssl_object) if ssl_object is not None else []
    verify_peer(leaf, host, policy, chain=chain)


def tls_version(client) -> str | None:
    ssl_object = client.transport.get_extra_info("ssl_object") if client.transport else None
    return ssl_object.version() if ssl_object is not None else None
