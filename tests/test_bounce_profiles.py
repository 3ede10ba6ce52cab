"""Bounce profiles (bounceconfig): retries, time in queue, bounce and delay warning messages, per listener and
per destination, against Postfix's smtp-sink answering with soft (-r) and hard (-f) faults."""

from __future__ import annotations

import re

from conftest import (
    DaemonProcess,
    Sink,
    listener_port,
    mail_log,
    run_cli,
    swaks,
    wait_for,
)

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.runner import Shell
from asyncos_cli.shell.scripted import ScriptedPrompter


def _ok(datadir, line: str):
    r = run_cli(datadir, "-c", line)
    assert r.returncode == 0, r.stderr
    return r


def test_batch_forms_and_their_refusals(datadir):
    out = _ok(datadir, "bounceconfig new Fast --max-retries=2 --initial-retry=1 --max-retry=4 --dsn=no "
                       "--bounce-to=postmaster@example.com; listenerconfig edit IncomingMail --bounce-profile=fast; "
                       "destconfig new slow.example --bounce-profile=Fast; commit fast; bounceconfig print").stdout
    assert "2. Fast\n   Maximum number of retries: 2\n" in out
    assert "Use DSN format for bounce messages: No" in out and "Send bounce messages to: postmaster@example.com" in out
    cases = {
        "bounceconfig delete Default": "The Default bounce profile cannot be deleted",
        "bounceconfig delete Fast": "is used by listener IncomingMail, destination slow.example",
        "bounceconfig new fast": "A bounce profile named fast already exists",
        "bounceconfig new X --initial-retry=100 --max-retry=10": "max_retry_seconds",
        "bounceconfig new Y --bounce-to=not-an-address": "is not an email address",
        "bounceconfig new Z --max-retries=-1": "--max-retries",
        "destconfig new a.example --bounce-profile=Nope": "There is no bounce profile named Nope",
        "listenerconfig edit IncomingMail --bounce-profile=Nope": "There is no bounce profile named Nope",
    }
    for line, reason in cases.items():
        r = run_cli(datadir, "-c", line)
        assert r.returncode != 0 and reason in r.stderr, (line, r.stderr)
    assert "bounce profile Fast" in _ok(datadir, "listenerconfig print").stdout
    assert "slow.example: TLS preferred, concurrency 20, bounce profile Fast" in _ok(datadir, "destconfig print").stdout


def test_the_wizard_asks_the_appliances_questions_and_reasks(datadir):
    p = ScriptedPrompter(["NEW", "Slow", "-3", "3", "100", "5", "60", "Y", "N", "Y", "bad address",
                          "ops@example.com", "Y", "120", "2", ""])
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("bounceconfig")
    profile = ctx.config.bounces.get("Slow")
    assert (profile.max_retries, profile.max_queue_seconds, profile.initial_retry_seconds,
            profile.max_retry_seconds) == (3, 100, 5, 60)
    assert profile.hard_bounce_messages and not profile.dsn_format and profile.bounce_address == "ops@example.com"
    assert profile.delay_warnings and (profile.warning_interval_seconds, profile.max_warnings) == (120, 2)
    text = p.text
    assert "Current bounce profiles:\n1. Default" in text
    assert "Please enter the maximum number of retries." in text and text.count("maximum number of retries") == 2
    assert "Do you want to send delay warning messages?" in text
    assert "'bad address' is not an email address" in text


def test_soft_bounces_retry_per_the_destinations_profile_then_bounce_with_a_warning_first(datadir, tmp_path):
    """Mail to soft.example meets 4xx at RCPT: its destination's profile retries three times a second apart,
    sends one delay warning, then hard bounces with a plain text bounce, both to the profile's address. Mail to
    hard.example (5xx) under a profile that sends no bounce messages bounces silently."""
    soft = Sink(tmp_path / "soft", "-r", "RCPT")
    hard = Sink(tmp_path / "hard", "-f", "RCPT")
    home = Sink(tmp_path / "home")
    try:
        _ok(datadir, f"smtproutes new soft.example 127.0.0.1:{soft.port}; "
                     f"smtproutes new hard.example 127.0.0.1:{hard.port}; "
                     f"smtproutes new example.org 127.0.0.1:{home.port}; "
                     "bounceconfig new Soft --max-retries=3 --initial-retry=1 --max-retry=1 --dsn=no "
                     "--delay-warnings=yes --warning-interval=1 --bounce-to=ops@example.org; "
                     "bounceconfig new Quiet --hard-bounce=no; "
                     "destconfig new soft.example --bounce-profile=Soft; "
                     "destconfig new hard.example --bounce-profile=Quiet; "
                     "listenerconfig edit IncomingMail rcptaccess add soft.example; "
                     "listenerconfig edit IncomingMail rcptaccess add hard.example; commit profiles")
        d = DaemonProcess(datadir)
        try:
            port = listener_port(datadir, "IncomingMail")
            assert swaks(port, "--from", "alice@example.org", "--to", "bob@soft.example",
                         "--header", "Message-Id: <soft@example.org>").returncode == 0
            assert swaks(port, "--from", "alice@example.org", "--to", "carol@hard.example",
                         "--header", "Message-Id: <hard@example.org>").returncode == 0
            assert wait_for(lambda: d.request("status")["queued"] == 0 and len(home.messages()) >= 2, 40)
            log = mail_log(datadir)
            soft_mid = re.search(r"MID (\d+) Message-ID '<soft@example\.org>'", log).group(1)
            hard_mid = re.search(r"MID (\d+) Message-ID '<hard@example\.org>'", log).group(1)
            assert len(re.findall(rf"Delayed: DCID \d+ MID {soft_mid} to RID \[0\]", log)) == 4, log[-3000:]
            assert re.search(rf"Bounced: DCID 0 MID {soft_mid} to RID 0 - 4\.4\.7 - .*Maximum retries reached", log)
            assert re.search(rf"MID \d+ was generated for delay warning of MID {soft_mid}$", log, re.M)
            assert re.search(rf"MID \d+ was generated for bounce of MID {soft_mid}$", log, re.M)
            warning, bounce = sorted((m.decode() for m in home.messages()), key=lambda m: "Delayed Mail" not in m)
            for text in (warning, bounce):
                assert "X-Rcpt-Args: <ops@example.org>" in text and "X-Mail-Args: <>" in text
                assert "multipart/report" not in text and "Content-Type: text/plain" in text
            assert "Subject: Delayed Mail (still being retried)" in warning and "still being retried" in warning
            assert "<bob@soft.example>: 421 4.4.7 Maximum retries reached (3)" in bounce
            assert re.search(rf"MID {hard_mid} RID \[0\] no bounce message generated \(bounce profile Quiet\)", log)
            assert not re.search(rf"was generated for bounce of MID {hard_mid}$", log, re.M)
            assert len(home.messages()) == 2 and soft.messages() == [] and hard.messages() == []
        finally:
            d.stop()
    finally:
        for s in (soft, hard, home):
            s.stop()


def test_a_peer_that_hangs_up_is_retried_as_the_listeners_profile_says(datadir, tmp_path):
    """smtp-sink -q RCPT drops the connection after RCPT: a soft failure, retried once under the listener's
    profile (no destination profile), then bounced with an RFC 3464 report to the sender."""
    gone = Sink(tmp_path / "gone", "-q", "RCPT")
    home = Sink(tmp_path / "home")
    try:
        _ok(datadir, f"smtproutes new gone.example 127.0.0.1:{gone.port}; "
                     f"smtproutes new example.org 127.0.0.1:{home.port}; "
                     "bounceconfig new Once --max-retries=1 --initial-retry=1; "
                     "listenerconfig edit IncomingMail --bounce-profile=Once; "
                     "listenerconfig edit IncomingMail rcptaccess add gone.example; commit once")
        d = DaemonProcess(datadir)
        try:
            port = listener_port(datadir, "IncomingMail")
            assert swaks(port, "--from", "alice@example.org", "--to", "dan@gone.example",
                         "--header", "Message-Id: <gone@example.org>").returncode == 0
            assert wait_for(lambda: d.request("status")["queued"] == 0 and len(home.messages()) == 1, 30)
            log = mail_log(datadir)
            mid = re.search(r"MID (\d+) Message-ID '<gone@example\.org>'", log).group(1)
            assert len(re.findall(rf"Delayed: DCID \d+ MID {mid} to RID \[0\]", log)) == 2, log[-2000:]
            dsn = home.messages()[0].decode()
            assert "X-Rcpt-Args: <alice@example.org>" in dsn and "multipart/report" in dsn
            assert "Action: failed" in dsn and "Maximum retries reached (1)" in dsn
        finally:
            d.stop()
    finally:
        gone.stop()
        home.stop()
