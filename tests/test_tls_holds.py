"""TLS that holds: "required" never fails open, strict certificate imports, 454 under "preferred"."""

from __future__ import annotations

import re
import subprocess

import pki
import pytest
from aiosmtpd.controller import Controller
from conftest import (
    ON_POSTGRES,
    DaemonProcess,
    batch_fails,
    batch_ok,
    free_port,
    listener_port,
    mail_log,
    swaks,
    wait_for,
)
from smtpservers import _Collect

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.config.schema import Certificate
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.runner import Shell
from asyncos_cli.shell.scripted import ScriptedPrompter


def _weak_certificate(tmp_path) -> tuple[str, str]:
    """A 512-bit RSA certificate made by openssl itself (cryptography will not make one)."""
    key, cert = tmp_path / "weak.key", tmp_path / "weak.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:512", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "30", "-subj", "/CN=weak.example.com"], check=True, capture_output=True)
    return cert.read_text(), key.read_text()


def _store_bad_cipher_list(datadir) -> None:
    """A cipher list an older release let through (sslconfig refuses it today, see below)."""
    import json
    import sqlite3

    with sqlite3.connect(datadir / "asyncos.db") as conn:
        head = conn.execute("SELECT max(id) FROM config_versions").fetchone()[0]
        body = json.loads(conn.execute("SELECT body FROM config_sections WHERE version = ? AND name = 'ssl'",
                                       (head,)).fetchone()[0])
        body["inbound_ciphers"] = "NO-SUCH-CIPHER"
        conn.execute("UPDATE config_sections SET body = ? WHERE version = ? AND name = 'ssl'",
                     (json.dumps(body), head))


@pytest.mark.parametrize("fault", ["512-bit certificate", "bad cipher list"])
def test_a_required_listener_whose_tls_cannot_start_takes_nothing_in_clear(datadir, tmp_path, fault):
    if fault == "bad cipher list" and ON_POSTGRES:
        pytest.skip("writes an older release's row into the embedded store (SQLite only)")
    ctx = Context(DataDir(datadir), ScriptedPrompter([], batch=True), batch=True, confined=False)
    shell = Shell(ctx)
    if fault == "512-bit certificate":
        # Stored as an older release could have (certconfig refuses such a key today, see below).
        chain, key = _weak_certificate(tmp_path)
        ctx.replace_section("certificates", certificates=(
            *ctx.config.certificates.certificates, Certificate("weak", chain, ctx.keyring.seal(key), "server")))
        shell.execute("listenerconfig edit IncomingMail --certificate=weak")
    shell.execute("listenerconfig edit IncomingMail --starttls=required")
    shell.execute("commit required")
    ctx.close()
    if fault == "bad cipher list":
        _store_bad_cipher_list(datadir)
    d = DaemonProcess(datadir)
    try:
        port = listener_port(datadir, "IncomingMail")
        r = swaks(port, "--from", "a@example.org", "--to", "b@example.com")
        assert r.returncode != 0 and "530 5.7.0 Must issue a STARTTLS command first" in r.stdout, r.stdout
        r = swaks(port, "--tls", "--from", "a@example.org", "--to", "b@example.com")
        assert r.returncode != 0 and "250 Ok: Message" not in r.stdout
        assert "STARTTLS required" in batch_ok(datadir, "listenerconfig print")
        system = (datadir / "logs" / "system_logs" / "system.current").read_text()
        assert re.search(r"Critical: Listener IncomingMail: TLS is unavailable \(.+\); STARTTLS is required", system)
        assert wait_for(lambda: "TLS is unavailable" in batch_ok(datadir, "displayalerts"), 10)
        assert d.request("status")["queued"] == 0
    finally:
        d.stop()


def test_cipher_lists_and_methods_are_checked_at_commit(datadir):
    err = batch_fails(datadir, "sslconfig inbound --ciphers=NO-SUCH-CIPHER")
    assert "OpenSSL refuses the cipher list 'NO-SUCH-CIPHER': No cipher can be selected" in err
    err = batch_fails(datadir, "sslconfig outbound --methods='TLSv1.1 TLSv1.2'")
    assert "no cipher of" in err and "serves TLSv1.1" in err
    batch_ok(datadir, "sslconfig inbound --methods='TLSv1.1 TLSv1.2' --ciphers=ECDHE+AESGCM:ECDHE+AES; commit old")


def _import(datadir, tmp_path, issued, stem, *extra):
    cert, key = issued.write(tmp_path, stem)
    bundle = tmp_path / f"{stem}-bundle.pem"
    bundle.write_text(cert.read_text() + key.read_text())
    return bundle


def test_certificates_that_cannot_serve_are_refused_at_import(datadir, tmp_path):
    root = pki.ca()
    chain, key = _weak_certificate(tmp_path)
    (tmp_path / "weak-bundle.pem").write_text(chain + key)
    err = batch_fails(datadir, f"certconfig certificate import weak {tmp_path / 'weak-bundle.pem'} --check-fqdn=no")
    assert "its RSA key has 512 bits: at least 2048 are required" in err
    dsa = tmp_path / "dsa"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "dsa:" + str(_dsa_params(tmp_path)), "-nodes", "-keyout",
                    f"{dsa}.key", "-out", f"{dsa}.pem", "-days", "30", "-subj", "/CN=dsa.example.com"],
                   check=True, capture_output=True)
    (tmp_path / "dsa-bundle.pem").write_text((tmp_path / "dsa.pem").read_text() + (tmp_path / "dsa.key").read_text())
    err = batch_fails(datadir, f"certconfig certificate import dsa {tmp_path / 'dsa-bundle.pem'} --check-fqdn=no")
    assert "DSA keys are not accepted" in err
    expired = _import(datadir, tmp_path, pki.leaf(root, cn="old.example.com", sans=("old.example.com",),
                                                  days_before=60, days_after=-1), "expired")
    err = batch_fails(datadir, f"certconfig certificate import old {expired}")
    assert "expired on" in err and "--allow-expired" in err
    out = batch_ok(datadir, f"certconfig certificate import old {expired} --allow-expired=yes; commit keep old")
    assert "no listener will present it" in out
    future = _import(datadir, tmp_path, pki.leaf(root, cn="new.example.com", sans=("new.example.com",),
                                                 days_before=-3), "future")
    assert "not valid before" in batch_fails(datadir, f"certconfig certificate import new {future}")
    soon = _import(datadir, tmp_path, pki.leaf(root, cn="soon.example.com", sans=("soon.example.com",),
                                               days_after=10), "soon")
    assert re.search(r"Warning: the certificate expires in \d+ days",
                     batch_ok(datadir, f"certconfig certificate import soon {soon}; commit soon"))
    good = _import(datadir, tmp_path, pki.leaf(root, cn="good.example.com", sans=("good.example.com",)), "good")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text(good.read_text() + "trailing text that is no PEM block\n")
    assert "text after its last PEM block" in batch_fails(datadir, f"certconfig certificate import g {garbage}")
    # an expired certificate kept on purpose is never presented: the listener offers no STARTTLS
    batch_ok(datadir, "listenerconfig edit IncomingMail --certificate=old; commit use old")
    d = DaemonProcess(datadir)
    try:
        r = swaks(listener_port(datadir, "IncomingMail"), "--tls", "--quit-after", "EHLO")
        assert "STARTTLS" not in r.stdout.split("EHLO", 1)[-1] or "454" in r.stdout or r.returncode != 0
        assert "old: the certificate expired on" in (datadir / "logs" / "system_logs" / "system.current").read_text()
        status = batch_ok(datadir, "status")
        assert re.search(r"WARNING: the certificate soon expires in \d+ days\.", status)
        assert "WARNING: the certificate old expired 1 days ago." in status or "certificate old expired" in status
    finally:
        d.stop()


def _dsa_params(tmp_path):
    params = tmp_path / "dsa.params"
    subprocess.run(["openssl", "dsaparam", "-out", str(params), "2048"], check=True, capture_output=True)
    return params


def test_a_454_to_starttls_under_preferred_delivers_in_clear(datadir, tmp_path):
    from aiosmtpd.smtp import SMTP

    class Refusing(SMTP):
        async def smtp_STARTTLS(self, arg):
            await self.push("454 4.7.0 TLS not available due to temporary reason")

    class Ctl(Controller):
        def factory(self):
            return Refusing(self.handler, tls_context=self.tls_ctx, require_starttls=False)

    import ssl

    leaf = pki.leaf(pki.ca(), cn="peer.test", sans=("peer.test",))
    cert, key = leaf.write(tmp_path, "peer")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    handler = _Collect()
    port = free_port()
    ctl = Ctl(handler, hostname="127.0.0.1", port=port)
    ctl.tls_ctx = tls
    ctl.start()
    try:
        batch_ok(datadir, f"smtproutes new ALL 127.0.0.1:{port}; destconfig new example.com --tls=preferred; "
                          "commit 454 peer")
        d = DaemonProcess(datadir)
        try:
            r = swaks(listener_port(datadir, "OutgoingMail"), "--from", "a@example.org", "--to", "b@example.com")
            assert r.returncode == 0, r.stdout
            assert wait_for(lambda: handler.messages, 30)
            assert re.search(r"DCID \d+ TLS not available from 127\.0\.0\.1 \(454 4\.7\.0 TLS not available.*\): "
                             r"delivering in clear \(TLS preferred\)", mail_log(datadir))
            assert wait_for(lambda: d.request("status")["queued"] == 0, 10)  # the sink has it before the queue lets go
        finally:
            d.stop()
        # required: the same peer gets nothing, and the Delayed line names the real DCID
        batch_ok(datadir, "destconfig edit example.com --tls=required; commit required")
        d = DaemonProcess(datadir)
        try:
            swaks(listener_port(datadir, "OutgoingMail"), "--from", "a@example.org", "--to", "c@example.com")
            assert wait_for(lambda: re.search(r"Delayed: DCID [1-9]\d* MID \d+ to RID \[0\] - 4\.7\.5 TLS required",
                                              mail_log(datadir)), 30), mail_log(datadir)[-2000:]
            assert len(handler.messages) == 1  # the Delayed line comes after the attempt that sent nothing
        finally:
            d.stop()
    finally:
        ctl.stop()


def test_outbound_tls_success_is_logged_with_the_dcid(datadir, tmp_path):
    from smtpservers import TlsServer

    server = TlsServer(pki.leaf(pki.ca(), cn="peer.test", sans=("peer.test",)), tmp_path, "ok")
    try:
        batch_ok(datadir, f"smtproutes new ALL 127.0.0.1:{server.port}; logconfig new cef --type=consolidated; "
                          "commit tls peer")
        d = DaemonProcess(datadir)
        try:
            swaks(listener_port(datadir, "OutgoingMail"), "--from", "a@example.org", "--to", "b@example.com")
            assert wait_for(lambda: server.handler.messages, 30)
            m = re.search(r"DCID (\d+) TLS success protocol (TLSv1\.[23]) cipher (\S+)", mail_log(datadir))
            assert m
            # The Consolidated Event Log carries the same delivery connection and its TLS.
            cef = datadir / "logs" / "cef" / "cef.current"
            assert wait_for(lambda: cef.exists() and "CEF:0" in cef.read_text(), 20)
            line = next(x for x in cef.read_text().splitlines() if "CEF:0" in x)
            for field in (f"ESADCID={m.group(1)} ", f"ESATLSOutCipher={m.group(3)} ", "ESATLSOutConnStatus=Success ",
                          f"ESATLSOutProtocol={m.group(2)}", "deviceOutboundInterface=OutgoingMail ",
                          "deviceDirection=1 ", "ESAMailFlowPolicy=RELAY "):
                assert field in line, (field, line)
        finally:
            d.stop()
    finally:
        server.stop()


def test_loadconfig_imports_certificates_as_certconfig_does(datadir, tmp_path):
    chain, key = _weak_certificate(tmp_path)
    ctx = Context(DataDir(datadir), ScriptedPrompter([], batch=True), batch=True, confined=False)
    ctx.replace_section("certificates", certificates=(
        *ctx.config.certificates.certificates, Certificate("weak", chain, ctx.keyring.seal(key), "server")))
    Shell(ctx).execute("commit a weak certificate, as an older release allowed")
    ctx.close()
    saved = tmp_path / "with-weak.xml"
    batch_ok(datadir, f"saveconfig {saved}; certconfig certificate delete weak; commit without it")
    err = batch_fails(datadir, f"loadconfig {saved}")
    assert "the certificate weak cannot be imported: its RSA key has 512 bits" in err and "Nothing was changed" in err
    assert "weak" not in batch_ok(datadir, "certconfig certificate print")
