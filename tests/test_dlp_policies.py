"""DLP policies on outgoing mail: dlpconfig, policyconfig --dlp, trace, and the relay's quarantine."""

from __future__ import annotations

import json
import re
import smtplib

from conftest import DaemonProcess, listener_port, mail_log, run_cli, wait_for
from corpus import mail, msoffcrypto_docx

THAI_ID = "1-1015-56789-01-4"


def _cli(datadir, line, ok=True):
    r = run_cli(datadir, "-c", line)
    assert (r.returncode == 0) == ok, (line, r.stdout, r.stderr)
    return r


def test_dlpconfig_batch_forms_and_their_checks(datadir):
    _cli(datadir, "dlpconfig policy new PP --template=privacy-protection --severity-action=critical:drop; commit")
    out = _cli(datadir, "dlpconfig policy print PP").stdout
    assert "id-ktp, my-mykad, th-id, ph-umid, sg-nric" in out and "CRITICAL drop" in out and "HIGH quarantine" in out
    r = _cli(datadir, "dlpconfig policy new X --classifier=us-ssn", ok=False)
    assert "Unknown classifier us-ssn" in r.stderr
    r = _cli(datadir, "dlpconfig policy new X --classifier=th-id --severity-action=huge:drop", ok=False)
    assert "SEVERITY is one of low, medium, high, critical" in r.stderr
    _cli(datadir, "dlpconfig classifier new staff --entity=sg-nric --keyword=employee; "
                  "dlpconfig policy new IDs --classifier=th-id --classifier=staff --min-matches=2 "
                  "--thresholds=high:90; commit")
    assert "th-id, staff" in _cli(datadir, "dlpconfig policy print IDs").stdout
    r = _cli(datadir, "policyconfig edit incoming DEFAULT --dlp=PP", ok=False)
    assert "outgoing mail policies only" in r.stderr
    r = _cli(datadir, "policyconfig edit outgoing DEFAULT --dlp=nosuch", ok=False)
    assert "No DLP policy named nosuch" in r.stderr
    _cli(datadir, "policyconfig edit outgoing DEFAULT --dlp=PP,IDs; commit")
    r = _cli(datadir, "dlpconfig policy delete PP", ok=False)
    assert "used by the outgoing mail policies DEFAULT" in r.stderr
    r = _cli(datadir, "dlpconfig classifier delete staff", ok=False)
    assert "used by the DLP policies IDs" in r.stderr


def test_trace_lists_each_dlp_match_masked(datadir, tmp_path):
    _cli(datadir, "dlpconfig policy new PP --template=privacy-protection; "
                  "policyconfig edit outgoing DEFAULT --dlp=PP; commit")
    eml = tmp_path / "m.eml"
    eml.write_bytes(mail(("staff.txt", "Employee NRIC S1234567D, IC No 850315-10-5123\n".encode(), "text/plain"),
                         body=f"Hello,\nmy Thai ID: {THAI_ID}\n"))
    pol = json.loads(_cli(datadir, f"trace {eml} --format=json --direction=outgoing").stdout)["policies"][0]
    dlp = pol["findings"]["dlp"][0]
    assert dlp["policy"] == "PP" and dlp["severity"] == "critical" and dlp["risk_factor"] == 95  # 85 + 2 x 5
    assert pol["action"] == "quarantine"
    found = {(m["classifier"], m["where"], m["masked"]) for m in dlp["matches"]}
    assert found == {("th-id", "body", "*-****-****9-01-4"), ("sg-nric", "staff.txt", "*****567D"),
                     ("my-mykad", "staff.txt", "******-**-5123")}
    assert all(isinstance(m["start"], int) and m["confidence"] >= 75 for m in dlp["matches"])
    text = _cli(datadir, f"trace {eml} --direction=outgoing").stdout
    assert "1015-56789" not in text and "S1234567D" not in text and "DLP policy PP: severity CRITICAL" in text
    incoming = json.loads(_cli(datadir, f"trace {eml} --format=json").stdout)["policies"][0]
    assert "dlp" not in incoming["findings"] and incoming["action"] == "deliver"  # DLP is for outgoing mail


def test_thai_id_in_a_protected_docx_is_caught_and_quarantined(datadir, tmp_path):
    docx = msoffcrypto_docx(f"Applicant record. เลขประจำตัวประชาชน {THAI_ID}", "Outbound-Pass-7")
    _cli(datadir, "protectedattachmentconfig setup --outbound=yes; "
                  "protectedattachmentconfig new --priority=0 --passphrase=Outbound-Pass-7; "
                  "dlpconfig policy new PrivacyProtection --template=privacy-protection; "
                  "policyconfig edit outgoing DEFAULT --dlp=PrivacyProtection; "
                  "logconfig new consolidated_event --type=consolidated; commit dlp")
    d = DaemonProcess(datadir)
    try:
        port = listener_port(datadir, "OutgoingMail")
        with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
            s.sendmail("hr@example.com", ["partner@example.net"],
                       mail(("record.docx", docx, "application/octet-stream"), message_id="<dlp@x>",
                            body="Please see the attached record."))
        assert wait_for(lambda: "DLP violation" in mail_log(datadir), 30), mail_log(datadir)[-2000:]
        log = mail_log(datadir)
        mid = int(re.search(r"MID (\d+) DLP violation\. Severity: HIGH \(Risk Factor: 85\)\. "
                            r"DLP policy match: 'PrivacyProtection'", log).group(1))
        assert "decrypted with the passphrase of priority 0" in log and "1015-56789" not in log
        assert wait_for(lambda: f'MID {mid} quarantined to "Policy"' in mail_log(datadir), 20)
        rec = d.request("tracking", mid=mid)
        assert rec["final_action"] == "QUARANTINED"
        incident = rec["dlp"][0]
        assert incident["ESADLPVerdict"] == "VIOLATION" and incident["severity"] == "HIGH"
        assert incident["matches"][0]["classifier"] == "th-id"
        assert incident["matches"][0]["masked"] == "*-****-****9-01-4"
        held = run_cli(datadir, "-c", "quarantineconfig messages Policy").stdout
        assert re.search(rf"^\s+{mid}\s", held, re.M)
        cef = datadir / "logs" / "consolidated_event" / "consolidated_event.current"
        assert wait_for(lambda: cef.exists() and f"ESAMID={mid} " in cef.read_text(), 20)
        line = next(x for x in cef.read_text().splitlines() if f"ESAMID={mid} " in x)
        assert "ESADLPVerdict=VIOLATION" in line and "act=QUARANTINED" in line and "1015-56789" not in line
    finally:
        d.stop()


def test_custom_classifier_with_entity_regex_and_keyword(datadir, tmp_path):
    _cli(datadir, "dlpconfig classifier new staff --entity=sg-nric --regex='EMP-[0-9]{6}' --keyword=employee; "
                  "dlpconfig policy new Staff --classifier=staff --severity-action=low:drop,medium:drop,high:drop; "
                  "policyconfig edit outgoing DEFAULT --dlp=Staff; commit")
    with_word = tmp_path / "a.eml"
    with_word.write_bytes(mail(body="Employee record EMP-123456, NRIC S1234567D\n"))
    without = tmp_path / "b.eml"
    without.write_bytes(mail(body="Part EMP-123456 and ticket S1234567D\n"))
    pol = json.loads(_cli(datadir, f"trace {with_word} --format=json --direction=outgoing").stdout)["policies"][0]
    found = sorted((m["classifier"], m["masked"]) for m in pol["findings"]["dlp"][0]["matches"])
    assert found == [("staff", "*****567D"), ("staff", "***-**3456")] and pol["action"] == "drop"
    pol = json.loads(_cli(datadir, f"trace {without} --format=json --direction=outgoing").stdout)["policies"][0]
    assert pol["findings"]["dlp"] == [] and pol["action"] == "deliver"  # no keyword: the custom rule is silent


def test_a_blocked_url_in_outgoing_mail_does_not_hide_the_dlp_incident(datadir, tmp_path):
    """URL scanning quarantines the message; DLP still runs after it and records its incident (both reported)."""
    from corpus import pdf_with_link

    _cli(datadir, "urllistconfig add blocked evil.example.com; "
                  "dlpconfig policy new PP --template=privacy-protection; "
                  "policyconfig edit outgoing DEFAULT --dlp=PP; commit url and dlp")
    eml = tmp_path / "both.eml"
    eml.write_bytes(mail(("invoice.pdf", pdf_with_link("Pay here", "http://login.evil.example.com/pay"),
                          "application/pdf"), body="Employee NRIC S1234567D, please update.\n"))
    pol = json.loads(_cli(datadir, f"trace {eml} --format=json --direction=outgoing").stdout)["policies"][0]
    assert pol["action"] == "quarantine" and pol["final_by"] == "url_scanning"  # the first quarantine stays
    stages = {s["stage"]: s["verdict"] for s in pol["stages"]}
    assert stages["url_scanning"] == "POSITIVE" and stages["dlp"] == "POSITIVE", pol["stages"]
    assert "antispam" not in stages  # the engines are still not asked once the message is quarantined
    assert pol["findings"]["dlp"][0]["policy"] == "PP" and pol["findings"]["dlp"][0]["severity"]
    # Incoming mail: nothing changes (DLP is for outgoing mail).
    incoming = json.loads(_cli(datadir, f"trace {eml} --format=json").stdout)["policies"][0]
    assert [s["stage"] for s in incoming["stages"]][-1] == "url_scanning"
