"""SPF (RFC 7208) per mail flow policy: records served by dnsmasq (--txt-record), mail sent with swaks, results in
mail_logs, tracking, Authentication-Results and filters; a fail refused at RCPT when the policy says so."""

from __future__ import annotations

import re
import subprocess

import pytest
from conftest import (
    free_port,
    mail_log,
    require_peer,
    run_cli,
    swaks,
    wait_applied,
    wait_for,
)

RECORDS = {
    "pass.example": "v=spf1 ip4:127.0.0.0/8 -all",
    "fail.example": "v=spf1 ip4:192.0.2.1 -all",
    "soft.example": "v=spf1 ip4:192.0.2.1 ~all",
    "loop.example": "v=spf1 include:loop.example -all",
    "void.example": "v=spf1 a:n1.void.example a:n2.void.example a:n3.void.example ip4:127.0.0.0/8 -all",
    "many.example": "v=spf1 " + " ".join(f"include:i{n}.many.example" for n in range(11)) + " -all",
    **{f"i{n}.many.example": "v=spf1 ?all" for n in range(11)},
}


@pytest.fixture
def spf_dns(tmp_path):
    require_peer("dnsmasq")
    port = free_port()
    proc = subprocess.Popen(["dnsmasq", "--no-resolv", "--no-hosts", "--keep-in-foreground", f"--port={port}",
                             "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root", "--local=/example/",
                             f"--pid-file={tmp_path / 'dnsmasq.pid'}",
                             *(f"--txt-record={name},{text}" for name, text in RECORDS.items())],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    yield port
    proc.terminate()
    proc.wait()


def _send(port, sender, message_id):
    return swaks(port, "--from", sender, "--to", "bob@example.com", "--helo", "mx.pass.example",
                 "--header", f"Message-Id: <{message_id}>")


def test_spf_results_reach_logs_tracking_headers_and_filters(relay, datadir, spf_dns):
    script = datadir / "config" / "spf.txt"
    script.parent.mkdir(exist_ok=True)
    script.write_text('spf_soft: if (spf-status == "SoftFail") { insert-header("X-SPF-Soft", "yes"); }\n.\n'
                      'spf_ok: if (spf-passed) { insert-header("X-SPF-Passed", "yes"); }\n.\n')
    r = run_cli(datadir, "-c", f"dnsconfig setup --servers=127.0.0.1:{spf_dns}; filters import {script}; "
                               "listenerconfig hostaccess policy ACCEPTED --spf=on --spf-reject=yes; commit spf")
    assert r.returncode == 0, r.stderr
    wait_applied(datadir)
    for sender in ("alice@pass.example", "carol@soft.example", "dan@loop.example", "erin@void.example",
                   "frank@many.example"):
        assert _send(relay.public, sender, sender).returncode == 0, sender
    refused = _send(relay.public, "mallory@fail.example", "mallory@fail.example")
    assert "550 5.7.23 SPF validation failed" in refused.stdout, refused.stdout[-600:]
    wanted = {f"<{s}>" for s in ("alice@pass.example", "carol@soft.example", "dan@loop.example",
                                 "erin@void.example", "frank@many.example")}
    assert wait_for(lambda: wanted <= set(relay.sink.message_ids()), 30)
    by_id = {re.search(rb"Message-I[dD]: (<[^>]+>)", m).group(1).decode(): m.decode() for m in relay.sink.messages()}
    expected = {"alice@pass.example": "pass", "carol@soft.example": "softfail", "dan@loop.example": "permerror",
                "erin@void.example": "permerror", "frank@many.example": "permerror"}
    for sender, result in expected.items():
        got = by_id[f"<{sender}>"]
        assert re.search(rf"Authentication-Results: ironport\.example\.com;\s+spf={result} smtp\.mailfrom={sender}",
                         got), (sender, got[:600])
        assert "spf=none smtp.helo=postmaster@mx.pass.example" in got
    assert "X-SPF-Passed: yes" in by_id["<alice@pass.example>"] and "X-SPF-Soft" not in by_id["<alice@pass.example>"]
    assert "X-SPF-Soft: yes" in by_id["<carol@soft.example>"]
    log = mail_log(datadir)
    assert re.search(r"MID \d+ SPF: mailfrom identity alice@pass\.example Pass \(v=spf1\)$", log, re.M), log[-2500:]
    assert re.search(r"MID \d+ SPF: helo identity postmaster@mx\.pass\.example None$", log, re.M)
    assert re.search(r"MID \d+ SPF: mailfrom identity carol@soft\.example SoftFail \(v=spf1\)$", log, re.M)
    assert re.search(r"ICID \d+ RCPT <bob@example\.com> rejected: SPF fail for mallory@fail\.example", log)
    mid = re.search(r"MID (\d+) Message-ID '<alice@pass\.example>'", log).group(1)
    assert relay.request("tracking", mid=int(mid))["verdicts"]["spf"]["verdict"] == "PASS"


def test_sidf_conformance_is_refused_as_not_supported(datadir):
    r = run_cli(datadir, "-c", "listenerconfig hostaccess policy ACCEPTED --spf=on --spf-conformance=sidf")
    assert r.returncode != 0 and "SIDF) is not supported yet" in r.stderr
