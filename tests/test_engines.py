"""The threat engines with their real peers: clamd, Rspamd, and an HTTPS reputation service behind tinyproxy.

Mail goes in over SMTP (smtplib) and out to Postfix's smtp-sink; every outcome
is checked at the sink and in the message's tracking record.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
import smtplib
import threading
import time

import pki
import pytest
from conftest import mail_log, require_peer, run_cli, wait_for
from corpus import info_zip, mail, plain_zip
from engine_peers import (
    EVIL_FILE,
    EVIL_STRING,
    Clamd,
    ReputationService,
    Rspamd,
    Tinyproxy,
)


def _send(port: int, content: bytes, rcpts=("b@example.com",)) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.sendmail("a@example.org", list(rcpts), content)


def _cli(datadir, line: str, relay=None):
    r = run_cli(datadir, "-c", line)
    assert r.returncode == 0, (line, r.stdout, r.stderr)
    if relay is not None:
        relay.request("reload")  # the running gateway takes the new version now
    return r


def _mid(datadir, message_id: str) -> int:
    found = []
    assert wait_for(lambda: found.extend(re.findall(rf"MID (\d+) Message-ID '{re.escape(message_id)}'",
                                                   mail_log(datadir))) or found, 20)
    return int(found[0])


def _finished(relay, mid: int, timeout: float = 30) -> dict:
    record = {}

    def done():
        record.update(relay.request("tracking", mid=mid) or {})
        return record.get("final_action")

    assert wait_for(done, timeout), record
    return record


def _delivered(relay, marker: str, timeout: float = 30) -> email.message.EmailMessage:
    """The delivered message whose Message-ID is ``marker`` ("<...>"), or that holds the text ``marker``."""
    pattern = re.compile(rb"^Message-ID:\s*" + re.escape(marker.encode()), re.M | re.I) if marker.startswith("<") \
        else re.compile(re.escape(marker.encode()))
    found = lambda: [m for m in relay.sink.messages() if pattern.search(m)]  # noqa: E731
    assert wait_for(found, timeout), mail_log(relay.datadir)[-3000:]
    raw = found()[0]
    return email.message_from_bytes(raw, policy=email.policy.default)


@pytest.fixture(scope="module")
def clamd():
    require_peer("clamd")
    c = Clamd()
    yield c
    c.close()


@pytest.fixture(scope="module")
def rspamd():
    require_peer("rspamd", "dnsmasq")
    r = Rspamd()
    yield r
    r.close()


# ---------------------------------------------------------------- anti-virus


def test_clamd_verdicts_strip_drop_encrypted_and_decrypted(relay, datadir, clamd, tmp_path):
    _cli(datadir, f"antivirusconfig setup --enabled=yes --clamd={clamd.endpoint}; "
                  "antivirusconfig policy incoming DEFAULT --infected=strip --infected-tag=[VIRUS-REMOVED] --infected-notify=sender "
                  "--encrypted=quarantine --encrypted-quarantine=Virus; "
                  "protectedattachmentconfig setup --inbound=yes; "
                  "protectedattachmentconfig new --priority=1 --passphrase=open-sesame-42; commit av", relay)

    # A known file by its hash, beside a clean one: the infected attachment goes, the rest arrives.
    _send(relay.public, mail(("invoice.bin", EVIL_FILE, "application/octet-stream"),
                             ("notes.txt", b"keep me\n", "text/plain"), message_id="<strip@x>"))
    msg = _delivered(relay, "<strip@x>")
    assert [p.get_filename() for p in msg.iter_attachments()] == ["notes.txt"]
    assert msg["Subject"] == "[VIRUS-REMOVED] files"
    rec = _finished(relay, _mid(datadir, "<strip@x>"))
    assert rec["verdicts"]["antivirus"]["verdict"] == "POSITIVE"
    assert "Gateway.Test.HashFile" in rec["verdicts"]["antivirus"]["detail"]
    assert "strip invoice.bin" in rec["verdicts"]["antivirus"]["detail"]
    notice = _delivered(relay, "[anti-virus infected] files")  # the sender is told, through the same route
    assert "<strip@x>" in notice.get_content() and notice["Auto-Submitted"] == "auto-generated"

    # The same file inside a zip that a configured passphrase opens: clamd gets the decrypted file too.
    locked = info_zip({"report.bin": EVIL_FILE}, "open-sesame-42", tmp_path)
    _send(relay.public, mail(("report.zip", locked, "application/zip"), ("ok.txt", b"ok\n", "text/plain"),
                             message_id="<decrypted@x>"))
    msg = _delivered(relay, "<decrypted@x>")
    assert [p.get_filename() for p in msg.iter_attachments()] == ["ok.txt"]
    assert "report.zip/report.bin" in _finished(relay, _mid(datadir, "<decrypted@x>"))["verdicts"]["antivirus"]["detail"]

    # A zip that no passphrase opens: the "encrypted" action (quarantine here).
    sealed = info_zip({"secret.txt": b"nobody reads this\n"}, "another-passphrase-99", tmp_path)
    _send(relay.public, mail(("sealed.zip", sealed, "application/zip"), message_id="<sealed@x>"))
    rec = _finished(relay, _mid(datadir, "<sealed@x>"))
    assert rec["final_action"] == "QUARANTINED" and rec["verdicts"]["antivirus"]["verdict"] == "ENCRYPTED"
    assert "<sealed@x>" not in relay.sink.message_ids()

    # A virus string in the body: with "drop", nothing arrives.
    _cli(datadir, "antivirusconfig policy incoming DEFAULT --infected=drop --infected-notify=admin@example.net; "
                  "commit drop", relay)
    _send(relay.public, mail(("a.txt", b"plain\n", "text/plain"), body=f"hello {EVIL_STRING.decode()}\n",
                             message_id="<drop@x>"))
    mid = _mid(datadir, "<drop@x>")
    rec = _finished(relay, mid)
    assert rec["final_action"] == "DROPPED" and "Gateway.Test.BodyString" in rec["verdicts"]["antivirus"]["detail"]
    assert re.search(rf"MID {mid} interim AV verdict using ClamAV VIRAL\n.*MID {mid} antivirus positive "
                     rf"'Gateway\.Test\.BodyString[^' ]*' \(action drop\)", mail_log(datadir))
    antivirus = (datadir / "logs" / "antivirus" / "antivirus.current").read_text()  # the engine's log, its layout
    assert re.search(rf"Info: clamav  antivirus - MID {mid} 0 - Virus 'Gateway\.Test\.BodyString[^']*' 'body\.scan' "
                     r"1 0$", antivirus, re.M), antivirus
    assert re.search(r"Info: clamav  antivirus - MID \d+ 0 - Error - 'Encrypted' '", antivirus), antivirus
    assert "<drop@x>" not in relay.sink.message_ids()
    notice = _delivered(relay, "admin@example.net")  # dropped, and the administrator is told
    assert "<drop@x>" in notice.get_content() and notice["Subject"].startswith("[anti-virus infected]")

    # A clean message passes with a negative verdict; status shows the engine and its counts.
    _send(relay.public, mail(("fine.txt", b"fine\n", "text/plain"), message_id="<clean@x>"))
    _delivered(relay, "<clean@x>")
    assert _finished(relay, _mid(datadir, "<clean@x>"))["verdicts"]["antivirus"]["verdict"] == "NEGATIVE"
    status = run_cli(datadir, "-c", "status").stdout
    assert re.search(r"Anti-virus \(ClamAV\)\s+available; 127\.0\.0\.1:\d+; .*clean \d+.*infected \d+", status), status
    av = run_cli(datadir, "-c", "antivirusstatus").stdout  # the engine's own word, and the gateway's view
    assert re.search(r"Engine version: ClamAV \d+\.\d+", av), av
    assert "Definitions: " in av and "State in the gateway: available" in av
    assert re.search(r"Verdicts since the gateway started: .*clean \d+", av), av


def test_clamd_stopped_defers_until_it_is_back_and_raises_an_alert(relay, datadir, tmp_path):
    require_peer("clamd")
    own = Clamd(tmp_path / "clamd")
    try:
        _cli(datadir, f"antivirusconfig setup --enabled=yes --clamd={own.endpoint} --unavailable=defer --retry=2; "
                      "commit av", relay)
        own.stop()
        _send(relay.public, mail(("a.txt", b"x\n", "text/plain"), message_id="<wait@x>"))
        mid = _mid(datadir, "<wait@x>")
        assert wait_for(lambda: f"MID {mid} deferred: antivirus engine unavailable" in mail_log(datadir), 20)
        assert relay.request("status")["queued"] >= 1 or relay.request("tracking", mid=mid)["final_action"] is None
        alerts = run_cli(datadir, "-c", "displayalerts").stdout
        assert "Anti-Virus (ClamAV) is unavailable" in alerts and "Anti-Virus" in alerts, alerts
        assert "<wait@x>" not in relay.sink.message_ids()
        own.start()
        _delivered(relay, "<wait@x>", 30)  # scanned again at the next retry, then delivered: nothing lost
        assert _finished(relay, mid)["verdicts"]["antivirus"]["verdict"] == "NEGATIVE"
        system = (datadir / "logs" / "system_logs" / "system.current").read_text()
        assert "Anti-Virus (ClamAV) is available again" in system
    finally:
        own.close()


# ---------------------------------------------------------------- anti-spam


def test_rspamd_positive_quarantines_suspect_is_tagged_and_big_messages_skip(relay, datadir, rspamd):
    _cli(datadir, f"antispamconfig setup --enabled=yes --url={rspamd.url} --max-size=64K; "
                  "antispamconfig policy incoming DEFAULT --positive-threshold=15 --suspect-threshold=6 "
                  "--positive=quarantine --positive-quarantine=Spam --suspect-tag='[SUSPECTED SPAM]'; commit as", relay)
    _send(relay.public, mail(("a.txt", b"x\n", "text/plain"), body="Buy GW-SPAM-POSITIVE-MARKER now\n",
                             message_id="<spam@x>"))
    rec = _finished(relay, _mid(datadir, "<spam@x>"))
    assert rec["final_action"] == "QUARANTINED" and rec["verdicts"]["antispam"]["verdict"] == "POSITIVE"
    assert "Spam" in rec["final_detail"]
    assert "<spam@x>" not in relay.sink.message_ids()

    _send(relay.public, mail(("a.txt", b"x\n", "text/plain"), body="maybe GW-SPAM-SUSPECT-MARKER\n",
                             message_id="<maybe@x>"))
    assert _delivered(relay, "<maybe@x>")["Subject"] == "[SUSPECTED SPAM] files"
    assert _finished(relay, _mid(datadir, "<maybe@x>"))["verdicts"]["antispam"]["verdict"] == "SUSPECT"

    # A URL that only a document inside a zip holds: passed along to Rspamd, whose rule scores it.
    archive = plain_zip({"links.txt": b"see http://spam-offer.example.com/offer for details\n"})
    _send(relay.public, mail(("links.zip", archive, "application/zip"), message_id="<urlzip@x>"))
    rec = _finished(relay, _mid(datadir, "<urlzip@x>"))
    assert rec["verdicts"]["antispam"]["verdict"] == "POSITIVE", rec["verdicts"]

    _send(relay.public, mail(("a.txt", b"x\n", "text/plain"), body="Lunch at noon?\n", message_id="<ham@x>"))
    assert _delivered(relay, "<ham@x>")["Subject"] == "files"
    mid = _mid(datadir, "<ham@x>")
    assert _finished(relay, mid)["verdicts"]["antispam"]["verdict"] == "NEGATIVE"
    assert f"MID {mid} interim verdict using engine: RSPAMD spam negative\n" in mail_log(datadir)
    assert f"MID {mid} using engine: RSPAMD spam negative" in mail_log(datadir)
    assert f"MID {mid} using engine: RSPAMD spam negative" in (datadir / "logs" / "antispam" / "antispam.current").read_text()
    out = run_cli(datadir, "-c", "antispamstatus").stdout
    assert re.search(r"Engine version: rspamd/\d+\.\d+", out) and "State in the gateway: available" in out, out

    big = mail(("big.bin", b"\x01" * 100_000, "application/octet-stream"), body="GW-SPAM-POSITIVE-MARKER\n",
               message_id="<big@x>")
    _send(relay.public, big)
    assert _delivered(relay, "<big@x>")["Subject"] == "files"  # above the size limit: not scanned
    rec = _finished(relay, _mid(datadir, "<big@x>"))
    assert rec["verdicts"]["antispam"]["verdict"] == "SKIPPED" and "above the anti-spam limit" in \
        rec["verdicts"]["antispam"]["detail"]
    report = run_cli(datadir, "-c", "report overview --format=csv").stdout
    assert re.search(r"Spam Detected,[2-9]", report), report


def test_rspamd_unreachable_delivers_and_raises_an_alert(relay, datadir):
    from engine_peers import free_port

    _cli(datadir, f"antispamconfig setup --enabled=yes --url=http://127.0.0.1:{free_port()} --unavailable=deliver; "
                  "commit as down", relay)
    _send(relay.public, mail(("a.txt", b"x\n", "text/plain"), message_id="<asdown@x>"))
    _delivered(relay, "<asdown@x>")
    rec = _finished(relay, _mid(datadir, "<asdown@x>"))
    assert rec["verdicts"]["antispam"]["verdict"] == "UNAVAILABLE"
    assert "Anti-Spam (Rspamd) is unavailable" in run_cli(datadir, "-c", "displayalerts").stdout


# ---------------------------------------------------------------- file reputation


@pytest.fixture
def reputation(datadir, tmp_path):
    """The HTTPS service, its CA trusted through certconfig."""
    root = pki.ca()
    (tmp_path / "root.pem").write_text(root.cert_pem)
    service = ReputationService(pki.leaf(root, cn="127.0.0.1", sans=("127.0.0.1",)), tmp_path, api_key="k-123")
    (tmp_path / "key").write_text("k-123\n")
    _cli(datadir, f"certconfig certauthority custom import root {tmp_path / 'root.pem'}; commit ca")
    yield service
    service.close()


def test_file_reputation_through_an_authenticating_proxy_quarantines_malware(relay, datadir, reputation, tmp_path):
    require_peer("tinyproxy")
    proxy = Tinyproxy(tmp_path, "ampuser", "proxy-pass-77")
    malware = b"MZ" + b"\x90" * 200 + b"pretend malware"
    reputation.verdicts[hashlib.sha256(malware).hexdigest()] = ("malicious", "W32.Test.Malware")
    (tmp_path / "proxypass").write_text("proxy-pass-77\n")
    try:
        _cli(datadir, f"ampconfig setup --enabled=yes --url={reputation.url} --api-key-file={tmp_path / 'key'} "
                      f"--proxy=127.0.0.1:{proxy.port} --proxy-user=ampuser "
                      f"--proxy-passphrase-file={tmp_path / 'proxypass'}; "
                      "ampconfig policy incoming DEFAULT --malicious=quarantine --malicious-quarantine=Virus; "
                      "commit amp", relay)
        _send(relay.public, mail(("setup.exe", malware, "application/octet-stream"), message_id="<amp@x>"))
        mid = _mid(datadir, "<amp@x>")
        rec = _finished(relay, mid)
        assert rec["final_action"] == "QUARANTINED", (rec, mail_log(datadir)[-2000:])
        assert rec["verdicts"]["file_reputation"]["verdict"] == "MALICIOUS"
        assert "W32.Test.Malware" in rec["verdicts"]["file_reputation"]["detail"]
        assert "<amp@x>" not in relay.sink.message_ids()
        assert f"MID {mid} AMP file reputation verdict : MALICIOUS" in mail_log(datadir)
        amp = (datadir / "logs" / "amp" / "amp.current").read_text()
        assert f"MID = {mid}, Disposition = FILE MALICIOUS, Malware = W32.Test.Malware" in amp
        assert reputation.lookups == [[hashlib.sha256(malware).hexdigest()]]
        assert rec["amp"] == [{"file": "setup.exe", "sha256": hashlib.sha256(malware).hexdigest(),
                               "verdict": "malicious", "threat": "W32.Test.Malware"}]
        assert any(f"127.0.0.1:{reputation.port}" in line for line in proxy.connects())  # the proxy's own log

        # A clean program goes through; the same malware again is answered from the cache.
        _send(relay.public, mail(("tool.exe", b"MZ clean tool", "application/octet-stream"), message_id="<ok@x>"))
        _delivered(relay, "<ok@x>")
        _send(relay.public, mail(("again.exe", malware, "application/octet-stream"), message_id="<again@x>"))
        assert _finished(relay, _mid(datadir, "<again@x>"))["final_action"] == "QUARANTINED"
        assert len(reputation.lookups) == 2  # the clean tool only
        assert "from cache" in (datadir / "logs" / "amp" / "amp.current").read_text()
        report = run_cli(datadir, "-c", "report overview --format=csv").stdout
        assert "Detected by Advanced Malware Protection,2" in report, report
        amp = run_cli(datadir, "-c", "ampstatus").stdout
        assert f"File reputation service: {reputation.url}; lookups on" in amp, amp
        assert re.search(r"Verdicts since the gateway started: .*malicious 2", amp), amp

        # With file analysis on, a file nobody knows yet is uploaded (through the same proxy) and delivered.
        _cli(datadir, "ampconfig setup --analysis=yes; commit analysis", relay)
        fresh = b"MZ a program the service has never seen"
        _send(relay.public, mail(("fresh.exe", fresh, "application/octet-stream"), message_id="<fresh@x>"))
        _delivered(relay, "<fresh@x>")
        assert wait_for(lambda: reputation.uploads, 10)
        assert reputation.uploads == [(hashlib.sha256(fresh).hexdigest(), "fresh.exe", len(fresh))]
        assert wait_for(lambda: "File analysis upload for MID" in (datadir / "logs" / "amp" / "amp.current")
                        .read_text(), 10)

        # The proxy goes away: "unknown", the message is delivered, and the proxy failure is an alert.
        proxy.stop()
        _send(relay.public, mail(("new.exe", b"MZ never seen", "application/octet-stream"), message_id="<np@x>"))
        _delivered(relay, "<np@x>", 40)
        rec = _finished(relay, _mid(datadir, "<np@x>"))
        assert rec["verdicts"]["file_reputation"]["verdict"] == "UNKNOWN"
        system = (datadir / "logs" / "system_logs" / "system.current").read_text()
        assert f"The upstream proxy 127.0.0.1:{proxy.port} failed for file reputation" in system
    finally:
        proxy.stop()


def test_a_service_that_never_answers_costs_one_timeout_with_one_retry(relay, datadir, tmp_path):
    root = pki.ca()
    (tmp_path / "root.pem").write_text(root.cert_pem)
    silent = ReputationService(pki.leaf(root, cn="127.0.0.1", sans=("127.0.0.1",)), tmp_path, silent=True)
    try:
        _cli(datadir, f"certconfig certauthority custom import root {tmp_path / 'root.pem'}; "
                      f"ampconfig setup --enabled=yes --url={silent.url} --timeout=20; commit amp", relay)
        sent = time.time()
        _send(relay.public, mail(("setup.exe", b"MZ unknown program", "application/octet-stream"),
                                 message_id="<slow@x>"))
        slow = _mid(datadir, "<slow@x>")
        # Meanwhile other mail flows: a message without attachments goes straight through.
        threading.Thread(target=_send, args=(relay.public, mail(body="quick note\n", message_id="<fast@x>"))).start()
        _delivered(relay, "<fast@x>", 15)
        assert "<slow@x>" not in relay.sink.message_ids()
        _delivered(relay, "<slow@x>", 40)
        took = time.time() - sent
        assert 19 <= took < 39, took  # one 20 s timeout for both tries together: two would be 40 s
        assert silent.connections == 2  # the first try, and exactly one retry
        rec = _finished(relay, slow)
        assert rec["verdicts"]["file_reputation"]["verdict"] == "UNKNOWN"
        amp = (datadir / "logs" / "amp" / "amp.current").read_text()
        assert f"File reputation query for MID {slow} failed (no answer" in amp and "retrying once" in amp
        assert f"File reputation query for MID {slow} failed after its retry" in amp
    finally:
        silent.close()


def test_trace_asks_the_engines_that_are_on(datadir, clamd, tmp_path):
    import json

    _cli(datadir, f"antivirusconfig setup --enabled=yes --clamd={clamd.endpoint}; commit av")
    eml = tmp_path / "m.eml"
    eml.write_bytes(mail(("invoice.bin", EVIL_FILE, "application/octet-stream"), message_id="<trace@x>"))
    out = json.loads(run_cli(datadir, "-c", f"trace {eml} --format=json").stdout)
    stages = {s["stage"]: s for s in out["policies"][0]["stages"]}
    assert stages["antivirus"]["verdict"] == "POSITIVE" and "Gateway.Test.HashFile" in stages["antivirus"]["detail"]
    assert out["policies"][0]["action"] == "drop"  # the default infected action
    off = json.loads(run_cli(datadir, "-c", f"trace {eml} --format=json --engines=no").stdout)
    assert "not asked" in {s["stage"]: s for s in off["policies"][0]["stages"]}["antivirus"]["detail"]
