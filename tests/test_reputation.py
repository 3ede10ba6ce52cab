"""Reputation at the door: DNS lists served by dnsmasq, an HTTP API behind tinyproxy, SBRS and SDR in SMTP."""

from __future__ import annotations

import http.server
import json
import re
import smtplib
import socket
import subprocess
import threading
import time

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


def _cli(datadir, line, ok=True):
    r = run_cli(datadir, "-c", line)
    assert (r.returncode == 0) == ok, (line, r.stdout, r.stderr)
    return r


@pytest.fixture
def dns_lists(tmp_path):
    """dnsmasq serving a DBL-style domain list and a DNSBL-style IP list on a free port."""
    require_peer("dnsmasq")
    port = free_port()
    proc = subprocess.Popen(
        ["dnsmasq", "--no-resolv", "--no-hosts", "--keep-in-foreground", f"--port={port}",
         "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root", f"--pid-file={tmp_path / 'dns.pid'}",
         "--local=/dbl.test/", "--local=/rbl.test/",
         "--address=/awful.example.dbl.test/127.0.1.4", "--address=/spammy.example.dbl.test/127.0.1.2",
         "--address=/1.0.0.127.rbl.test/127.0.0.2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.3)
    assert proc.poll() is None, proc.stderr.read()
    yield port
    proc.terminate()
    proc.wait()


def _mail_from(port: int, sender: str) -> tuple[int, str]:
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.ehlo()
        code, text = s.mail(sender)
        return code, text.decode()


def _counters(d) -> dict:
    return d.request("status")["mail_counters"]


def test_sdr_refuses_awful_domains_on_incoming_only_with_exceptions(datadir, dns_lists):
    _cli(datadir, f"reputationconfig provider new dbl --kind=domain --type=dns --zone=dbl.test "
                  f"--resolver=127.0.0.1:{dns_lists} --timeout=2; commit dbl")
    d = DaemonProcess(datadir)
    try:
        public, private = listener_port(datadir, "IncomingMail"), listener_port(datadir, "OutgoingMail")
        code, text = _mail_from(public, "a@awful.example")
        assert code == 550 and "awful.example reputation Awful (phishing)" in text
        assert _mail_from(private, "a@awful.example")[0] == 250  # outgoing: RELAYED has the SDR check off
        assert _mail_from(public, "a@spammy.example")[0] == 250  # Poor is above the default threshold
        assert _mail_from(public, "a@clean.example")[0] == 250  # not listed: Neutral
        log = mail_log(datadir)
        assert re.search(r"ICID \d+ SDR: env-from awful.example Verdict: Awful Threat Category: phishing REJECT", log)
        assert re.search(r"ICID \d+ SDR: env-from clean.example Verdict: Neutral", log)
        assert _counters(d)["stopped_by_domain_reputation"] == 1
        _cli(datadir, "domainrepconfig domainexceptionlist add awful.example; "
                      "sdrconfig domainreputation enable --verdict=poor; commit exceptions")
        wait_applied(datadir)
        assert _mail_from(public, "a@awful.example")[0] == 250  # the exception list wins
        assert _mail_from(public, "a@spammy.example")[0] == 550  # Poor is now refused
        _cli(datadir, "listenerconfig edit IncomingMail hostaccess policy ACCEPTED --sdr=no; commit off")
        wait_applied(datadir)
        assert _mail_from(public, "a@spammy.example")[0] == 250  # the mail flow policy's switch
        assert _counters(d)["stopped_by_domain_reputation"] == 2
        assert _counters(d)["stopped_by_ip_reputation"] == 0
    finally:
        d.stop()


def test_ip_and_domain_reputation_counters_stay_apart(datadir, dns_lists):
    _cli(datadir, f"reputationconfig provider new rbl --kind=ip --type=dns --zone=rbl.test "
                  f"--resolver=127.0.0.1:{dns_lists}; reputationconfig local set awful.example awful; commit")
    d = DaemonProcess(datadir)
    try:
        public = listener_port(datadir, "IncomingMail")
        for _ in range(3):  # 127.0.0.1 is listed: SBRS -10, BLOCKED_LIST, refused before anything else
            with socket.create_connection(("127.0.0.1", public), timeout=10) as s:
                assert s.recv(200).startswith(b"554")
        assert re.search(r"ICID \d+ REJECT SG BLOCKED_LIST match SBRS\[-10.0:-3.0\] SBRS -10.0", mail_log(datadir))
        _cli(datadir, "reputationconfig provider delete rbl; commit")
        wait_applied(datadir)
        for _ in range(2):
            assert _mail_from(public, "x@awful.example")[0] == 550
        c = _counters(d)
        assert (c["stopped_by_ip_reputation"], c["stopped_by_domain_reputation"]) == (3, 2)
        out = run_cli(datadir, "-c", "status").stdout
        assert re.search(r"Stopped by IP Reputation Filtering\s+3", out)
        assert re.search(r"Stopped by Domain Reputation Filtering\s+2", out)
    finally:
        d.stop()


def test_a_provider_that_does_not_answer_gives_unknown_within_its_timeout(datadir):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # a DNS "server" that never answers
    silent.bind(("127.0.0.1", 0))
    port = silent.getsockname()[1]
    try:
        _cli(datadir, f"reputationconfig provider new slow --kind=domain --type=dns --zone=dbl.test "
                      f"--resolver=127.0.0.1:{port} --timeout=0.5; sdrconfig advanced --timeout=1; commit slow")
        d = DaemonProcess(datadir)
        try:
            started = time.monotonic()
            code, _ = _mail_from(listener_port(datadir, "IncomingMail"), "a@whatever.example")
            assert code == 250 and time.monotonic() - started < 10
            assert re.search(r"ICID \d+ SDR: env-from whatever.example Verdict: Unknown", mail_log(datadir))
            system = (datadir / "logs" / "system_logs" / "system.current").read_text()
            assert "Reputation provider slow failed: no answer within 0.5 s" in system
        finally:
            d.stop()
    finally:
        silent.close()


class _Api(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):
        _Api.seen.append((self.path, self.headers.get("Authorization"), self.headers.get("Via", "")))
        verdicts = {"evil.example": {"verdict": "awful", "category": "malware"}}
        domain = self.path.split("domain=")[-1]
        body = json.dumps(verdicts.get(domain, {"verdict": "good"})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_http_provider_through_a_real_forward_proxy(datadir, tmp_path):
    require_peer("tinyproxy")
    api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    proxy_port = free_port()
    conf = tmp_path / "tinyproxy.conf"
    log = tmp_path / "tinyproxy.log"
    conf.write_text(f"Port {proxy_port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogFile \"{log}\"\n"
                    "LogLevel Info\nMaxClients 20\n")
    proxy = subprocess.Popen(["tinyproxy", "-d", "-c", str(conf)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    token = tmp_path / "token"
    token.write_text("api-token-123\n")
    try:
        assert wait_for(lambda: socket.socket().connect_ex(("127.0.0.1", proxy_port)) == 0, 10)
        _cli(datadir, f"outboundconfig setup --proxy=127.0.0.1:{proxy_port}; "
                      f"reputationconfig provider new api --kind=domain --type=http "
                      f"--url=http://127.0.0.1:{api.server_address[1]}/v1/domain --token-file={token}; commit api")
        d = DaemonProcess(datadir)
        try:
            public = listener_port(datadir, "IncomingMail")
            code, text = _mail_from(public, "a@evil.example")
            assert code == 550 and "(malware)" in text
            assert _mail_from(public, "a@fine.example")[0] == 250
            paths = [p for p, _, _ in _Api.seen]
            assert "/v1/domain?domain=evil.example" in paths
            assert all(auth == "Bearer api-token-123" for _, auth, _ in _Api.seen)
            assert all("tinyproxy" in via for _, _, via in _Api.seen)  # every request went through the proxy
            assert "evil.example" in log.read_text()
        finally:
            d.stop()
    finally:
        proxy.terminate()
        proxy.wait()
        api.shutdown()


class _Clickers(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer aware-token" or _Clickers.status != 200:
            self.send_response(401 if _Clickers.status == 200 else _Clickers.status)
            self.end_headers()
            return
        body = json.dumps({"repeat_clickers": ["Clicker@example.com", "again@example.com"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_repeat_clickers_get_the_stricter_policy_and_a_failed_refresh_keeps_the_list(datadir, tmp_path):
    import ssl

    import pki

    root = pki.ca()
    cert, key = pki.leaf(root, cn="localhost", sans=("localhost", "127.0.0.1")).write(tmp_path, "aware")
    (tmp_path / "root.pem").write_text(root.cert_pem)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Clickers)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    token = tmp_path / "token"
    token.write_text("aware-token\n")
    cf = tmp_path / "cf.txt"
    cf.write_text('strict: if (true) { insert-header("X-Repeat-Clicker", "yes"); }\n.\n')
    try:
        _cli(datadir, f"certconfig certauthority custom import aware-root {tmp_path / 'root.pem'}; "
                      f"awarenessconfig setup --enabled=yes --url=https://localhost:{server.server_address[1]}/list "
                      f"--token-file={token}; policyconfig filters import incoming {cf}; "
                      "policyconfig new incoming CLICKERS --repeat-clickers=yes --content-filters=strict; commit")
        d = DaemonProcess(datadir)
        sink = None
        try:
            from conftest import Sink

            sink = Sink(tmp_path / "sink")
            _cli(datadir, f"smtproutes new ALL 127.0.0.1:{sink.port}; commit route")
            assert wait_for(lambda: "Repeat-clicker list refreshed" in
                            (datadir / "logs" / "system_logs" / "system.current").read_text(), 20)
            assert "Repeat clickers: 2" in _cli(datadir, "awarenessconfig print").stdout
            public = listener_port(datadir, "IncomingMail")
            wait_applied(datadir)
            with smtplib.SMTP("127.0.0.1", public, timeout=20) as s:
                s.sendmail("a@sender.example", ["clicker@example.com", "safe@example.com"],
                           b"Subject: hi\r\nMessage-ID: <aw1@x>\r\n\r\nhello\r\n")
            assert wait_for(lambda: len(sink.messages()) == 2, 30)
            strict = [m for m in sink.messages() if b"X-Repeat-Clicker: yes" in m]
            assert len(strict) == 1 and b"clicker@example.com" in strict[0].split(b"\r\n\r\n")[0].lower()
            split = re.search(r"MID (\d+) was split creating MID (\d+) due to a per-recipient policy CLICKERS|"
                              r"MID (\d+) was split creating MID (\d+) due to a per-recipient policy DEFAULT",
                              mail_log(datadir))
            assert split
            mids = [int(m) for m in split.groups() if m]
            policies = sorted(tuple(d.request("tracking", mid=m)["policies"]) for m in mids)
            assert policies == [("incoming CLICKERS",), ("incoming DEFAULT",)]  # the tracking record names it
            # The service fails: the list stays.
            _Clickers.status = 500
            _cli(datadir, "awarenessconfig setup --interval=5; commit again")  # a change asks the service at once
            assert wait_for(lambda: "Repeat-clicker list refresh failed" in
                            (datadir / "logs" / "system_logs" / "system.current").read_text(), 20)
            assert "Repeat clickers: 2" in _cli(datadir, "awarenessconfig print").stdout
        finally:
            d.stop()
            if sink is not None:
                sink.stop()
    finally:
        _Clickers.status = 200
        server.shutdown()


def test_the_sdr_verdict_reaches_filters_and_tracking(datadir, dns_lists, tmp_path):
    script = tmp_path / "f.txt"
    script.write_text('poorish: if (sdr-reputation == "poor" AND sdr-threat-category == "spam") '
                      '{ insert-header("X-SDR", "$EnvelopeFrom is poor"); }\n.\n')
    _cli(datadir, f"reputationconfig provider new dbl --kind=domain --type=dns --zone=dbl.test "
                  f"--resolver=127.0.0.1:{dns_lists}; filters import {script}; commit")
    from conftest import Sink

    sink = Sink(tmp_path / "sink")
    _cli(datadir, f"smtproutes new ALL 127.0.0.1:{sink.port}; commit route")
    d = DaemonProcess(datadir)
    try:
        with smtplib.SMTP("127.0.0.1", listener_port(datadir, "IncomingMail"), timeout=20) as s:
            s.sendmail("a@spammy.example", ["b@example.com"], b"Subject: x\r\nMessage-ID: <sdr@x>\r\n\r\nhi\r\n")
        assert wait_for(lambda: sink.messages(), 30)
        assert b"X-SDR: a@spammy.example is poor" in sink.messages()[0]
        mid = int(re.search(r"MID (\d+) Message-ID '<sdr@x>'", mail_log(datadir)).group(1))
        assert d.request("tracking", mid=mid)["verdicts"]["sdr"] == {"verdict": "POOR", "detail": "spam"}
    finally:
        d.stop()
        sink.stop()


def test_the_header_from_domain_gets_its_verdict_after_data(datadir, dns_lists, tmp_path):
    script = tmp_path / "f.txt"
    script.write_text('any: if (true) { log-entry("scanned"); }\n.\n')
    _cli(datadir, f"reputationconfig provider new dbl --kind=domain --type=dns --zone=dbl.test "
                  f"--resolver=127.0.0.1:{dns_lists}; filters import {script}; commit")
    d = DaemonProcess(datadir)
    try:
        with smtplib.SMTP("127.0.0.1", listener_port(datadir, "IncomingMail"), timeout=20) as s:
            s.ehlo("mx.clean.example")
            s.sendmail("bounce@clean.example", ["b@example.com"],
                       b"From: Bank <service@awful.example>\r\nReply-To: <desk@reply.example>\r\nSubject: x\r\n"
                       b"Message-ID: <hf@x>\r\n\r\nhi\r\n")
        assert wait_for(lambda: "SDR: header-from awful.example Verdict: Awful Threat Category: phishing"
                        in mail_log(datadir), 30)
        mid = int(re.search(r"MID (\d+) Message-ID '<hf@x>'", mail_log(datadir)).group(1))
        # The appliance's per-MID SDR lines: every domain asked about, then the consolidated verdict.
        log = mail_log(datadir)
        assert (f"MID {mid} SDR: Domains for which SDR is requested: reverse DNS host: N/A, helo: mx.clean.example, "
                "env-from: clean.example, header-from: awful.example, reply-to: reply.example") in log, log[-2000:]
        assert re.search(rf"MID {mid} SDR: Consolidated Sender Threat Level: Neutral, Threat Category: N/A, "
                         r"Suspected Domain\(s\) : N/A \(other reasons for verdict\)\. Sender Maturity: \d+ days? "
                         r"for domain: clean\.example$", log, re.M), log[-2000:]
        verdicts = d.request("tracking", mid=mid)["verdicts"]
        assert verdicts["sdr_header_from"] == {"verdict": "AWFUL", "detail": "awful.example phishing"}
        assert verdicts["sdr"]["verdict"] == "NEUTRAL"  # the envelope sender's own verdict
    finally:
        d.stop()
