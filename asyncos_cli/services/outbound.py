"""The shared outbound-client settings turned into clients.

HTTP, DNS and SMTP clients (reputation services, file analysis, alerts)
all take their proxy, timeouts, retries and TLS validation from the one
``outbound`` section, through these functions.
"""

from __future__ import annotations

import ssl
from urllib.parse import quote

from asyncos_cli.config.schema import OutboundSection
from asyncos_cli.config.secrets import Keyring


def proxy_url(section: OutboundSection, keyring: Keyring) -> str | None:
    return proxy_url_for(section.proxy, keyring)


def proxy_url_for(p, keyring: Keyring) -> str | None:
    """``http://user:pass@host:port`` for a config.proxy.HttpProxy, or None."""
    if p is None:
        return None
    auth = ""
    if p.username:
        auth = quote(p.username, safe="")
        if p.passphrase is not None:
            auth += ":" + quote(keyring.reveal(p.passphrase), safe="")
        auth += "@"
    return f"http://{auth}{p.host}:{p.port}"


def http_session(section: OutboundSection, keyring: Keyring):
    """A ``requests.Session`` with the proxy, retries and certificate checks applied.

    Callers pass ``timeout=section.timeout_seconds`` per request (requests has
    no session-wide timeout).
    """
    import requests
    from requests.adapters import HTTPAdapter

    s = requests.Session()
    url = proxy_url(section, keyring)
    if url:
        s.proxies = {"http": url, "https": url}
    s.trust_env = False  # the appliance's settings, not the service account's environment
    adapter = HTTPAdapter(max_retries=section.retries)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    s.verify = section.verify_peer_x509
    return s


def tls_client_context(section: OutboundSection, cafile: str | None = None) -> ssl.SSLContext:
    """TLS for outbound connections: x509 chain and peer FQDN checks per the settings."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # RFC 6125: the name is matched against subjectAltName only.
    ctx.hostname_checks_common_name = False
    if not section.verify_peer_x509:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif not section.verify_peer_fqdn:
        ctx.check_hostname = False
    return ctx


def ca_bundle(config, run_dir) -> str | bool:
    """What HTTPS clients verify servers with: the system bundle plus certconfig's custom CA list (written
    to a private file when there is one), or plain True (the default bundle) when it is empty or off."""
    from pathlib import Path

    from asyncos_cli.config.datadir import write_private

    certs = config.certificates
    if not (certs.custom_ca_enabled and certs.custom_cas):
        return True
    parts = []
    if certs.system_ca_enabled:
        try:
            parts.append(Path("/etc/ssl/certs/ca-certificates.crt").read_text())
        except OSError:
            pass
    parts += [ca.certificate for ca in certs.custom_cas]
    run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = run_dir / "ca-bundle.pem"
    write_private(path, "\n".join(parts).encode())
    return str(path)


def proxy_failure(section: OutboundSection, error: BaseException) -> str | None:
    """The proxy ``host:port`` when ``error`` is the upstream proxy's failure (not the service's), else None."""
    if section.proxy is None:
        return None
    try:
        from requests.exceptions import ProxyError
    except ImportError:
        return None
    if isinstance(error, ProxyError):
        return f"{section.proxy.host}:{section.proxy.port}"
    return None


def fetch_ok(config, keyring, verify, url: str) -> None:
    """GET ``url`` through the outbound settings; raises unless the answer is 2xx (a connectivity check)."""
    session = http_session(config.outbound, keyring)
    session.verify = verify
    r = session.get(url, timeout=config.outbound.timeout_seconds, allow_redirects=False)
    if not 200 <= r.status_code < 300:
        raise ValueError(f"HTTP {r.status_code}")
