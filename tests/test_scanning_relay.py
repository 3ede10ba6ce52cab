"""The scanning engine inside the running gateway: real SMTP in (smtplib), Postfix's smtp-sink out."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import re
import smtplib

from conftest import mail_log, run_cli, wait_applied, wait_for
from corpus import mail, nested_zip, overlapping_bomb, pdf_with_link, plain_zip


def _send(port: int, content: bytes, rcpts=("b@example.com",)) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
        s.sendmail("a@example.org", list(rcpts), content)


def _mid(datadir, message_id: str) -> int:
    found = []
    assert wait_for(lambda: found.extend(re.findall(rf"MID (\d+) Message-ID '{re.escape(message_id)}'",
                                                   mail_log(datadir))) or found, 20)
    return int(found[0])


def _run(datadir, line: str):
    r = run_cli(datadir, "-c", line)
    assert r.returncode == 0, r.stderr
    wait_applied(datadir)
    return r


def test_hash_list_strip_removes_exactly_the_matching_attachment(relay, datadir, tmp_path):
    rows = dict(relay.request("status")["components"])
    assert rows["Scanning workers"].startswith("not started")  # nothing has needed scanning yet
    bad = b"MZ not really a program, but listed\n" * 20
    twin_name = b"a harmless file with the same name\n"
    hashes = tmp_path / "hashes.txt"
    hashes.write_text(f"# known bad\n{hashlib.sha256(bad).hexdigest()}  tool.exe\n")
    script = tmp_path / "f.txt"
    script.write_text('hashes: if (attachment-filehashlist("KnownBad")) '
                      '{ drop-attachments-by-filehashlist("KnownBad"); log-entry("stripped $filenames"); }\n.\n')
    _run(datadir, f"hashlistconfig import KnownBad {hashes}; filters import {script}; commit hashes")
    content = mail(("tool.exe", bad, "application/octet-stream"), ("tool.exe", twin_name, "text/plain"),
                   ("notes.txt", b"keep me\n", "text/plain"), message_id="<hash@x>")
    _send(relay.public, content)
    assert wait_for(lambda: "<hash@x>" in relay.sink.message_ids(), 30)
    delivered = email.message_from_bytes(relay.sink.messages()[0], policy=email.policy.default)
    kept = [(p.get_filename(), p.get_payload(decode=True)) for p in delivered.iter_attachments()]
    assert kept == [("tool.exe", twin_name), ("notes.txt", b"keep me\n")]
    assert re.search(r"MID \d+ Custom Log Entry: stripped tool.exe, tool.exe, notes.txt", mail_log(datadir))
    assert re.fullmatch(r"\d+ processes; 0 messages being scanned",
                        dict(relay.request("status")["components"])["Scanning workers"])


def test_blocked_url_in_a_pdf_is_quarantined_before_anti_spam_and_tracked(relay, datadir, tmp_path):
    _run(datadir, "urllistconfig add blocked evil.example.com; commit block")
    pdf = pdf_with_link("Your invoice is ready", "http://login.evil.example.com/pay")
    eml = tmp_path / "m.eml"
    eml.write_bytes(mail(("invoice.pdf", pdf, "application/pdf"), message_id="<url@x>"))
    pol = json.loads(run_cli(datadir, "-c", f"trace {eml} --format=json").stdout)["policies"][0]
    assert [s["stage"] for s in pol["stages"]] == ["message_filters", "url_scanning"]  # anti-spam never reached
    assert pol["action"] == "quarantine" and pol["final_by"] == "url_scanning"
    _send(relay.public, eml.read_bytes())
    mid = _mid(datadir, "<url@x>")
    assert wait_for(lambda: f'MID {mid} quarantined to "Policy"' in mail_log(datadir), 20), mail_log(datadir)[-1500:]
    rec = relay.request("tracking", mid=mid)
    assert rec["final_action"] == "QUARANTINED"
    assert {"url": "http://login.evil.example.com/pay", "attachment": "invoice.pdf", "verdict": "blocked",
            "source": "local blocked list", "score": -10.0} in rec["urls"]  # a blocked list scores as WBRS -10
    assert rec["verdicts"]["url_scanning"]["verdict"] == "POSITIVE" and "antispam" not in rec["verdicts"]
    assert f"MID {mid} URL http://login.evil.example.com/pay in attachment 'invoice.pdf' reputation blocked" \
        in mail_log(datadir)
    assert "<url@x>" not in relay.sink.message_ids()
    held = run_cli(datadir, "-c", "quarantineconfig messages Policy").stdout
    assert re.search(rf"^\s+{mid}\s", held, re.M), held
    out = run_cli(datadir, "-c", f"quarantineconfig release Policy {mid}").stdout
    assert f"Message {mid} released from Policy" in out
    assert wait_for(lambda: "<url@x>" in relay.sink.message_ids(), 30)
    assert "holds no messages" in run_cli(datadir, "-c", "quarantineconfig messages Policy").stdout
    assert wait_for(lambda: relay.request("status")["queued"] == 0, 10)  # the sink has it before our side reads its 250


def test_recipients_under_two_policies_are_split_and_each_copy_gets_its_own_filters(relay, datadir, tmp_path):
    cf = tmp_path / "cf.txt"
    cf.write_text('tag_sales: if (true) { insert-header("X-Sales", "yes"); log-entry("sales copy"); }\n.\n')
    _run(datadir, f"policyconfig filters import incoming {cf}; "
                  "policyconfig new incoming SALES --recipients=sales@ --content-filters=tag_sales; "
                  "commit sales")
    content = mail(("a.txt", b"hello\n", "text/plain"), message_id="<split@x>")
    _send(relay.public, content, rcpts=("sales@example.com", "y@example.com"))
    assert wait_for(lambda: relay.sink.message_ids().count("<split@x>") == 2, 30)
    copies = relay.sink.messages()
    assert sum(b"X-Sales: yes" in c for c in copies) == 1
    log = mail_log(datadir)
    assert re.search(r"MID \d+ was split creating MID \d+ due to a per-recipient policy", log)
    assert re.search(r"MID \d+ matched some recipients for per-recipient policy SALES in the inbound table", log)
    assert "Custom Log Entry: sales copy" in log
    # The sink holds a message before our side has read its 250: the queue empties a moment later.
    assert wait_for(lambda: relay.request("status")["queued"] == 0, 10)


def test_hostile_attachments_get_verdicts_and_the_gateway_keeps_serving(relay, datadir):
    hostile = [
        ("bomb.zip", overlapping_bomb(), "application/zip"),
        ("ratio.zip", plain_zip({"zeros.bin": b"\x00" * 5_000_000}), "application/zip"),
        ("deep.zip", nested_zip(12), "application/zip"),
        ("cut.pdf", pdf_with_link("cut", "http://a.example/")[:300], "application/pdf"),
        ("cut.docx", plain_zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<w:t>x"})[:-30],
         "application/octet-stream"),
    ]
    for i, att in enumerate(hostile):
        _send(relay.public, mail(att, message_id=f"<hostile{i}@x>"))
    broken = (b"From: a@example.org\r\nTo: b@example.com\r\nMessage-ID: <broken@x>\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/mixed; boundary=\"nowhere\"\r\n\r\n--elsewhere\r\nno end\r\n")
    _send(relay.public, broken)
    _send(relay.public, mail(("fine.txt", b"fine\n", "text/plain"), message_id="<after@x>"))
    want = {f"<hostile{i}@x>" for i in range(len(hostile))} | {"<broken@x>", "<after@x>"}
    assert wait_for(lambda: want <= set(relay.sink.message_ids()), 60), relay.sink.message_ids()
    by_id = {re.search(rb"Message-ID:\s*(<[^>]+>)", m, re.I).group(1).decode(): m for m in relay.sink.messages()}
    for i, (name, _, _) in enumerate(hostile):
        assert re.search(rb"X-Unscannable:\s*" + re.escape(name.encode()), by_id[f"<hostile{i}@x>"]), by_id[f"<hostile{i}@x>"][:600]
    assert b"X-Unscannable: malformed MIME" in by_id["<broken@x>"]
    assert b"X-Unscannable" not in by_id["<after@x>"]
    assert wait_for(lambda: relay.request("status")["queued"] == 0, 10)  # the sink has it before our side reads its 250


def test_member_names_that_escape_are_logged_and_tracked_and_the_archive_still_scanned(relay, datadir):
    _run(datadir, "urllistconfig add blocked evil.example.net; commit block")
    slip = plain_zip({"../../etc/cron.d/evil": b"fetch http://evil.example.net/x\n", "ok.txt": b"fine\n"})
    _send(relay.public, mail(("slip.zip", slip, "application/zip"), message_id="<slip@x>"))
    mid = _mid(datadir, "<slip@x>")
    line = (f"MID {mid} archive member names: verdict flagged slip.zip: member name escapes the archive: "
            "'../../etc/cron.d/evil'")
    assert wait_for(lambda: line in mail_log(datadir), 20), mail_log(datadir)[-1500:]
    assert wait_for(lambda: f'MID {mid} quarantined to "Policy"' in mail_log(datadir), 20)  # its URL was seen
    rec = relay.request("tracking", mid=mid)
    assert rec["verdicts"]["archive_member_names"] == {
        "verdict": "FLAGGED", "detail": "slip.zip: member name escapes the archive: '../../etc/cron.d/evil'"}


def test_a_killed_scanning_worker_costs_no_message_and_scanning_resumes(relay, datadir, tmp_path):
    import os
    import signal

    script = tmp_path / "f.txt"
    script.write_text('mark: if (true) { insert-header("X-Scanned", "yes"); }\n.\n')
    _run(datadir, f"filters import {script}; commit mark")
    _send(relay.public, mail(("a.txt", b"one\n", "text/plain"), message_id="<w1@x>"))
    assert wait_for(lambda: "<w1@x>" in relay.sink.message_ids(), 30)
    workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == relay.proc.pid
               and b"multiprocessing.spawn" in _cmdline(int(p))]
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    for i in range(2, 5):
        _send(relay.public, mail(("a.txt", b"more\n", "text/plain"), message_id=f"<w{i}@x>"))
    assert wait_for(lambda: {"<w2@x>", "<w3@x>", "<w4@x>"} <= set(relay.sink.message_ids()), 30)
    last = [m for m in relay.sink.messages() if b"<w4@x>" in m][0]
    assert b"X-Scanned: yes" in last  # new workers scan again
    assert wait_for(lambda: relay.request("status")["queued"] == 0, 10)  # the sink has it before our side reads its 250


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""
