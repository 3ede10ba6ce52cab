"""Message tracking by mail policy, and reports that keep IP and domain reputation stops apart."""

from __future__ import annotations

import json
import smtplib
import socket

from conftest import DaemonProcess, Sink, listener_port, run_cli, wait_applied, wait_for


def _cli(datadir, line):
    r = run_cli(datadir, "-c", line)
    assert r.returncode == 0, (line, r.stderr)
    return r.stdout


def test_tracking_by_policy_and_the_reports(datadir, tmp_path):
    sink = Sink(tmp_path / "sink")
    _cli(datadir, f"smtproutes new ALL 127.0.0.1:{sink.port}; "
                  "policyconfig new incoming SALES --recipients=sales@; "
                  "reputationconfig local set bad.example awful; commit")
    d = DaemonProcess(datadir)
    try:
        public = listener_port(datadir, "IncomingMail")
        with smtplib.SMTP("127.0.0.1", public, timeout=20) as s:
            for i in range(3):
                s.sendmail("a@good.example", ["sales@example.com"], f"Subject: order {i}\r\n\r\nx\r\n".encode())
            for i in range(2):
                s.sendmail("a@good.example", ["ops@example.com"], f"Subject: status {i}\r\n\r\nx\r\n".encode())
            s.sendmail("a@good.example", ["sales@example.com", "ops@example.com"], b"Subject: both\r\n\r\nx\r\n")
        m_domain = 2
        for _ in range(m_domain):  # refused at MAIL FROM: Stopped by Domain Reputation Filtering
            with smtplib.SMTP("127.0.0.1", public, timeout=20) as s:
                s.ehlo()
                assert s.mail("x@bad.example")[0] == 550
        _cli(datadir, "reputationconfig local set 127.0.0.1 -9; commit")
        wait_applied(datadir)
        n_ip = 3
        for _ in range(n_ip):  # refused before the greeting: Stopped by IP Reputation Filtering
            with socket.create_connection(("127.0.0.1", public), timeout=10) as c:
                assert c.recv(100).startswith(b"554")
        assert wait_for(lambda: len(sink.messages()) == 7, 30)
        # findevent asks the daemon to write the records it holds first: no wait for its next poll.
        sales = json.loads(_cli(datadir, "findevent --policy=SALES --direction=incoming --format=json"))
        assert sorted(r["subject"] for r in sales) == ["both", "order 0", "order 1", "order 2"]
        assert all(r["policies"] == ["incoming SALES"] for r in sales)
        default = json.loads(_cli(datadir, "findevent --policy=DEFAULT --format=json"))
        assert sorted(r["subject"] for r in default) == ["both", "status 0", "status 1"]
        details = json.loads(_cli(datadir, "report mail-policy --format=json"))
        assert details["incoming"]["SALES"]["Messages"] == len(sales)
        assert details["incoming"]["DEFAULT"]["Messages"] == len(default)
        by_subject = json.loads(_cli(datadir, "findevent --subject=order --format=json"))
        assert len(by_subject) == 3
        assert json.loads(_cli(datadir, "findevent --recipient=ops@example.com --format=json"))
        overview = json.loads(_cli(datadir, "report overview --format=json"))["Incoming Mail Summary"]
        assert overview["Stopped by IP Reputation Filtering"] == n_ip
        assert overview["Stopped by Domain Reputation Filtering"] == m_domain
        flow = json.loads(_cli(datadir, "report mail-flow --format=json"))["Threat Detection Summary"]
        assert (flow["Stopped by IP Reputation Filtering"], flow["Stopped by Domain Reputation Filtering"]) == \
            (n_ip, m_domain)
        details = json.loads(_cli(datadir, "report mail-flow-details --format=json"))["Senders"]
        assert details["bad.example"]["Stopped by Domain Reputation Filtering"] == m_domain
        assert details["(address 127.0.0.1)"]["Stopped by IP Reputation Filtering"] == n_ip
        assert details["good.example"]["Clean"] == 7  # six messages, one split in two MIDs by policy
        incoming = json.loads(_cli(datadir, "report incoming --format=json"))
        assert incoming["Sender IP Addresses"]["127.0.0.1"]["Stopped by IP Reputation Filtering"] == n_ip
        assert incoming["Sender Domains"]["bad.example"]["Stopped by Domain Reputation Filtering"] == m_domain
        mid = sales[0]["mid"]
        history = json.loads(_cli(datadir, f"findevent show {mid} --format=json"))
        assert history["mid"] == mid and history["final_action"] == "DELIVERED"
        assert "Stopped by IP Reputation Filtering" in _cli(datadir, "report overview")
    finally:
        d.stop()
        sink.stop()


def test_with_nothing_to_scan_every_message_still_records_its_mail_policy(datadir, tmp_path):
    """The embedded default scans nothing in a one-part text message; its policy is recorded all the same."""
    sink = Sink(tmp_path / "sink")
    _cli(datadir, f"smtproutes new ALL 127.0.0.1:{sink.port}; commit")
    d = DaemonProcess(datadir)
    try:
        with smtplib.SMTP("127.0.0.1", listener_port(datadir, "IncomingMail"), timeout=20) as s:
            s.sendmail("a@good.example", ["ops@example.com"], b"Subject: plain\r\n\r\nno attachments\r\n")
        assert wait_for(lambda: len(sink.messages()) == 1, 30)
        assert wait_for(lambda: json.loads(_cli(datadir, "findevent --policy=DEFAULT --format=json")), 10)
        [found] = json.loads(_cli(datadir, "findevent --policy=DEFAULT --format=json"))
        assert found["subject"] == "plain" and found["policies"] == ["incoming DEFAULT"]
        assert json.loads(_cli(datadir, "report mail-policy --format=json"))["incoming"]["DEFAULT"]["Messages"] == 1
        mail_log = (datadir / "logs" / "mail_logs" / "mail.current").read_text()
        assert f"MID {found['mid']} matched all recipients for per-recipient policy DEFAULT in the inbound table" \
            in mail_log
    finally:
        d.stop()
        sink.stop()
