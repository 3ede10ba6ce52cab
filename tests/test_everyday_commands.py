"""The everyday commands (#28): tail and grep on the logs, showmessage, suspend and resume."""

from __future__ import annotations

import re
import time

import pytest
from conftest import OP_PASS, SHELL_PROMPT, batch_fails, batch_ok, require_peer

LOG = "system_logs"


def _write_log(datadir, lines: list[str]) -> None:
    """Lines as the gateway writes them, appended to the subscription's current file."""
    path = datadir / "logs" / LOG / "system.current"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        for line in lines:
            f.write(f"Sat Dec 05 10:00:00 2026 Info: {line}\n")


def test_tail_prints_the_last_lines_of_a_big_log_in_batch(datadir):
    _write_log(datadir, [f"filler {i} " + "x" * 100 for i in range(60000)])  # about 8 MB
    _write_log(datadir, [f"last {i}" for i in range(5)])
    out = batch_ok(datadir, f"tail {LOG} --lines=3").splitlines()
    assert [line.split("Info: ")[1] for line in out] == ["last 2", "last 3", "last 4"]
    default = batch_ok(datadir, f"tail {LOG}").splitlines()
    assert len(default) == 10 and default[-1].endswith("last 4")
    number = [s for s in batch_ok(datadir, "logconfig print").splitlines() if f'"{LOG}"' in s][0].split(".")[0]
    assert batch_ok(datadir, f"tail {number} --lines=1").strip().endswith("last 4")  # a log by its number


def test_tail_refuses_what_it_cannot_do(datadir):
    assert "Name the log to show" in batch_fails(datadir, "tail")
    assert "No log named nosuch" in batch_fails(datadir, "tail nosuch")
    assert "--lines" in batch_fails(datadir, f"tail {LOG} --lines=many")
    batch_ok(datadir, "logconfig new pushed --type=mail --prefix=pushed --retrieval=syslog "
                      "--syslog-host=127.0.0.1; commit pushed")
    assert "pushed to syslog" in batch_fails(datadir, "tail pushed")


def test_grep_takes_the_appliance_options(datadir):
    _write_log(datadir, ["one", "two", "MID 7 TLS failed", "four", "five", "six", "seven", "mid 9 tls FAILED",
                         "nine", "-Err at the start"])
    plain = batch_ok(datadir, f"grep 'TLS failed' {LOG}").splitlines()
    assert len(plain) == 1 and plain[0].endswith("MID 7 TLS failed")
    folded = batch_ok(datadir, f"grep -i 'tls failed' {LOG}").splitlines()
    assert [line.split("Info: ")[1] for line in folded] == ["MID 7 TLS failed", "mid 9 tls FAILED"]
    context = [line.split("Info: ")[1] if "Info: " in line else line
               for line in batch_ok(datadir, f"grep -C 1 -i 'tls failed' {LOG}").splitlines()]
    assert context == ["two", "MID 7 TLS failed", "four", "--", "seven", "mid 9 tls FAILED", "nine"]
    assert batch_ok(datadir, f"grep -e -Err {LOG}").strip().endswith("-Err at the start")
    assert batch_ok(datadir, f"grep nothing-like-this {LOG}") == ""


def test_grep_refuses_bad_input_with_the_reason(datadir):
    assert "Invalid regular expression" in batch_fails(datadir, f"grep '(' {LOG}")
    assert "Usage: grep" in batch_fails(datadir, "grep")
    assert "No log named nosuch" in batch_fails(datadir, "grep x nosuch")
    assert "-C" in batch_fails(datadir, f"grep -C lots x {LOG}")
    assert "Unknown option -z" in batch_fails(datadir, f"grep -z x {LOG}")
    assert "interactive session only" in batch_fails(datadir, f"grep -t x {LOG}")


def test_tail_follows_at_a_terminal_until_ctrl_c(datadir):
    pytest.importorskip("pexpect")
    from test_terminal import PROMPT, spawn

    _write_log(datadir, ["before the tail"])
    child = spawn(datadir)
    try:
        child.expect(PROMPT)
        child.send("tail\r")
        child.expect("Enter the number of the log you wish to tail.")
        numbers = {name: num for num, name in re.findall(r'(\d+)\. "(\w+)"', child.before)}
        child.send(numbers[LOG] + "\r")
        child.expect("before the tail")
        child.expect("Press Ctrl-C to stop.")
        _write_log(datadir, ["written while followed"])
        child.expect("written while followed", timeout=10)
        child.sendintr()
        child.expect(PROMPT)
        time.sleep(0.3)
        child.send("version\r")
        child.expect("Serial #")  # the shell goes on after Ctrl-C
    finally:
        child.terminate(force=True)


@pytest.mark.admin_services
def test_tail_follows_over_ssh_until_ctrl_c(gateway, datadir, tmp_path):
    require_peer("ssh")
    pexpect = pytest.importorskip("pexpect")
    import test_ssh

    test_ssh.ASKPASS = tmp_path / "askpass.sh"  # what test_ssh's own tests get from their fixture
    test_ssh.ASKPASS.write_text('#!/bin/sh\nprintf "%s\\n" "$ASYNCOS_TEST_PASS"\n')
    test_ssh.ASKPASS.chmod(0o700)
    ssh_cmd = test_ssh.ssh_cmd

    _write_log(datadir, ["before the tail"])
    args, env = ssh_cmd(gateway.port, "op1", password=OP_PASS, tty=True)
    child = pexpect.spawn(args[0], args[1:], env=env, encoding="utf-8", timeout=20, dimensions=(40, 120))
    prompt = re.escape(SHELL_PROMPT)
    try:
        child.expect(prompt)
        child.send(f"tail {LOG}\r")
        child.expect("before the tail")
        child.expect("Press Ctrl-C to stop.")
        _write_log(datadir, ["written while followed"])
        child.expect("written while followed", timeout=10)
        child.sendintr()
        child.expect(prompt)
        child.send("version\r")
        child.expect("Serial #")
    finally:
        child.terminate(force=True)


def test_showmessage_shows_a_queued_and_a_quarantined_message_safely(relay, datadir, tmp_path):
    import smtplib

    from conftest import listener_port, mail_log, wait_applied, wait_for

    script = tmp_path / "f.txt"
    script.write_text('hold: if (subject == "^hold") { quarantine("Policy"); }\n.\n')
    batch_ok(datadir, f"filters import {script}; commit hold")
    wait_applied(datadir)
    batch_ok(datadir, "workqueue pause")
    evil = "\x1b[2J\x1b]0;owned\x07"
    with smtplib.SMTP("127.0.0.1", listener_port(datadir, "IncomingMail"), timeout=20) as s:
        s.sendmail("a@example.org", ["b@example.com"],
                   f"Subject: queued {evil}\r\nX-Folded: one\r\n\ttwo\r\n\r\nbody {evil}\r\n".encode())
        s.sendmail("a@example.org", ["c@example.com"], b"Subject: hold me\r\n\r\nheld body\r\n")
    assert wait_for(lambda: relay.request("status")["queued"] == 1, 20)
    queued = relay.request("queue")[0]["mid"]
    out = batch_ok(datadir, f"showmessage {queued}")
    assert out.startswith(f"MID {queued} (queue), ") and "from <a@example.org> to <b@example.com>" in out
    assert "\x1b" not in out and "\x07" not in out
    assert "Subject: queued \\x1b[2J\\x1b]0;owned\\x07" in out and "body \\x1b[2J" in out
    assert "X-Folded: one\n\ttwo" in out  # a folded header keeps its tab
    assert wait_for(lambda: re.search(r"MID \d+ quarantined", mail_log(datadir)), 20)
    mid = re.search(r"MID (\d+) quarantined", mail_log(datadir)).group(1)
    out = batch_ok(datadir, f"showmessage {mid}")
    assert out.startswith(f"MID {mid} (quarantine Policy), ") and "held body" in out
    # findevent finds the message still in the queue too, with no final action yet
    import json

    found = json.loads(batch_ok(datadir, "findevent --recipient=b@example.com --format=json"))
    assert [(r["mid"], r["final_action"]) for r in found] == [(queued, None)]
    assert "in progress" in batch_ok(datadir, "findevent --recipient=b@example.com --format=table")
    assert "is not in the queue or a quarantine" in batch_fails(datadir, "showmessage 999999")
    assert "is not a MID" in batch_fails(datadir, "showmessage abc")
    batch_ok(datadir, "workqueue resume")


def test_suspend_and_resume_receiving_and_delivery(relay, datadir):
    import smtplib
    import socket

    from conftest import wait_for

    idle = smtplib.SMTP("127.0.0.1", relay.public, timeout=20)
    idle.ehlo()
    out = batch_ok(datadir, "suspend --delay=1")
    assert "Receiving suspended. 1 connections still open after 1 s were closed." in out
    assert "Mail delivery suspended." in out
    with pytest.raises(smtplib.SMTPServerDisconnected):
        idle.mail("a@example.org")  # the session open past the delay was closed
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", relay.public), timeout=5)
    rows = dict(relay.request("status")["components"])
    assert rows["Listener IncomingMail"].startswith("suspended") and rows["Delivery"] == "paused"
    assert "Receiving resumed." in batch_ok(datadir, "resume")
    with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
        s.sendmail("a@example.org", ["b@example.com"], b"Message-ID: <after-resume@x>\r\n\r\nhello\r\n")
    assert wait_for(lambda: "<after-resume@x>" in relay.sink.message_ids(), 20)

    # Delivery only: mail is accepted and waits in the queue until resumedel.
    assert "Mail delivery suspended." in batch_ok(datadir, "suspenddel --delay=0")
    with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
        s.sendmail("a@example.org", ["b@example.com"], b"Message-ID: <held-back@x>\r\n\r\nhello\r\n")
    assert wait_for(lambda: relay.request("status")["queued"] == 1, 20)
    assert "<held-back@x>" not in relay.sink.message_ids()
    assert "Mail delivery resumed. Messages in the queue: 1." in batch_ok(datadir, "resumedel")
    assert wait_for(lambda: "<held-back@x>" in relay.sink.message_ids(), 20)
    assert "--delay" in batch_fails(datadir, "suspend --delay=forever")


def test_whoami_names_the_account_and_its_role(datadir):
    out = batch_ok(datadir, "whoami")
    assert out.splitlines() == ["Username: admin", "Full Name: Administrator", "Groups: admin",
                                "Logged in from: console"]
    assert batch_ok(datadir, "logout") == ""  # the appliance's word for quit


def test_nslookup_asks_the_gateways_resolvers(datadir, tmp_path):
    import subprocess

    from conftest import free_port

    require_peer("dnsmasq")
    port = free_port()
    dns = subprocess.Popen(["dnsmasq", "--no-resolv", "--no-hosts", "--keep-in-foreground", f"--port={port}",
                            "--listen-address=127.0.0.1", "--bind-interfaces", "--local=/test/",
                            "--address=/mail.example.test/127.0.0.5", "--mx-host=example.test,mail.example.test,10",
                            "--user=root", f"--pid-file={tmp_path / 'dns.pid'}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        batch_ok(datadir, f"dnsconfig setup --servers=127.0.0.1:{port} --timeout=3; commit dns")
        assert re.search(r"A=127\.0\.0\.5 TTL=\d+s", batch_ok(datadir, "nslookup mail.example.test"))
        assert re.search(r"MX=mail\.example\.test PREF=10 TTL=\d+s", batch_ok(datadir, "nslookup example.test mx"))
        assert "does not exist (NXDOMAIN)" in batch_fails(datadir, "nslookup nothing.test")
        assert "not a query type" in batch_fails(datadir, "nslookup example.test BOGUS")
    finally:
        dns.terminate()
        dns.wait()


# ---------------------------------------------------------------- network tools: the machine's programs, real sockets


def test_ping_and_traceroute_run_the_machines_programs(datadir):
    require_peer("ping", "traceroute")
    out = batch_ok(datadir, "ping 127.0.0.1 --count=2")
    assert "2 packets transmitted, 2 received" in out
    assert "traceroute to 127.0.0.1" in batch_ok(datadir, "traceroute 127.0.0.1")
    # What a program would read as an option is refused before anything runs.
    assert "is not a host name or an IP address" in batch_fails(datadir, "ping -f")
    assert "--count: give a number of requests from 1 to 100" in batch_fails(datadir, "ping 127.0.0.1 --count=1000")


def test_telnet_holds_an_smtp_conversation_over_a_real_socket(datadir, tmp_path):
    from conftest import Sink, free_port

    sink = Sink(tmp_path / "sink")
    try:
        out = batch_ok(datadir, f"telnet 127.0.0.1 {sink.port} --send='EHLO gateway.example.com' --send=QUIT")
        lines = out.splitlines()
        assert lines[:3] == ["Trying 127.0.0.1...", "Connected to 127.0.0.1.", "Escape character is '^]'."]
        assert lines[3].startswith("220 ") and "EHLO gateway.example.com" in lines
        ehlo = lines.index("EHLO gateway.example.com")
        assert lines[ehlo + 1].startswith("250") and any(x.startswith("250 ") for x in lines[ehlo + 1:])
        assert any(x.startswith("221") for x in lines)  # the answer to QUIT
    finally:
        sink.stop()
    closed = free_port()
    assert "Unable to connect to remote host" in batch_fails(datadir, f"telnet 127.0.0.1 {closed}")
    assert "the port is a number from 1 to 65535" in batch_fails(datadir, "telnet 127.0.0.1 99999")


@pytest.fixture
def local_zone_restored():
    """In-process batch commands set this process's zone: give the others theirs back."""
    import os

    saved = os.environ.get("TZ")
    yield
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


def test_settz_moves_the_times_of_the_logs(datadir, local_zone_restored):
    import calendar

    assert "unknown time zone 'Mars/Olympus'" in batch_fails(datadir, "settz Mars/Olympus")
    assert "Current time zone: UTC" in batch_ok(datadir, "settz print")
    assert "Asia/Tokyo" in batch_ok(datadir, "settz list Asia")
    batch_ok(datadir, "settz Asia/Tokyo; commit tokyo")  # UTC+9 all year: no daylight saving to race
    assert "Current time zone: Asia/Tokyo" in batch_ok(datadir, "settz print")
    batch_ok(datadir, "version")
    before = time.time()
    line = (datadir / "logs" / "cli_logs" / "cli.current").read_text().splitlines()[-1]
    stamp = calendar.timegm(time.strptime(line[:24], "%a %b %d %H:%M:%S %Y"))  # the wall clock the line shows
    assert abs(stamp - (before + 9 * 3600)) < 120, line


def test_last_and_who_read_the_authentication_log(datadir):
    def at(seconds_ago: float) -> str:
        return time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(time.time() - seconds_ago))

    log = datadir / "logs" / "authentication" / "authentication.current"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("\n".join([
        f"{at(7200)} Info: The user op1 successfully logged on from 10.0.0.5 with privilege operator using an SSH "
        "connection.",
        f"{at(5400)} Info: User op1 logged out of SSH session 10.0.0.5",
        f"{at(4000)} Info: The user admin successfully logged on from 10.0.0.9 with privilege admin using an HTTPS "
        "connection.",  # no logout line: its cookie expired after the 30-minute inactivity timeout
        f"{at(600)} Info: The user ro1 successfully logged on from 10.0.0.7 with privilege readonly using an SSH "
        "connection.",
        f"{at(300)} Warning: An authentication attempt by the user eve from 10.6.6.6 failed using an SSH connection.",
    ]) + "\n")
    out = batch_ok(datadir, "last")
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [r[0] for r in rows] == ["ro1", "admin", "op1"]  # newest first; failures are not logins
    assert "still logged in" in out.splitlines()[2] and "(timed out)" in out.splitlines()[3]
    assert rows[2][-1] == "30m" and rows[1][-1] == "30m"  # op1: 2 h ago to 1.5 h ago
    assert [r[0] for r in (line.split() for line in batch_ok(datadir, "last --user=op1").splitlines()[2:])] == ["op1"]
    who = [line.split() for line in batch_ok(datadir, "who").splitlines()[2:]]
    assert [(r[0], r[-2]) for r in who] == [("ro1", "10.0.0.7"), ("admin", "console")]  # op1 left; admin's web
    # session timed out; this console session is listed as the console
    assert "--count: give a number" in batch_fails(datadir, "last --count=0")


def test_reboot_restarts_the_gateway_and_shutdown_stops_it_keeping_the_queue(datadir):
    import smtplib

    from conftest import DaemonProcess, free_port, listener_port, run_cli, wait_for

    assert "The gateway is not running" in batch_fails(datadir, "reboot --delay=0")
    # A destination that refuses connections: the message stays queued (deferred) across the restart.
    batch_ok(datadir, f"smtproutes new example.net 127.0.0.1:{free_port()}; commit a closed destination")
    d = DaemonProcess(datadir)
    try:
        first = d.request("status")["pid"]
        batch_ok(datadir, "workqueue pause")  # held in the queue across the restart
        with smtplib.SMTP("127.0.0.1", listener_port(datadir, "OutgoingMail"), timeout=20) as s:
            s.sendmail("a@example.org", ["b@example.net"], b"Subject: kept\r\n\r\nqueued across a reboot\r\n")
        out = batch_ok(datadir, "reboot --delay=1")
        assert "Receiving suspended." in out and "the queue is kept (1 messages)" in out
        assert wait_for(lambda: d.proc.poll() is not None, 30)  # the daemon that was asked went away...

        def restarted():
            try:
                return d.request("status")["pid"] != first
            except Exception:
                return False

        assert wait_for(restarted, 30)  # ...and a new one answers, with the message still queued
        assert wait_for(lambda: d.request("status")["queued"] == 1, 10)
        out = batch_ok(datadir, "shutdown --delay=0")
        assert "System shutting down. The queue is kept on disk (1 messages)." in out
        assert "The gateway is stopped" in out
        assert "the gateway is not running" in run_cli(datadir, "stop").stdout
    finally:
        run_cli(datadir, "stop")
        d.stop()


@pytest.mark.admin_services
def test_resetconfig_restores_the_factory_configuration_but_keeps_the_way_in(datadir):
    from conftest import interface_port

    ssh_port = interface_port(datadir, "SSH")
    batch_ok(datadir, f"sethostname mail.corp.example; userconfig new op1 --fullname='Op One' --role=operator "
                      f"--passphrase={OP_PASS}; commit before the reset")
    assert "confirm it with --confirm" in batch_fails(datadir, "resetconfig")
    out = batch_ok(datadir, "resetconfig --confirm")
    assert "All settings have been restored to the factory default." in out and "Accounts removed: op1." in out
    config = batch_ok(datadir, "showconfig")
    assert "mail.corp.example" not in config and "op1" not in batch_ok(datadir, "userconfig list")
    assert interface_port(datadir, "SSH") == ssh_port  # the interfaces stay: the administrator keeps the way in
    assert "resetconfig: factory defaults" in batch_ok(datadir, "rollbackconfig print")


def test_diagnostic_smtpping_disk_usage_and_tracking(datadir, tmp_path):
    from conftest import Sink, free_port

    sink = Sink(tmp_path / "sink")
    try:
        out = batch_ok(datadir, f"diagnostic network smtpping 127.0.0.1:{sink.port} --to=b@example.com")
        steps = [line.split()[0] for line in out.splitlines()[:5]]
        assert steps == ["connect", "EHLO", "MAIL", "RCPT", "QUIT"] and "succeeded" in out
        assert sink.messages() == []  # nothing was sent
    finally:
        sink.stop()
    assert "cannot connect" in batch_fails(datadir, f"diagnostic network smtpping 127.0.0.1:{free_port()}")
    usage = batch_ok(datadir, "diagnostic disk_usage")
    assert "Filesystem:" in usage and re.search(r"^asyncos\.db\s+\d", usage, re.M)
    assert "Messages tracked: 0" in batch_ok(datadir, "diagnostic tracking")
    batch_fails(datadir, "diagnostic services")  # no daemon: refused with the reason, exit 1


def test_ntpconfig_compares_the_clock_with_a_real_time_server(datadir, tmp_path):
    """chronyd serves NTP on 127.0.0.1 (its own clock, which it never sets: -x); the gateway reads the offset."""
    import subprocess

    from conftest import DaemonProcess, free_port, wait_for

    require_peer("chronyd")
    port = free_port()
    conf = tmp_path / "chrony.conf"
    conf.write_text(f"port {port}\nbindaddress 127.0.0.1\ncmdport 0\nlocal stratum 8\nallow 127.0.0.1\n"
                    f"pidfile {tmp_path / 'chronyd.pid'}\ndriftfile {tmp_path / 'drift'}\n")
    chronyd = subprocess.Popen(["chronyd", "-x", "-d", "-f", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    try:
        assert "No NTP server is configured" in batch_ok(datadir, "ntpconfig print")
        assert "the port is a number" in batch_fails(datadir, "ntpconfig new 127.0.0.1:99999")
        batch_ok(datadir, f"ntpconfig new 127.0.0.1:{port}; commit time server")
        assert "already configured" in batch_fails(datadir, f"ntpconfig new 127.0.0.1:{port}")
        assert "does not set it" in batch_ok(datadir, "ntpconfig print")
        d = DaemonProcess(datadir)
        try:
            seen: list[str] = []

            def checked():
                seen.append(batch_ok(datadir, "ntpconfig check"))
                return "offset" in seen[-1]

            assert wait_for(checked, 15), seen[-1:]
            out = seen[-1]
            assert re.search(rf"127\.0\.0\.1:{port}: offset [+-]0\.\d+ s \(stratum 8\)", out), out
            offset = float(re.search(r"offset ([+-][\d.]+)", out).group(1))
            assert abs(offset) < 0.5  # the same machine's clock
            assert wait_for(lambda: re.search(r"Clock \(NTP\)\s+offset [+-]0\.\d+ s from 127\.0\.0\.1",
                                              batch_ok(datadir, "status")), 15)
        finally:
            d.stop()
    finally:
        chronyd.terminate()
        chronyd.wait()


def test_findevent_wizard_asks_the_appliances_questions(datadir):
    import sqlite3

    from asyncos_cli.config.datadir import DataDir
    from asyncos_cli.services.tracking import _SCHEMA, TrackingRecord, write_records
    from asyncos_cli.shell.context import Context
    from asyncos_cli.shell.runner import Shell
    from asyncos_cli.shell.scripted import ScriptedPrompter

    conn = sqlite3.connect(DataDir(datadir).database)
    conn.executescript(_SCHEMA)
    rec = TrackingRecord(77, 5, time.time() - 3600, "alice@example.org", ("bob@example.com",), 100, "wizard test",
                         "<w@x>")
    rec.final_action, rec.finished, rec.policies = "DELIVERED", time.time() - 3500, ["incoming DEFAULT"]
    with conn:
        write_records(conn, [rec])
    conn.close()
    p = ScriptedPrompter(["4", "bob@example.com", "2", "2"])  # envelope TO, the address, a time range: 2 hours
    Shell(Context(DataDir(datadir), p, confined=False)).execute("findevent")
    text = p.text
    assert "Please choose which type of search you want to perform:" in text and "Search by envelope TO" in text
    assert "Enter the number of hours back to start searching." in text
    assert re.search(r"│ 77 +│.*wizard test", text), text
    p = ScriptedPrompter(["2", "x", "77", "1"])  # by MID: a non-number is re-asked
    Shell(Context(DataDir(datadir), p, confined=False)).execute("findevent")
    assert "A MID is a number." in p.text and re.search(r"│ 77 +│", p.text)


def test_diagnostic_queue_and_resources_from_the_running_gateway(datadir, tmp_path):
    """Delivery paused with three recipients queued for two domains: the queue report counts them by destination;
    the resources report shows this second's readings (#28)."""
    import smtplib

    from conftest import DaemonProcess, listener_port

    batch_ok(datadir, "smtproutes new ALL 127.0.0.1:9; commit route nowhere")
    d = DaemonProcess(datadir)
    try:
        batch_ok(datadir, "workqueue pause")
        with smtplib.SMTP("127.0.0.1", listener_port(datadir, "OutgoingMail"), timeout=20) as s:
            s.sendmail("a@example.org", ["x@one.example", "y@one.example"], b"Subject: 1\r\n\r\nq\r\n")
            s.sendmail("a@example.org", ["z@two.example"], b"Subject: 2\r\n\r\nq\r\n")
        out = batch_ok(datadir, "diagnostic queue")
        assert "Messages in the queue: 2" in out and "Oldest message: received" in out
        assert re.search(r"^one\.example +2 +2 ", out, re.M) and re.search(r"^two\.example +1 +1 ", out, re.M), out
        res = batch_ok(datadir, "diagnostic resources")
        assert re.search(r"^CPU utilization +\d+%$", res, re.M) and re.search(r"^Open files +\d+$", res, re.M)
        assert "Data directory free" in res
    finally:
        d.stop()
