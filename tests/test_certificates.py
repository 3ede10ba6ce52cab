"""certconfig, sslconfig and peer validation, against real peers: openssl, testssl, dnsmasq, STARTTLS servers."""

from __future__ import annotations

import json
import re
import smtplib
import subprocess
import time

import pki
import pytest
from conftest import (
    DaemonProcess,
    free_port,
    listener_port,
    mail_log,
    require_peer,
    run_cli,
    wait_applied,
    wait_for,
)
from cryptography.x509.oid import ExtendedKeyUsageOID
from smtpservers import TlsServer


def _cli(datadir, line, ok=True):
    r = run_cli(datadir, "-c", line)
    assert (r.returncode == 0) == ok, (line, r.stdout, r.stderr)
    return r


# ---------------------------------------------------------------- certconfig


def test_new_certificate_fqdn_check_and_idn(datadir):
    r = _cli(datadir, "certconfig certificate new web --cn=mailhost", ok=False)
    assert "not in FQDN format" in r.stderr and "must be fully qualified" in r.stderr
    r = _cli(datadir, "certconfig certificate new web --cn=bad_name.example.com", ok=False)
    assert "characters a host name cannot hold: _" in r.stderr
    _cli(datadir, "certconfig certificate new web --cn=mailhost --check-fqdn=no --country=FR; commit")
    _cli(datadir, "certconfig certificate new idn --cn=bücher.example --org=Buch; commit")
    out = _cli(datadir, "certconfig certificate print idn").stdout
    assert "CN=bücher.example" in out and "xn--bcher-kva.example" in out
    _cli(datadir, "certconfig certificate new smime --cn='Mail Signer' --check-fqdn=no "
                  "--smime-email=signer@example.com; commit")
    assert "signer@example.com" in _cli(datadir, "certconfig certificate print smime").stdout


def test_import_export_and_delete_rules(datadir, tmp_path):
    require_peer("openssl")
    root = pki.ca()
    cert_path, key_path = pki.leaf(root, cn="mx.example.com", sans=("mx.example.com",)).write(tmp_path, "mx")
    p12 = tmp_path / "mx.p12"
    subprocess.run(["openssl", "pkcs12", "-export", "-in", str(cert_path), "-inkey", str(key_path), "-out", str(p12),
                    "-passout", "pass:P12-pass-9"], check=True, capture_output=True)
    r = _cli(datadir, f"certconfig certificate import mx {p12} --passphrase=wrong", ok=False)
    assert "wrong passphrase" in r.stderr
    _cli(datadir, f"certconfig certificate import mx {p12} --passphrase=P12-pass-9; commit")
    both = tmp_path / "both.pem"
    both.write_text(cert_path.read_text() + key_path.read_text())
    r = _cli(datadir, f"certconfig certificate import mx2 {both}", ok=True)
    assert "Subject: O=Test PKI,CN=mx.example.com" in r.stdout
    _cli(datadir, "commit")
    raw = (datadir / "asyncos.db").read_bytes()
    assert b"PRIVATE KEY" not in raw  # keys are sealed at rest
    out = tmp_path / "out.p12"
    _cli(datadir, f"certconfig certificate export mx {out} --passphrase=Exp-pass-1")
    shown = subprocess.run(["openssl", "pkcs12", "-in", str(out), "-nokeys", "-passin", "pass:Exp-pass-1"],
                           capture_output=True, text=True, check=True).stdout
    assert "CN = mx.example.com" in shown or "CN=mx.example.com" in shown
    _cli(datadir, "listenerconfig edit IncomingMail --certificate=mx; commit")
    r = _cli(datadir, "certconfig certificate delete mx", ok=False)
    assert "in use by listener IncomingMail" in r.stderr
    r = _cli(datadir, "listenerconfig edit OutgoingMail --certificate=nosuch", ok=False)
    assert "There is no certificate named nosuch" in r.stderr


def test_import_of_a_non_fqdn_common_name_is_refused_only_when_checked(datadir, tmp_path):
    root = pki.ca()
    for stem, cn in (("short", "mailhost"), ("idn", "xn--bcher-kva.example")):
        cert, key = pki.leaf(root, cn=cn, sans=()).write(tmp_path, stem)
        (tmp_path / f"{stem}-both.pem").write_text(cert.read_text() + key.read_text())
    r = _cli(datadir, f"certconfig certificate import short {tmp_path / 'short-both.pem'}", ok=False)
    assert "Common Name is not in FQDN format" in r.stderr and "'mailhost'" in r.stderr
    _cli(datadir, f"certconfig certificate import short {tmp_path / 'short-both.pem'} --check-fqdn=no; "
                  f"certconfig certificate import idn {tmp_path / 'idn-both.pem'}; commit")
    assert "short" in _cli(datadir, "certconfig certificate print short").stdout


def test_certconfig_and_sslconfig_menus(datadir):
    from asyncos_cli.config.datadir import DataDir
    from asyncos_cli.shell.context import Context
    from asyncos_cli.shell.runner import Shell
    from asyncos_cli.shell.scripted import ScriptedPrompter

    answers = ["CERTIFICATE", "NEW", "1", "web", "mailhost", "Y", "mail.example.com", "Y", "Org", "", "Paris", "",
               "FR", "365", "1", "", ""]
    p = ScriptedPrompter(answers)
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("certconfig")
    assert "You are currently using a demonstration certificate" in p.text
    assert "Do you want to check if Common Name is in Fully Qualified Domain Name(FQDN) format?" in p.text
    assert "The Common Name is not in FQDN format" in p.text  # the first answer is refused and asked again
    assert ctx.config.certificates.get("web") is not None
    p = ScriptedPrompter(["PEER_CERT_FQDN", "ENABLE", "OUTBOUND", "3", "", ""])
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("sslconfig")
    assert ctx.config.ssl.peer_cert_fqdn and ctx.config.ssl.outbound_methods == "TLSv1.2 TLSv1.3"
    assert "Peer Certificate FQDN Compliance: Disabled" in p.text


def test_custom_ca_import_checks_cn_san_or_both(datadir, tmp_path):
    good = pki.ca("ca.example.com")
    (tmp_path / "good.pem").write_text(good.cert_pem)
    bad = pki.ca("Test Root CA")  # not an FQDN
    (tmp_path / "bad.pem").write_text(bad.cert_pem)
    r = _cli(datadir, f"certconfig certauthority custom import bad {tmp_path / 'bad.pem'} --check-fqdn=cn", ok=False)
    assert "Common Name is not in FQDN format" in r.stderr
    r = _cli(datadir, f"certconfig certauthority custom import bad {tmp_path / 'bad.pem'} --check-fqdn=san", ok=False)
    assert "no SAN dNSName" in r.stderr
    _cli(datadir, f"certconfig certauthority custom import bad {tmp_path / 'bad.pem'} --check-fqdn=no; commit")
    _cli(datadir, f"certconfig certauthority custom import good {tmp_path / 'good.pem'} --check-fqdn=cn; commit")
    out = _cli(datadir, "certconfig certauthority custom print").stdout
    assert "good: O=Test PKI,CN=ca.example.com" in out and "bad:" in out


# ---------------------------------------------------------------- the listener's certificate and protocols


@pytest.fixture
def tls_listener(datadir, tmp_path):
    root = pki.ca()
    cert_path, key_path = pki.leaf(root, cn="mail.example.com", sans=("mail.example.com",)).write(tmp_path, "mail")
    (tmp_path / "ca.pem").write_text(root.cert_pem)
    both = tmp_path / "both.pem"
    both.write_text(cert_path.read_text() + key_path.read_text())
    _cli(datadir, f"certconfig certificate import mail {both}; listenerconfig edit IncomingMail --certificate=mail; "
                  "listenerconfig edit OutgoingMail --certificate=mail; "
                  "sslconfig inbound --methods=TLSv1.2; commit")
    d = DaemonProcess(datadir)
    d.port = listener_port(datadir, "IncomingMail")
    d.ca = tmp_path / "ca.pem"
    yield d
    d.stop()


def _s_client(port: int, ca, *extra: str) -> subprocess.CompletedProcess:
    require_peer("openssl")
    return subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{port}",
                           "-servername", "mail.example.com", "-CAfile", str(ca), "-verify_hostname",
                           "mail.example.com", "-verify_return_error", "-brief", *extra],
                          input="QUIT\n", capture_output=True, text=True, timeout=30)


def test_openssl_sees_the_imported_certificate_and_the_configured_versions(tls_listener):
    r = _s_client(tls_listener.port, tls_listener.ca, "-tls1_2")
    text = r.stdout + r.stderr
    assert "Verification: OK" in text and "mail.example.com" in text and "TLSv1.2" in text, text
    r = _s_client(tls_listener.port, tls_listener.ca, "-tls1_3")
    assert "Verification: OK" not in r.stdout + r.stderr  # TLS 1.3 is not offered: sslconfig said TLSv1.2
    assert "demonstration" not in " ".join(run_cli(tls_listener.datadir, "-c", "status").stdout.split())


def test_testssl_reports_the_protocols_and_the_chain(tls_listener, tmp_path):
    require_peer("testssl")
    out = tmp_path / "testssl.json"
    subprocess.run(["testssl", "--quiet", "--color", "0", "--warnings", "off", "--starttls", "smtp", "-p", "-S",
                    "--add-ca", str(tls_listener.ca), "--jsonfile", str(out), f"127.0.0.1:{tls_listener.port}"],
                   capture_output=True, text=True, timeout=300)
    findings = {f["id"]: f["finding"] for f in json.loads(out.read_text())}
    assert findings["TLS1_2"].startswith("offered") and findings["TLS1_3"].startswith("not offered")
    assert findings["TLS1"].startswith("not offered") and findings["SSLv3"].startswith("not offered")
    assert any("mail.example.com" in v for k, v in findings.items() if k.startswith("cert_commonName"))
    assert any(v.startswith("passed") or v.startswith("Ok") for k, v in findings.items()
               if k.startswith("cert_chain_of_trust"))


# ---------------------------------------------------------------- outbound SMTP: the failure matrix


@pytest.fixture
def dnsmasq(tmp_path):
    """A real DNS server answering 127.0.0.1 for every name under .test (dnsmasq)."""
    require_peer("dnsmasq")
    port = free_port()
    proc = subprocess.Popen(["dnsmasq", "--no-resolv", "--no-hosts", "--keep-in-foreground", f"--port={port}",
                             "--listen-address=127.0.0.1", "--bind-interfaces", "--address=/test/127.0.0.1",
                             "--user=root", f"--pid-file={tmp_path / 'dnsmasq.pid'}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.3)
    assert proc.poll() is None, proc.stderr.read()
    yield port
    proc.terminate()
    proc.wait()


MATRIX = [
    # (case, route host, certificate maker, delivered?, reason in the log)
    ("good", "good.test", lambda r, o: pki.leaf(r, cn="good.test", sans=("good.test",)), True, None),
    ("expired", "expired.test", lambda r, o: pki.leaf(r, cn="expired.test", sans=("expired.test",), days_before=30,
                                                     days_after=-1), False, "expired"),
    ("future", "future.test", lambda r, o: pki.leaf(r, cn="future.test", sans=("future.test",), days_before=-2),
     False, "not yet valid"),
    ("wronghost", "wronghost.test", lambda r, o: pki.leaf(r, cn="other.test", sans=("other.test",)), False,
     "wrong host"),
    ("selfsigned", "selfsigned.test", lambda r, o: pki.leaf(None, cn="selfsigned.test", sans=("selfsigned.test",)),
     False, "self-signed"),
    ("unknownca", "unknownca.test", lambda r, o: pki.leaf(o, cn="unknownca.test", sans=("unknownca.test",)), False,
     "unknown issuer"),
    ("wrongeku", "wrongeku.test", lambda r, o: pki.leaf(r, cn="wrongeku.test", sans=("wrongeku.test",),
                                                       eku=(ExtendedKeyUsageOID.CLIENT_AUTH,)), False,
     "unsuitable purpose"),
    ("cnonly", "cnonly.test", lambda r, o: pki.leaf(r, cn="cnonly.test", sans=()), True, None),
    # leaf + intermediate sent by the server, only the root trusted: most public MX hosts
    ("chained", "chained.test", lambda r, o: pki.leaf(pki.ca("Test Intermediate CA", issuer=r), cn="chained.test",
                                                     sans=("chained.test",)), True, None),
    ("cakey", "cakey.test", lambda r, o: pki.leaf(r, cn="cakey.test", sans=("cakey.test",), key_cert_sign_only=True),
     False, "unsuitable purpose"),
    ("idn", "bücher.test", lambda r, o: pki.leaf(r, cn="xn--bcher-kva.test", sans=("xn--bcher-kva.test",)), True,
     None),
]


def test_outbound_peer_validation_failure_matrix(datadir, tmp_path, dnsmasq):
    root, other = pki.ca(), pki.ca("Other CA")
    (tmp_path / "root.pem").write_text(root.cert_pem)
    servers = {case: TlsServer(make(root, other), tmp_path, case) for case, _, make, _, _ in MATRIX}
    # A second route to the expired server, for a domain where nothing is checked: delivered, as configured.
    lenient = TlsServer(pki.leaf(root, cn="expired.test", sans=("expired.test",), days_before=30, days_after=-1),
                        tmp_path, "lenient")
    try:
        lines = [f"dnsconfig setup --servers=127.0.0.1:{dnsmasq} --timeout=2",
                 f"certconfig certauthority custom import root {tmp_path / 'root.pem'}",
                 "certconfig certauthority system disable",
                 "sslconfig peer_cert_fqdn enable", "sslconfig peer_cert_x509 enable"]
        lines += [f"smtproutes new {case}.example.net {host}:{servers[case].port}" for case, host, _, _, _ in MATRIX]
        lines.append(f"smtproutes new lenient.example.org expired.test:{lenient.port}")
        lines.append("destconfig new lenient.example.org --tls=none")
        _cli(datadir, "; ".join(lines) + "; commit matrix")
        # tlsverify says beforehand what delivery will find, with the same validator and the same reasons.
        ok = run_cli(datadir, "-c", "tlsverify good.example.net")
        assert ok.returncode == 0 and "STARTTLS: TLSv1." in ok.stdout, ok.stdout + ok.stderr
        assert "Verification: passed (host name and chain and validity)" in ok.stdout
        assert "Result: TLS would succeed for good.example.net (preferred)." in ok.stdout
        bad = run_cli(datadir, "-c", "tlsverify wronghost.example.net")
        assert bad.returncode == 1 and "Verification: failed: wrong host" in bad.stdout, bad.stdout + bad.stderr
        off = run_cli(datadir, "-c", f"tlsverify lenient.example.org 127.0.0.1:{lenient.port}")
        assert off.returncode == 1 and "TLS is off for this destination" in off.stdout
        d = DaemonProcess(datadir)
        try:
            port = listener_port(datadir, "OutgoingMail")
            with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
                for case, *_ in MATRIX:
                    s.sendmail("a@example.org", [f"user@{case}.example.net"],
                               f"Subject: {case}\r\nMessage-ID: <{case}@x>\r\n\r\nhello\r\n".encode())
                s.sendmail("a@example.org", ["user@lenient.example.org"],
                           b"Subject: lenient\r\nMessage-ID: <lenient@x>\r\n\r\nhello\r\n")
            wanted = [case for case, _, _, ok, _ in MATRIX if ok]
            assert wait_for(lambda: all(servers[c].handler.messages for c in wanted) and lenient.handler.messages,
                            40), {c: len(servers[c].handler.messages) for c in servers}
            for case, host, _, ok, reason in MATRIX:
                if ok:
                    continue
                pattern = rf"certificate of {re.escape(host)} rejected: {re.escape(reason)}"
                assert wait_for(lambda: re.search(pattern, mail_log(datadir)), 20), (case, mail_log(datadir)[-3000:])
                assert servers[case].handler.messages == [], f"{case}: a message went to a peer that failed"
            assert d.request("status")["queued"] == len([m for m in MATRIX if not m[3]])  # kept for retry
            # Validation off for a domain with TLS required-verify: the destination still forces both checks.
            _cli(datadir, "sslconfig peer_cert_fqdn disable; sslconfig peer_cert_x509 disable; "
                          "destconfig new wronghost.example.net --tls=required-verify; "
                          "destconfig new expired.example.net --tls=preferred; commit relaxed")
            wait_applied(datadir)
            d.request("delivernow")
            assert wait_for(lambda: servers["expired"].handler.messages, 30)  # nothing checked now: delivered
            assert wait_for(lambda: all(h["in_delivery"] == 0 for h in d.request("hosts")), 20)  # its attempt is over
            assert servers["wronghost"].handler.messages == []
        finally:
            d.stop()
    finally:
        for s in [*servers.values(), lenient]:
            s.stop()

