"""SMTP AUTH: clients of a listener log in with the gateway's accounts (swaks --auth, after STARTTLS only,
through the shared throttle and lockout); the gateway logs in at a smart host with an outgoing profile."""

from __future__ import annotations

import re
import time

import pki
import pytest
from conftest import (
    OP_PASS,
    DaemonProcess,
    Sink,
    listener_port,
    mail_log,
    run_cli,
    swaks,
    wait_for,
)
from smtpservers import TlsServer


def _ok(datadir, line: str):
    r = run_cli(datadir, "-c", line)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture
def authed(datadir, tmp_path):
    sink = Sink(tmp_path / "sink")
    _ok(datadir, f"smtproutes new ALL 127.0.0.1:{sink.port}; "
                 f"userconfig new op1 --fullname='Operator One' --role=operator --passphrase={OP_PASS}; "
                 "userconfig policy account --lockout=yes --lockout-attempts=3; "
                 "smtpauthconfig new corp --kind=accounts; "
                 "listenerconfig edit OutgoingMail --smtp-auth=corp; listenerconfig edit IncomingMail --smtp-auth=corp; "
                 "listenerconfig hostaccess policy RELAYED --smtp-auth=required; commit smtp auth")
    d = DaemonProcess(datadir)
    d.sink, d.private, d.public = sink, listener_port(datadir, "OutgoingMail"), listener_port(datadir, "IncomingMail")
    yield d
    d.stop()
    sink.stop()


def _auth_log(datadir) -> str:
    path = datadir / "logs" / "authentication" / "authentication.current"
    return path.read_text() if path.exists() else ""


def test_clients_log_in_with_the_gateways_accounts_after_starttls(authed, datadir):
    # Before STARTTLS AUTH is not offered, and the required policy refuses MAIL without it.
    plain = swaks(authed.private, "--from", "a@example.org", "--to", "b@example.com", "--quit-after", "MAIL")
    assert "250-AUTH" not in plain.stdout and "530 5.7.0 Authentication required" in plain.stdout, plain.stdout
    for mech in ("PLAIN", "LOGIN"):
        r = swaks(authed.private, "--tls", "--auth", mech, "--auth-user", "op1", "--auth-password", OP_PASS,
                  "--from", "a@example.org", "--to", "b@example.com", "--header", f"Message-Id: <auth-{mech}@x>")
        assert r.returncode == 0, r.stdout[-1500:]
        assert "250-AUTH LOGIN PLAIN" in r.stdout and "235 2.7.0 Authentication successful" in r.stdout
    assert wait_for(lambda: {"<auth-PLAIN@x>", "<auth-LOGIN@x>"} <= set(authed.sink.message_ids()), 30)
    log = mail_log(datadir)
    assert re.search(r"SMTP Auth: \(ICID \d+\) succeeded for user: op1 using AUTH mechanism: LOGIN with profile: "
                     r"corp$", log, re.M), log[-2000:]
    assert wait_for(lambda: "The user op1 successfully logged on from 127.0.0.1 with privilege operator using "
                            "an SMTP connection." in _auth_log(datadir), 10)


def test_an_authenticated_client_may_relay_through_a_public_listener(authed, datadir):
    outside = ("--from", "a@example.org", "--to", "someone@elsewhere.example")
    refused = swaks(authed.public, "--tls", *outside)
    assert "550 5.7.1 Relaying denied" in refused.stdout
    r = swaks(authed.public, "--tls", "--auth", "PLAIN", "--auth-user", "op1", "--auth-password", OP_PASS, *outside,
              "--header", "Message-Id: <relay-auth@x>")
    assert r.returncode == 0, r.stdout[-1500:]
    assert wait_for(lambda: "<relay-auth@x>" in authed.sink.message_ids(), 30)


def test_failures_are_throttled_logged_and_lock_the_account_everywhere(authed, datadir):
    started = time.monotonic()
    for _ in range(3):
        r = swaks(authed.private, "--tls", "--auth", "PLAIN", "--auth-user", "op1", "--auth-password", "wrong-one",
                  "--from", "a@example.org", "--to", "b@example.com")
        assert "535 5.7.8 Authentication credentials invalid" in r.stdout, r.stdout[-800:]
    assert time.monotonic() - started >= 0.25 + 0.5  # the throttle spaced the second and third attempts
    log = mail_log(datadir)
    assert len(re.findall(r"SMTP Auth: \(ICID \d+\) failed for user: op1 using AUTH mechanism: PLAIN with "
                          r"profile: corp", log)) == 3
    auth = _auth_log(datadir)
    assert "An authentication attempt by the user op1 from 127.0.0.1 failed using an SMTP connection." in auth
    assert wait_for(lambda: "op1" in _auth_log(datadir) and "locked" in _auth_log(datadir).lower(), 10)
    # Locked: the right passphrase no longer works over SMTP, and the shell shows the account locked.
    r = swaks(authed.private, "--tls", "--auth", "PLAIN", "--auth-user", "op1", "--auth-password", OP_PASS,
              "--from", "a@example.org", "--to", "b@example.com")
    assert "535 5.7.8" in r.stdout
    assert re.search(r"op1.*[Ll]ocked", run_cli(datadir, "-c", "userconfig list").stdout)


def test_the_gateway_logs_in_at_a_smart_host_with_an_outgoing_profile(datadir, tmp_path):
    root = pki.ca()
    smart = TlsServer(pki.leaf(root, cn="127.0.0.1", sans=("127.0.0.1",)), tmp_path, "smart",
                      logins={"gw": "Sm4rt-Host-Pw"})
    try:
        _ok(datadir, f"smtpauthconfig new relayhost --kind=outgoing --user=gw --passphrase=Sm4rt-Host-Pw; "
                     f"smtproutes new ALL 127.0.0.1:{smart.port} --auth=relayhost; commit smart host")
        shown = run_cli(datadir, "-c", "showconfig --passphrases=mask").stdout
        assert "<name>relayhost</name>" in shown and "Sm4rt-Host-Pw" not in shown  # sealed, never shown
        d = DaemonProcess(datadir)
        try:
            port = listener_port(datadir, "OutgoingMail")
            assert swaks(port, "--from", "a@example.org", "--to", "b@partner.example",
                         "--header", "Message-Id: <smart@x>").returncode == 0
            assert wait_for(lambda: len(smart.handler.messages) == 1, 30), mail_log(datadir)[-1500:]
            assert smart.attempts and smart.attempts[-1][1:] == ("gw", "Sm4rt-Host-Pw")
            assert smart.handler.over_tls == [True]
        finally:
            d.stop()
    finally:
        smart.stop()
