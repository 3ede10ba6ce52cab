"""Cloud clients: Smart Licensing, the Cisco Cloud Services portal and the Talos certificate download.

Each speaks HTTPS with JSON to its configured endpoint, through the outbound
clients' proxy, timeouts and CA lists (outboundconfig, certconfig), and logs
every exchange to the Cloud Connector log. The protocol (license_smart(1),
cloudserviceconfig(1)):

- licensing  ``POST URL/v1/register`` {token, serial, hostname, model} -> {product_instance_id, smart_account:
  {domain, id, name}, virtual_account: {domain, id}, vln, expires, entitlements: [{name, status, expires}]};
  ``/v1/renew`` (same entitlements), ``/v1/deregister`` {product_instance_id};
- portal     ``POST SERVER/v1/devices/register`` {token | product_instance_id, serial, fqdn_label} -> {device_id};
  ``/v1/devices/deregister`` {device_id};
- Talos      ``GET TALOS/v1/certificate?serial=S`` -> {certificate, private_key} (PEM).

Registrations are state, per machine: never rolled back with the configuration.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from asyncos_cli.events.cloud import CloudExchange

LICENSE_KEY = "licensing.registration"
PORTAL_KEY = "cloud.portal"
TALOS_KEY = "talos.certificate"


from .failures import describe


class CloudError(Exception):
    """A cloud exchange failed; the text says why, for the administrator."""


@dataclass
class Answer:
    status: int
    data: dict


class CloudClient:
    def __init__(self, config, keyring, run_dir, emit):
        from asyncos_cli.services.outbound import ca_bundle, http_session

        self.config, self.emit = config, emit
        self.session = http_session(config.outbound, keyring)
        self.session.verify = ca_bundle(config, run_dir)

    def call(self, client: str, method: str, url: str, timeout: float, body: dict | None = None) -> Answer:
        import requests

        start = time.monotonic()
        try:
            r = self.session.request(method, url, json=body, timeout=timeout, allow_redirects=False)
        except requests.exceptions.RequestException as e:
            why = describe(e, url, timeout)
            self._log(client, method, url, f"failed: {why}", start)
            raise CloudError(f"cannot reach {url.split('?')[0]}: {why}") from None
        self._log(client, method, url, f"HTTP {r.status_code}", start)
        try:
            data = r.json() if r.content else {}
        except ValueError:
            raise CloudError(f"{url} answered HTTP {r.status_code} without JSON") from None
        return Answer(r.status_code, data if isinstance(data, dict) else {})

    def _log(self, client, method, url, outcome, start) -> None:
        self.emit(CloudExchange(client, method, url, outcome, int((time.monotonic() - start) * 1000)))


def _error(answer: Answer, what: str) -> str:
    return str(answer.data.get("error") or f"{what} answered HTTP {answer.status}")


# ---------------------------------------------------------------- Smart Licensing


def register_license(client: CloudClient, state, token: str, identity: dict) -> dict:
    s = client.config.licensing
    a = client.call("Smart Licensing", "POST", s.url.rstrip("/") + "/v1/register", s.timeout_seconds,
                    {"token": token, **identity})
    if a.status in (400, 401, 403):
        raise CloudError(f"The registration failed: {_error(a, 'the licensing server')}")
    if a.status != 200 or not a.data.get("product_instance_id"):
        raise CloudError(f"The registration failed: {_error(a, 'the licensing server')}")
    sa, va = a.data.get("smart_account") or {}, a.data.get("virtual_account") or {}
    record = {"registered": True, "product_instance_id": str(a.data["product_instance_id"]),
              "smart_account_domain": str(sa.get("domain", "")), "smart_account_id": str(sa.get("id", "")),
              "smart_account_name": str(sa.get("name", "")), "vln": str(a.data.get("vln", "")),
              "virtual_account_domain": str(va.get("domain", "")), "virtual_account_id": str(va.get("id", "")),
              "registered_at": time.time(), "renewed_at": time.time(), "expires": a.data.get("expires"),
              "server": s.url, "entitlements": _entitlements(a.data)}
    state.put(LICENSE_KEY, record)
    return record


def _entitlements(answer: dict) -> list[dict]:
    from .licensing import entitlements_of

    return entitlements_of(answer)


def _licensing(client: CloudClient, action: str, record: dict) -> Answer:
    s = client.config.licensing
    return client.call("Smart Licensing", "POST", f"{s.url.rstrip('/')}/v1/{action}", s.timeout_seconds,
                       {"product_instance_id": record["product_instance_id"]})


def renew_license(client: CloudClient, state) -> dict:
    record = _registered(state)
    a = _licensing(client, "renew", record)
    if a.status != 200:
        raise CloudError(f"The renewal failed: {_error(a, 'the licensing server')}")
    record.update(renewed_at=time.time(), expires=a.data.get("expires", record.get("expires")))
    if "entitlements" in a.data:
        record["entitlements"] = _entitlements(a.data)
    state.put(LICENSE_KEY, record)
    return record


def deregister_license(client: CloudClient, state) -> None:
    a = _licensing(client, "deregister", _registered(state))
    if a.status not in (200, 204, 404):  # 404: the server forgot us already; locally we forget too
        raise CloudError(f"The deregistration failed: {_error(a, 'the licensing server')}")
    state.put(LICENSE_KEY, {"registered": False})


def _registered(state) -> dict:
    record = state.get(LICENSE_KEY) or {}
    if not record.get("registered"):
        raise CloudError("This appliance is not registered with Smart Licensing (license_smart register).")
    return record


# ---------------------------------------------------------------- the Cloud Services portal


def portal(state) -> dict:
    return state.get(PORTAL_KEY) or {"enabled": False, "registered": False}


def set_portal_enabled(state, enabled: bool, region: str) -> dict:
    record = portal(state)
    record.update(enabled=enabled, region=region)
    if not enabled:
        record.update(registered=False, device_id="")
    state.put(PORTAL_KEY, record)
    return record


def register_portal(client: CloudClient, state, identity: dict, token: str = "",
                    product_instance_id: str = "") -> dict:
    c = client.config.cloud
    body = {**identity, "fqdn_label": c.fqdn_label}
    body.update({"token": token} if token else {"product_instance_id": product_instance_id})
    a = client.call("Cloud Services", "POST", c.server.rstrip("/") + "/v1/devices/register", c.timeout_seconds, body)
    if a.status in (400, 401, 403):
        raise CloudError("The registration failed because of an invalid or expired token key"
                         if token else f"The registration failed: {_error(a, 'the cloud services portal')}")
    if a.status != 200 or not a.data.get("device_id"):
        raise CloudError(f"The registration failed: {_error(a, 'the cloud services portal')}")
    record = {"enabled": True, "registered": True, "device_id": str(a.data["device_id"]), "region": c.region,
              "server": c.server, "registered_at": time.time(), "via": "token" if token else "Smart Licensing"}
    state.put(PORTAL_KEY, record)
    return record


def deregister_portal(client: CloudClient, state) -> dict:
    record = portal(state)
    if not record.get("registered"):
        raise CloudError("The appliance is not registered with Cisco Cloud Services.")
    c = client.config.cloud
    a = client.call("Cloud Services", "POST", c.server.rstrip("/") + "/v1/devices/deregister", c.timeout_seconds,
                    {"device_id": record["device_id"]})
    if a.status not in (200, 204, 404):
        raise CloudError(f"The deregistration failed: {_error(a, 'the cloud services portal')}")
    record.update(registered=False, device_id="")
    state.put(PORTAL_KEY, record)
    return record


# ---------------------------------------------------------------- the Talos certificate


@dataclass
class Pair:
    certificate: str
    key_pem: str
    subject: str
    not_before: float
    not_after: float


def download_certificate(client: CloudClient, serial: str) -> Pair:
    c = client.config.cloud
    a = client.call("Talos certificate", "GET", c.talos_url.rstrip("/") + f"/v1/certificate?serial={serial}",
                    c.timeout_seconds)
    if a.status != 200:
        raise CloudError(f"The download failed: {_error(a, 'the Talos certificate server')}")
    return check_pair(str(a.data.get("certificate", "")), str(a.data.get("private_key", "")))


def check_pair(cert_pem: str, key_pem: str, now: float | None = None) -> Pair:
    """The pair if the certificate parses, is valid now and the key is its key; else CloudError saying why."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError:
        raise CloudError("The downloaded certificate is not a PEM certificate: the existing pair is kept.") from None
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise CloudError("The downloaded private key is not a PEM key: the existing pair is kept.") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, public) != \
            cert.public_key().public_bytes(serialization.Encoding.DER, public):
        raise CloudError("The downloaded key does not match the certificate: the existing pair is kept.")
    now = time.time() if now is None else now
    start, end = cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()
    if not start <= now <= end:
        raise CloudError(f"The downloaded certificate is not valid now (valid {cert.not_valid_before_utc:%Y-%m-%d} to "
                         f"{cert.not_valid_after_utc:%Y-%m-%d}): the existing pair is kept.")
    return Pair(cert_pem, key_pem, cert.subject.rfc4514_string(), start, end)


def stored_certificate(state) -> dict | None:
    return state.get(TALOS_KEY)


def store_certificate(state, keyring, pair: Pair) -> None:
    state.put(TALOS_KEY, {"certificate": pair.certificate, "key": keyring.seal(pair.key_pem).token,
                          "subject": pair.subject, "not_after": pair.not_after, "fetched": time.time()})


# ---------------------------------------------------------------- Web Interaction Tracking

CLICKS_CURSOR_KEY = "interaction.cursor"


def fetch_clicks(client: CloudClient, cursor: str) -> tuple[list[dict], str]:
    """GET AGGREGATOR/v1/clicks?since=CURSOR -> ({message_id, recipient, url, clicked_at, action} list, cursor)."""
    from urllib.parse import quote

    c = client.config.cloud
    a = client.call("Web Interaction Tracking", "GET",
                    c.aggregator_url.rstrip("/") + f"/v1/clicks?since={quote(cursor)}", c.timeout_seconds)
    if a.status != 200:
        raise CloudError(f"the aggregator answered HTTP {a.status}")
    clicks = [k for k in a.data.get("clicks") or [] if isinstance(k, dict) and k.get("message_id") and k.get("url")]
    return clicks, str(a.data.get("cursor", cursor))
