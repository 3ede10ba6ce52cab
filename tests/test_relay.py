"""The relay end to end with real peers: swaks and smtp-source in, Postfix's smtp-sink out."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest
from conftest import (
    DaemonProcess,
    Sink,
    listener_port,
    mail_log,
    require_peer,
    run_cli,
    swaks,
    wait_applied,
    wait_for,
)


def test_swaks_with_starttls_delivers_once_and_logs_like_the_appliance(relay, datadir):
    r = swaks(relay.public, "--tls", "--from", "alice@example.org", "--to", "bob@example.com",
              "--header", "Subject: relay test", "--header", "Message-Id: <swaks-1@example.org>")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "TLS started" in r.stdout and "250 Ok: Message MID" in r.stdout
    assert wait_for(lambda: relay.sink.message_ids() == ["<swaks-1@example.org>"])
    log = mail_log(datadir)
    for pattern in [
        r"New SMTP ICID \d+ interface Management \(127\.0\.0\.1\) address 127\.0\.0\.1 reverse dns host",
        r"ICID \d+ ACCEPT SG UNKNOWNLIST match ALL SBRS None",
        r"ICID \d+ TLS success protocol TLSv1\.[23] cipher",
        r"Start MID (\d+) ICID \d+", r"MID \d+ ICID \d+ From: <alice@example\.org>",
        r"MID \d+ ICID \d+ RID 0 To: <bob@example\.com>", r"MID \d+ Message-ID '<swaks-1@example\.org>'",
        r'MID \d+ Subject "relay test"', r"MID \d+ ready \d+ bytes from <alice@example\.org>",
        r"Delivery start DCID \d+ MID \d+ to RID \[0\]", r"Message done DCID \d+ MID \d+ to RID \[0\]",
        r"Message finished MID \d+ done",
    ]:
        assert wait_for(lambda: re.search(pattern, mail_log(datadir)) is not None, 5), pattern
    assert re.search(r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} Info: ", log, re.M)
    out = run_cli(datadir, "-c", "status").stdout
    assert re.search(r"Messages Received\s+1", out) and re.search(r"Completed Recipients\s+1", out)


def test_smtp_source_load_arrives_exactly_once(relay):
    require_peer("smtp-source")
    r = subprocess.run(["smtp-source", "-s", "10", "-l", "1024", "-m", "300", "-f", "a@example.org",
                        "-t", "b@example.com", f"127.0.0.1:{relay.public}"], capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert wait_for(lambda: len(relay.sink.messages()) >= 300, 60)
    assert wait_for(lambda: relay.request("status")["queued"] == 0, 20)  # nothing more can come
    assert len(relay.sink.messages()) == 300
    assert relay.request("status")["queued"] == 0


def _read_until(s, pattern: bytes) -> bytes:
    """The server's replies up to the first final line (code, space) that ``pattern`` matches."""
    buf = b""
    while not re.search(rb"(?m)^" + pattern + rb" [^\r\n]*\r\n", buf):
        chunk = s.recv(4000)
        if not chunk:
            break
        buf += chunk
    return buf


def _raw_session(port, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        _read_until(s, b"220")
        s.sendall(b"EHLO test\r\n")
        _read_until(s, b"250")
        s.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
        _read_until(s, b"354")
        s.sendall(data)
        reply = _read_until(s, rb"\d{3}")
        s.sendall(b"QUIT\r\n")
        return reply


@pytest.mark.parametrize("body", [
    b"Subject: x\r\n\r\nsmuggle\n.\nMAIL FROM:<evil@x>\r\n.\r\n",
    b"Subject: x\r\n\r\nsmuggle\r\n.\nRCPT TO:<evil@x>\r\n.\r\n",
    b"Subject: x\r\n\r\nsmuggle\n.\r\nDATA\r\n.\r\n",
    b"Subject: x\r\n\r\nbare CR\r.\rMAIL FROM:<evil@x>\r\n.\r\n",
    b"Subject: x\r\n\r\njust a bare LF\nin the body\r\n.\r\n",
])
def test_bare_cr_or_lf_is_refused_and_nothing_reaches_the_sink(relay, body):
    reply = _raw_session(relay.public, body)
    assert reply.startswith(b"550 5.6.0"), reply  # refused: never queued, so nothing can follow
    assert relay.sink.messages() == []
    assert relay.request("status")["queued"] == 0


@pytest.mark.parametrize("rcpt", [
    "b@other.org", "b%other.org@example.com", "other.org!b@example.com", '"b@other.org"@example.com',
    "@example.com:b@other.org", "b@[127.0.0.1]",
])
def test_no_relay_with_any_address_trick(relay, rcpt):
    r = swaks(relay.public, "--from", "a@example.org", "--to", rcpt, "--quit-after", "RCPT")
    assert re.search(r"<\*\* 5\d\d", r.stdout), r.stdout


def test_null_sender_is_accepted(relay):
    """Bounces come with MAIL FROM:<> (RFC 5321 4.5.5): a gateway must take them."""
    r = swaks(relay.public, "--from", "", "--to", "postmaster@example.com",
              "--header", "Message-Id: <null-sender@example.org>")
    assert r.returncode == 0, r.stdout
    assert wait_for(lambda: "<null-sender@example.org>" in relay.sink.message_ids())


def test_private_listener_relays_for_its_hosts(relay):
    r = swaks(relay.private, "--from", "a@example.com", "--to", "someone@elsewhere.net",
              "--header", "Message-Id: <out-1@example.com>")
    assert r.returncode == 0, r.stdout
    assert wait_for(lambda: "<out-1@example.com>" in relay.sink.message_ids())


def test_nmap_finds_no_open_relay(relay, datadir):
    """nmap's relay tests use example.com, so the listener here accepts only its own domain, mail.test."""
    require_peer("nmap")
    r = run_cli(datadir, "-c", "listenerconfig edit IncomingMail rcptaccess add mail.test; "
                               "listenerconfig edit IncomingMail rcptaccess delete example.com; commit")
    assert r.returncode == 0, r.stderr
    wait_applied(datadir)
    r = subprocess.run(["nmap", "-Pn", "-n", "-p", str(relay.public), "--script", "+smtp-open-relay",
                        "--script-args", "smtp-open-relay.domain=example.com", "127.0.0.1"],
                       capture_output=True, text=True, timeout=300)
    assert "smtp-open-relay" in r.stdout, r.stdout + r.stderr
    report = r.stdout[r.stdout.index("smtp-open-relay"):]
    assert "Server is an open relay" not in r.stdout, report
    assert "doesn't seem to be an open relay" in r.stdout, report


def test_temporary_failure_is_retried_then_delivered_once(datadir, tmp_path):
    failing = Sink(tmp_path / "failing", "-r", "RCPT")
    r = run_cli(datadir, "-c", f"smtproutes new ALL 127.0.0.1:{failing.port}; commit route")
    assert r.returncode == 0
    d = DaemonProcess(datadir)
    try:
        port = listener_port(datadir, "IncomingMail")
        assert swaks(port, "--from", "a@example.org", "--to", "b@example.com",
                     "--header", "Message-Id: <retry-1@example.org>").returncode == 0
        assert wait_for(lambda: "Delayed: DCID" in mail_log(datadir), 20)
        assert d.request("status")["queued"] == 1
        failing.stop()
        good = Sink(tmp_path / "good", port=failing.port)
        assert "1 messages rescheduled" in run_cli(datadir, "-c", "delivernow").stdout
        assert wait_for(lambda: good.message_ids() == ["<retry-1@example.org>"], 20)
        assert wait_for(lambda: d.request("status")["queued"] == 0, 20)
        assert good.message_ids() == ["<retry-1@example.org>"] and d.request("status")["queued"] == 0
        good.stop()
    finally:
        d.stop()


def test_hard_failure_bounces_once_with_an_rfc3464_report(datadir, tmp_path):
    failing = Sink(tmp_path / "failing", "-f", "RCPT")
    senders = Sink(tmp_path / "senders")
    r = run_cli(datadir, "-c", f"smtproutes new example.com 127.0.0.1:{failing.port}; "
                               f"smtproutes new example.org 127.0.0.1:{senders.port}; commit routes")
    assert r.returncode == 0
    d = DaemonProcess(datadir)
    try:
        port = listener_port(datadir, "IncomingMail")
        assert swaks(port, "--from", "alice@example.org", "--to", "nobody@example.com",
                     "--header", "Message-Id: <bounce-me@example.org>").returncode == 0
        assert wait_for(lambda: len(senders.messages()) == 1, 20)
        assert wait_for(lambda: d.request("status")["queued"] == 0, 20)  # the DSN is out: nothing more comes
        dsns = senders.messages()
        assert len(dsns) == 1 and failing.messages() == []
        dsn = dsns[0].decode()
        assert "multipart/report; report-type=delivery-status" in dsn
        assert "Final-Recipient: rfc822; nobody@example.com" in dsn and "Action: failed" in dsn
        assert re.search(r"Status: 5\.\d\.\d", dsn) and re.search(r"(?i)Message-ID: <bounce-me@example\.org>", dsn)
        assert "X-Mail-Args: <>\n" in dsn  # the DSN goes out with a null sender
        log = mail_log(datadir)
        m = re.search(r"Bounced: DCID (\d+) MID (\d+) to RID 0 - (5\.\d\.\d) - [A-Z][a-z ]+ error \('5\d\d', \[", log)
        assert m, log[-1500:]
        assert f"Message finished MID {m.group(2)} done" in log  # a bounced message is done, not aborted
        # The bounces log: the appliance's layout, with both addresses.
        bounces = (datadir / "logs" / "bounces" / "bounces.current").read_text()
        assert re.search(rf"Info: Bounced: DCID {m.group(1)} MID {m.group(2)} From:<alice@example\.org> "
                         rf"To:<nobody@example\.com> RID 0 - {re.escape(m.group(3))} - .+ \(.+\)$", bounces, re.M)
        status = datadir / "logs" / "status" / "status.current"  # its first line comes with the first second
        assert wait_for(lambda: status.exists() and re.search(
            r"Info: Status: CPULd \d+ DskIO \d+ RAMUtil \d+ QKUsd \d+ QKFre \d+ CrtMID \d+ .* InjBytes \d+$",
            status.read_text(), re.M), 10)
    finally:
        d.stop()
        failing.stop()
        senders.stop()


def test_sigkill_under_load_loses_no_accepted_message(datadir, tmp_path):
    """Every Message-ID answered with 250 arrives at the sink after a SIGKILL and a restart."""
    import smtplib
    import threading

    sink = Sink(tmp_path / "sink")
    run_cli(datadir, "-c", f"smtproutes new ALL 127.0.0.1:{sink.port}; commit route")
    d = DaemonProcess(datadir)
    port = listener_port(datadir, "IncomingMail")
    accepted: list[str] = []
    lock = threading.Lock()

    def client(n: int):
        for i in range(60):
            mid = f"<kill-{n}-{i}@example.org>"
            msg = f"Message-ID: {mid}\r\nSubject: {i}\r\n\r\nbody {i}\r\n"
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                    s.sendmail("a@example.org", ["b@example.com"], msg)
                with lock:
                    accepted.append(mid)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    wait_for(lambda: len(accepted) >= 100, 30)
    os.kill(d.proc.pid, signal.SIGKILL)
    d.proc.wait()
    for t in threads:
        t.join(60)
    time.sleep(1)  # the killed daemon's SSH child notices its parent is gone and stops
    restarted = DaemonProcess(datadir)
    try:
        assert wait_for(lambda: set(accepted) <= set(sink.message_ids()), 60), (
            f"missing: {sorted(set(accepted) - set(sink.message_ids()))[:5]}")
        ids = sink.message_ids()
        duplicates = len(ids) - len(set(ids))
        print(f"accepted {len(accepted)}, arrived {len(set(ids))}, duplicates {duplicates}")
    finally:
        restarted.stop()
        sink.stop()


def test_tls_required_on_a_listener(datadir, relay):
    r = run_cli(datadir, "-c", "listenerconfig edit IncomingMail --starttls=required; commit")
    assert r.returncode == 0
    wait_applied(datadir)
    r = swaks(relay.public, "--from", "a@example.org", "--to", "b@example.com", "--quit-after", "MAIL")
    assert re.search(r"<\*\* 530", r.stdout), r.stdout
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    import smtplib

    with smtplib.SMTP("127.0.0.1", relay.public, timeout=10) as s:
        s.starttls(context=ctx)
        s.sendmail("a@example.org", ["b@example.com"], "Message-ID: <tls-req@example.org>\r\n\r\nx\r\n")
    assert wait_for(lambda: "<tls-req@example.org>" in relay.sink.message_ids())


def test_queue_commands_on_a_stuck_destination(datadir, tmp_path):
    failing = Sink(tmp_path / "failing", "-r", "RCPT")
    senders = Sink(tmp_path / "senders")
    good = Sink(tmp_path / "good")
    r = run_cli(datadir, "-c", f"smtproutes new example.com 127.0.0.1:{failing.port}; "
                               f"smtproutes new example.org 127.0.0.1:{senders.port}; commit routes")
    assert r.returncode == 0
    d = DaemonProcess(datadir)
    try:
        port = listener_port(datadir, "IncomingMail")
        for i, rcpt in enumerate(["a@example.com", "b@example.com", "c@example.com"]):
            assert swaks(port, "--from", "alice@example.org", "--to", rcpt,
                         "--header", f"Message-Id: <q-{i}@example.org>", "--header", f"Subject: queued {i}").returncode == 0
        assert wait_for(lambda: mail_log(datadir).count("Delayed: DCID") >= 3, 20)
        out = run_cli(datadir, "-c", "showrecipients all").stdout
        assert "a@example.com" in out and "Subject: queued 1" in out and "Last error: 4" in out
        assert "There are no messages" in run_cli(datadir, "-c", "showrecipients sender bob@example.org").stdout
        out = run_cli(datadir, "-c", "tophosts").stdout
        # Active 3, connections out, delivered 0, soft bounced (each deferral), hard 0; '*': down is for a host that
        # did not answer, and this one answers 4xx.
        assert re.search(r"^\s+1  example\.com\s+3\s+\d+\s+0\s+[1-9]\d*\s+0$", out, re.M), out
        status = run_cli(datadir, "-c", "hoststatus example.com").stdout
        assert re.search(r"Active Recipients\s+3$", status, re.M) and "Host up/down:                    up" in status
        assert re.search(r"Soft Bounced Events\s+[1-9]", status), status
        out = run_cli(datadir, "-c", "deleterecipients recipient a@example.com").stdout
        assert "1 recipients deleted" in out
        out = run_cli(datadir, "-c", "bouncerecipients recipient b@example.com").stdout
        assert "1 recipients bounced" in out
        assert wait_for(lambda: len(senders.messages()) == 1, 20)  # the DSN for b
        assert "Final-Recipient: rfc822; b@example.com" in senders.messages()[0].decode()
        out = run_cli(datadir, "-c", f"redirectrecipients 127.0.0.1:{good.port}").stdout
        assert "delivered to" in out
        assert wait_for(lambda: good.message_ids() == ["<q-2@example.org>"], 20)
        assert wait_for(lambda: d.request("status")["queued"] == 0, 10)
        out = run_cli(datadir, "-c", "tophosts --sort=delivered").stdout
        assert re.search(r"^\s+1  example\.com\s+0\s+0\s+1\s+", out, re.M), out  # c, through the redirect
        run_cli(datadir, "-c", "redirectrecipients clear")
        log = mail_log(datadir)
        assert re.search(r"Message aborted MID \d+ Dropped", log) and re.search(r"Bounced: DCID 0 MID \d+ to RID 0", log)
    finally:
        d.stop()
        for s in (failing, senders, good):
            s.stop()


@pytest.mark.parametrize("flags, expect_delay", [(("-q", "DATA"), True), (("-W", "DATA:2"), False)])
def test_disconnects_are_retried_and_slow_peers_are_waited_for(datadir, tmp_path, flags, expect_delay):
    flaky = Sink(tmp_path / "flaky", *flags)
    r = run_cli(datadir, "-c", f"smtproutes new ALL 127.0.0.1:{flaky.port}; commit route")
    assert r.returncode == 0
    d = DaemonProcess(datadir)
    try:
        port = listener_port(datadir, "IncomingMail")
        assert swaks(port, "--from", "a@example.org", "--to", "b@example.com",
                     "--header", "Message-Id: <flaky-1@example.org>").returncode == 0
        if expect_delay:
            assert wait_for(lambda: "Delayed: DCID" in mail_log(datadir), 20)
            flaky.stop()
            flaky = Sink(tmp_path / "healthy", port=flaky.port)
            run_cli(datadir, "-c", "delivernow")
        assert wait_for(lambda: flaky.message_ids() == ["<flaky-1@example.org>"], 20)
        assert wait_for(lambda: d.request("status")["queued"] == 0, 10)
        assert ("Delayed: DCID" in mail_log(datadir)) == expect_delay
    finally:
        d.stop()
        flaky.stop()


def test_host_access_table_blocks_and_throttles(relay, datadir):
    r = run_cli(datadir, "-c", "listenerconfig hostaccess add BLOCKED_LIST 127.0.0.1; commit block")
    assert r.returncode == 0, r.stderr
    wait_applied(datadir)
    r = swaks(relay.public, "--from", "a@example.org", "--to", "b@example.com", "--quit-after", "MAIL")
    assert re.search(r"<\*\* 554 .*Access denied", r.stdout), r.stdout
    assert re.search(r"ICID \d+ REJECT SG BLOCKED_LIST match 127\.0\.0\.1", mail_log(datadir))
    r = run_cli(datadir, "-c", "listenerconfig hostaccess delete BLOCKED_LIST 127.0.0.1; "
                               "listenerconfig hostaccess add SUSPECTLIST 127.0.0.0/8; "
                               "listenerconfig hostaccess policy THROTTLED --max-messages-per-hour=1; commit throttle")
    assert r.returncode == 0, r.stderr
    wait_applied(datadir)
    assert swaks(relay.public, "--from", "a@example.org", "--to", "b@example.com").returncode == 0
    r = swaks(relay.public, "--from", "a@example.org", "--to", "b@example.com")
    assert re.search(r"<\*\* 452 4\.3\.1 Too many messages", r.stdout), r.stdout
    out = run_cli(datadir, "-c", "listenerconfig hostaccess print").stdout
    assert "SUSPECTLIST" in out and "127.0.0.0/8" in out and "msgs/hour 1" in out
    r = run_cli(datadir, "-c", "listenerconfig hostaccess policy THROTTLED --action=maybe")
    assert r.returncode == 1 and "action: must be one of" in r.stderr


def test_client_vanishing_mid_data_leaves_nothing_queued(relay):
    with socket.create_connection(("127.0.0.1", relay.public), timeout=10) as s:
        s.recv(1000)
        s.sendall(b"EHLO test\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
        time.sleep(0.3)
        s.recv(4000)
        s.sendall(b"Subject: half\r\n\r\nthe client goes away before the final dot\r\n")
    assert wait_for(lambda: relay.request("status")["gauges"]["open_connections"] == 0, 20)
    assert relay.request("status")["queued"] == 0 and relay.sink.messages() == []
    assert list((relay.datadir / "queue").glob("seg-*.q")) == []


def test_commands_pipelined_after_starttls_are_discarded(relay):
    """CVE-2011-0411 style injection: what rides with STARTTLS must not be answered after TLS."""
    raw = socket.create_connection(("127.0.0.1", relay.public), timeout=10)
    f = raw.makefile("rb")
    f.readline()
    raw.sendall(b"EHLO test\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    raw.sendall(b"STARTTLS\r\nRSET\r\n")
    assert f.readline().startswith(b"220")
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    tls = ctx.wrap_socket(raw, server_hostname="localhost")
    tls.settimeout(1.0)
    try:
        extra = tls.recv(1000)
    except (socket.timeout, TimeoutError):
        extra = b""
    assert extra == b"", extra  # no reply to the injected RSET
    tls.sendall(b"EHLO again\r\n")
    tls.settimeout(10)
    assert tls.recv(1000).startswith(b"250")
    tls.close()


def test_too_many_commands_in_one_session_are_cut_off(relay):
    with socket.create_connection(("127.0.0.1", relay.public), timeout=10) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"EHLO test\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        replies = []
        for _ in range(150):
            s.sendall(b"NOOP\r\n")
            line = f.readline()
            replies.append(line)
            if not line or line.startswith(b"421"):
                break
    assert any(r.startswith(b"421") for r in replies), replies[-3:]


def test_message_filters_act_in_the_relay(relay, datadir, tmp_path):
    from corpus import mail as _mail

    script = tmp_path / "f.txt"
    script.write_text('sizes: if (true) { log-entry("$filesizes"); }\n'
                      'nopdf: if (attachment-filetype == "pdf") { drop-attachments-by-filetype("pdf"); '
                      'insert-header("X-Stripped", "$filenames"); }\n'
                      'noexe: if (attachment-filetype == "exe") { drop(); }\n.\n')
    r = run_cli(datadir, "-c", f"filters import {script}; commit filters")
    assert r.returncode == 0, r.stderr
    wait_applied(datadir)
    import smtplib

    three = _mail(("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"), ("b.txt", b"hello", "text/plain"),
                  ("c.bin", b"\x00" * 300, "application/octet-stream"))
    three = three.replace(b"Message-ID: <m1@x>", b"Message-ID: <three@x>")
    exe = _mail(("setup.txt", b"MZ" + b"\x00" * 64, "text/plain")).replace(b"<m1@x>", b"<exe@x>")
    with smtplib.SMTP("127.0.0.1", relay.public, timeout=10) as s:
        s.sendmail("a@example.org", ["b@example.com"], three.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n"))
        s.sendmail("a@example.org", ["b@example.com"], exe.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n"))
    assert wait_for(lambda: "<three@x>" in relay.sink.message_ids(), 30)
    assert wait_for(lambda: "Dropped by filter noexe" in mail_log(datadir), 10)
    log = mail_log(datadir)
    assert re.search(r"MID \d+ Custom Log Entry: 15, 5, 300", log), log[-2000:]
    assert re.search(r"MID \d+ matched all recipients for per-recipient policy DEFAULT in the inbound table", log)
    delivered = relay.sink.messages()[0].decode()
    assert "a.pdf" in delivered.split("X-Stripped:")[1].split("\n")[0]
    assert 'filename="a.pdf"' not in delivered and 'filename="b.txt"' in delivered and 'filename="c.bin"' in delivered
    assert "<exe@x>" not in relay.sink.message_ids()
    assert wait_for(lambda: relay.request("status")["queued"] == 0, 10)  # the sink has it before our side reads its 250
