"""Smart Licensing, the Cloud Services portal and FETCHCERTIFICATE against a local HTTPS server of the same protocol."""

from __future__ import annotations

import http.server
import json
import re

import pki
import pytest
from conftest import batch_fails as _fails
from conftest import batch_ok as _ok


class VendorCloud:
    """Licensing, portal and Talos endpoints on one HTTPS server with a test-CA certificate."""

    def __init__(self, tmp_path):
        self.root = pki.ca()
        (tmp_path / "root.pem").write_text(self.root.cert_pem)
        self.ca_file = tmp_path / "root.pem"
        issued = pki.leaf(self.root, cn="127.0.0.1", sans=("127.0.0.1",))
        self.requests: list[tuple[str, str, dict]] = []
        self.pair: tuple[str, str] = ("", "")
        self.clicks: list[dict] = []
        #: What the licensing server says this appliance is entitled to (one malformed entry, left out).
        self.entitlements = [
            {"name": "Email Security Appliance Mail Handling", "status": "In Compliance", "expires": None},
            {"name": "Email Security Appliance Anti-Spam License", "status": "Out of Compliance",
             "expires": "2027-11-27T00:00:00+00:00"},
            {"name": "Something", "status": "Whatever"}]
        cloud = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, code, data):
                body = json.dumps(data).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                cloud.requests.append(("GET", self.path, {}))
                if self.path.startswith("/v1/certificate"):
                    return self._answer(200, {"certificate": cloud.pair[0], "private_key": cloud.pair[1]})
                if self.path.startswith("/v1/clicks?since="):
                    since = int(self.path.rpartition("=")[2] or 0)
                    return self._answer(200, {"clicks": cloud.clicks[since:], "cursor": str(len(cloud.clicks))})
                self._answer(404, {"error": "no such endpoint"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                cloud.requests.append(("POST", self.path, body))
                if self.path == "/licservice/license/v1/register":
                    if body.get("token") != "good-license-token":
                        return self._answer(401, {"error": "invalid or expired token"})
                    return self._answer(200, {"product_instance_id": "PI-7f3a", "vln": "VLN-42",
                                              "smart_account": {"domain": "example.com", "id": "SA-1",
                                                                "name": "Example Corp"},
                                              "virtual_account": {"domain": "mail.example.com", "id": "VA-9"},
                                              "expires": "2027-11-27", "entitlements": cloud.entitlements})
                if self.path in ("/licservice/license/v1/renew", "/licservice/license/v1/deregister"):
                    return self._answer(200, {"expires": "2028-01-01"})
                if self.path == "/v1/devices/register":
                    if body.get("product_instance_id") == "PI-7f3a" or body.get("token") == "good-portal-token":
                        return self._answer(200, {"device_id": "DEV-" + (body.get("product_instance_id") or "T")})
                    return self._answer(401, {"error": "invalid token"})
                if self.path == "/v1/devices/deregister":
                    return self._answer(200, {})
                self._answer(404, {"error": "no such endpoint"})

            def log_message(self, *args):
                pass

        self.server, self.url = pki.serve_https(Handler, issued, tmp_path, "cloud")

    def close(self):
        self.server.shutdown()


@pytest.fixture
def cloud(datadir, tmp_path):
    c = VendorCloud(tmp_path)
    _ok(datadir, f"certconfig certauthority custom import vendor {c.ca_file}; "
                 f"license_smart setup --url={c.url}/licservice/license; cloudserviceconfig setup --talos-url={c.url}; "
                 f"cloudserviceconfig enable --server={c.url}; commit cloud endpoints")
    yield c
    c.close()


def _connector_log(datadir) -> str:
    return (datadir / "logs" / "cloud_connector" / "cloud_connector.current").read_text()


def test_smart_licensing_registration_enables_and_registers_the_cloud_portal(datadir, cloud):
    _ok(datadir, "cloudserviceconfig disable")
    assert "Smart Licensing is not enabled" in _fails(datadir, "license_smart register --token=good-license-token")
    _ok(datadir, "license_smart enable; commit smart licensing")
    assert "invalid or expired token" in _fails(datadir, "license_smart register --token=stale-token")
    out = _ok(datadir, "license_smart register --token=good-license-token")
    assert "registered with Smart Software Licensing: product instance PI-7f3a" in out
    info = _ok(datadir, "smartaccountinfo")
    for line in ("Product Instance ID: PI-7f3a", "Smart Account Domain: example.com", "Smart Account ID: SA-1",
                 "Smart Account Name: Example Corp", "VLN: VLN-42", "Virtual Account Domain: mail.example.com",
                 "Virtual Account ID: VA-9"):
        assert line in info, info
    status = _ok(datadir, "cloudserviceconfig status")  # no further command: the portal followed
    assert "Cisco Cloud Service: enabled" in status
    assert "successfully registered (device DEV-PI-7f3a, by Smart Licensing" in status
    register = next(b for m, p, b in cloud.requests if p == "/licservice/license/v1/register" and b["token"].startswith("good"))
    assert register["serial"] and register["hostname"] == "ironport.example.com"
    log = _connector_log(datadir)
    assert f"Smart Licensing: POST {cloud.url}/licservice/license/v1/register -> HTTP 401" in log
    assert f"Cloud Services: POST {cloud.url}/v1/devices/register -> HTTP 200" in log
    assert "good-license-token" not in log  # tokens are never logged
    features = _ok(datadir, "featurekey")
    assert re.search(r"^Email Security Appliance Mail Handling +In Compliance +Perpetual +Never$", features, re.M)
    assert re.search(r"^Email Security Appliance Anti-Spam License +Out of Compliance +\d+ days +\w{3} \w{3} \d\d "
                     r"[\d:]+ 2027$", features, re.M), features
    assert "Something" not in features and "Eval" not in features
    shown = _ok(datadir, "showlicense")
    assert "Registration Status: Registered" in shown and "Anti-Spam License" in shown
    assert "Registration Status: Registered" in _ok(datadir, "license_smart renew; license_smart status")
    _ok(datadir, "license_smart deregister")
    assert "Registration Status: Unregistered" in _ok(datadir, "license_smart status")
    assert "Smart Licensing is not registered" in _ok(datadir, "smartaccountinfo")


def test_portal_token_registration_and_its_refusal(datadir, cloud):
    assert "not registered" in _ok(datadir, "cloudserviceconfig status")
    err = _fails(datadir, "cloudserviceconfig register wrong-token")
    assert "The registration failed because of an invalid or expired token key" in err
    assert "successfully registered" in _ok(datadir, "cloudserviceconfig register good-portal-token")
    assert "by token" in _ok(datadir, "cloudserviceconfig status")
    assert "ENABLESECUREX is not supported yet" in _fails(datadir, "cloudserviceconfig enablesecurex")
    _ok(datadir, "cloudserviceconfig deregister")
    assert "not registered" in _ok(datadir, "cloudserviceconfig status")


def test_fetchcertificate_replaces_an_expired_pair_and_refuses_bad_ones(datadir, cloud):
    from asyncos_cli.config.datadir import DataDir
    from asyncos_cli.config.fields import Secret
    from asyncos_cli.config.secrets import Keyring
    from asyncos_cli.config.state import StateStore
    from asyncos_cli.services.cloud import TALOS_KEY, Pair, store_certificate

    old = pki.leaf(cloud.root, cn="talos-old", sans=(), days_before=400, days_after=-5)
    d = DataDir(datadir)
    state = StateStore(d.database)
    store_certificate(state, Keyring(d.root / "keys" / "config.key"),
                      Pair(old.cert_pem, old.key_pem, "CN=talos-old", 0, old.cert.not_valid_after_utc.timestamp()))
    state.close()
    assert "CN=talos-old" in _ok(datadir, "cloudserviceconfig status") and "expired" in _ok(datadir, "cloudserviceconfig")

    other = pki.leaf(cloud.root, cn="someone-else", sans=())
    new = pki.leaf(cloud.root, cn="talos-new", sans=())
    cloud.pair = (new.cert_pem, other.key_pem)  # a key that is not the certificate's
    assert "does not match the certificate: the existing pair is kept" in \
        _fails(datadir, "cloudserviceconfig fetchcertificate")
    stale = pki.leaf(cloud.root, cn="talos-stale", sans=(), days_before=30, days_after=-1)
    cloud.pair = (stale.cert_pem, stale.key_pem)
    assert "is not valid now" in _fails(datadir, "cloudserviceconfig fetchcertificate")
    cloud.pair = ("not a certificate", new.key_pem)
    assert "not a PEM certificate" in _fails(datadir, "cloudserviceconfig fetchcertificate")
    assert "CN=talos-old" in _ok(datadir, "cloudserviceconfig status")  # kept through every refusal

    cloud.pair = (new.cert_pem, new.key_pem)
    assert "Successfully downloaded the Cisco Talos certificate and key" in \
        _ok(datadir, "cloudserviceconfig fetchcertificate")  # the expired pair goes without asking in a batch
    status = _ok(datadir, "cloudserviceconfig status")
    assert "CN=talos-new" in status and "valid until" in status
    assert "add --overwrite" in _fails(datadir, "cloudserviceconfig fetchcertificate")  # a valid pair is not replaced
    assert "Successfully downloaded" in _ok(datadir, "cloudserviceconfig fetchcertificate --overwrite")

    state = StateStore(d.database)
    stored = state.get(TALOS_KEY)
    state.close()
    assert "PRIVATE KEY" not in json.dumps(stored)  # the key is encrypted at rest
    assert Keyring(d.root / "keys" / "config.key").reveal(Secret(stored["key"])) == new.key_pem
    assert f"Talos certificate: GET {cloud.url}/v1/certificate" in _connector_log(datadir)


def test_the_overwrite_question_in_the_shell(datadir, cloud):
    from asyncos_cli.config.datadir import DataDir
    from asyncos_cli.shell.context import Context
    from asyncos_cli.shell.runner import Shell
    from asyncos_cli.shell.scripted import ScriptedPrompter

    first = pki.leaf(cloud.root, cn="talos-first", sans=())
    cloud.pair = (first.cert_pem, first.key_pem)
    _ok(datadir, "cloudserviceconfig fetchcertificate")
    second = pki.leaf(cloud.root, cn="talos-second", sans=())
    cloud.pair = (second.cert_pem, second.key_pem)
    p = ScriptedPrompter(["FETCHCERTIFICATE", "N", "FETCHCERTIFICATE", "Y", ""])
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("cloudserviceconfig")
    assert "Do you like to overwrite the existing certificate and key" in p.text
    assert "The existing certificate and key are kept." in p.text
    assert "Successfully downloaded the Cisco Talos certificate and key (O=Test PKI,CN=talos-second" in p.text


def test_clicks_from_the_aggregator_reach_the_right_tracking_record(relay, datadir, tmp_path):
    import smtplib

    from conftest import mail_log, wait_for
    from corpus import mail

    cloud = VendorCloud(tmp_path)
    try:
        _ok(datadir, f"certconfig certauthority custom import vendor {cloud.ca_file}; "
                     "policyconfig new incoming SALES --recipients=sales@; commit sales policy")
        with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
            s.sendmail("a@example.org", ["sales@example.com", "b@example.com"],
                       mail(body="see https://shop.example.net/offer\n", message_id="<clicked@x>"))
        assert wait_for(lambda: mail_log(datadir).count("Message finished MID") == 2, 30)
        cloud.clicks.append({"message_id": "<clicked@x>", "recipient": "b@example.com",
                             "url": "https://shop.example.net/offer", "clicked_at": 1795800000, "action": "allowed"})
        _ok(datadir, f"cloudserviceconfig setup --interaction-tracking=yes --aggregator-url={cloud.url} --poll=1; "
                     "commit clicks")
        relay.request("reload")
        mids = [int(m) for m in re.findall(r"Start MID (\d+)", mail_log(datadir))]
        mids += [int(m) for m in re.findall(r"creating MID (\d+)", mail_log(datadir))]

        def clicked():
            return {m: relay.request("tracking", mid=m)["clicks"] for m in mids}

        assert wait_for(lambda: any(clicked().values()), 20), clicked()
        records = {m: relay.request("tracking", mid=m) for m in mids}
        hit = [m for m, r in records.items() if r["clicks"]]
        assert len(hit) == 1 and records[hit[0]]["recipients"] == ["b@example.com"]  # the copy of who clicked
        assert records[hit[0]]["clicks"][0]["url"] == "https://shop.example.net/offer"
        log = _connector_log(datadir)
        assert f"Web Interaction Tracking: GET {cloud.url}/v1/clicks?since= -> HTTP 200" in log
        assert f"b@example.com clicked https://shop.example.net/offer (allowed) in message <clicked@x>: MID {hit[0]}" \
            in log
        assert wait_for(lambda: "/v1/clicks?since=1 -> HTTP 200" in _connector_log(datadir), 10)  # the cursor moved
        assert len(records[hit[0]]["clicks"]) == 1
    finally:
        cloud.close()


def test_cloud_clients_go_through_the_upstream_proxy(datadir, cloud, tmp_path):
    from conftest import require_peer
    from engine_peers import Tinyproxy

    require_peer("tinyproxy")
    proxy = Tinyproxy(tmp_path)
    try:
        _ok(datadir, f"outboundconfig setup --proxy=127.0.0.1:{proxy.port}; license_smart enable; commit proxy")
        _ok(datadir, "license_smart register --token=good-license-token")
        port = cloud.url.rpartition(":")[2]
        assert sum(f"127.0.0.1:{port}" in line for line in proxy.connects()) >= 2  # licensing, then the portal
        proxy.stop()
        err = _fails(datadir, "license_smart renew")
        assert "The upstream proxy failed" in err or "the upstream proxy failed" in err
        assert "failed: the upstream proxy failed" in _connector_log(datadir)
    finally:
        proxy.stop()


def test_features_before_registration_are_in_evaluation_and_classic_keys_are_refused(datadir):
    assert "Smart Licensing is disabled: no feature is licensed" in _ok(datadir, "featurekey")
    _ok(datadir, "license_smart enable; commit smart licensing")
    features = _ok(datadir, "featurekey print")
    rows = re.findall(r"^(Email Security Appliance .+?) +Eval +(\d+) days ", features, re.M)
    assert len(rows) == 5 and all(89 <= int(days) <= 90 for _, days in rows), features
    assert "Email Security Appliance Data Loss Prevention" in features
    refused = _fails(datadir, "featurekey activate ABCD-EFGH")
    assert "Classic feature keys are not supported yet" in refused
    assert "Registration Status: Unregistered" in _ok(datadir, "showlicense")
