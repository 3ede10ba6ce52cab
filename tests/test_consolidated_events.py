"""The Consolidated Event Log: one CEF line per message, read back field by field."""

from __future__ import annotations

import ast
import re
import smtplib
import ssl

from conftest import DaemonProcess, Sink, listener_port, run_cli, wait_for
from corpus import mail

HEADER = re.compile(r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} Info: CEF:0\|Cisco\|[^|]+\|[^|]+\|"
                    r"ESA_CONSOLIDATED_LOG_EVENT\|Consolidated Log Event\|5\|(.*)$")
KEYS = re.compile(r"(?:^| )([A-Za-z0-9]+)=")


def _fields(extension: str) -> dict:
    """key=value pairs: values run to the next ' key=' (they are not escaped, as on the appliance)."""
    marks = [(m.group(1), m.start(1), m.end()) for m in KEYS.finditer(extension)]
    out = {}
    for i, (key, _, value_start) in enumerate(marks):
        end = marks[i + 1][1] - 1 if i + 1 < len(marks) else len(extension)
        out[key] = extension[value_start:end]
    return out


def test_a_message_with_three_attachments_gets_one_line_with_every_size(datadir, tmp_path):
    sink = Sink(tmp_path / "sink")
    r = run_cli(datadir, "-c", f"logconfig new consolidated_event --type=consolidated; "
                               f"smtproutes new ALL 127.0.0.1:{sink.port}; commit cef")
    assert r.returncode == 0, r.stderr
    d = DaemonProcess(datadir)
    try:
        content = mail(("a.txt", b"x" * 1000, "text/plain"), ("b.bin", b"\x00" * 2345, "application/octet-stream"),
                       ("c.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"), message_id="<cef@x>",
                       subject="Quarterly numbers")
        with smtplib.SMTP("127.0.0.1", listener_port(datadir, "IncomingMail"), timeout=20) as s:
            s.ehlo("client.example")
            s.starttls(context=ssl._create_unverified_context())  # the connection stays one ICID after STARTTLS
            s.ehlo("client.example")
            s.sendmail("a@sender.example", ["b@example.com", "c@example.com"], content)
        log = datadir / "logs" / "consolidated_event" / "consolidated_event.current"
        assert wait_for(lambda: log.exists() and "CEF:0" in log.read_text(), 30)
        line = [x for x in log.read_text().splitlines() if "CEF:0" in x][0]
        m = HEADER.match(line)
        assert m, line
        f = _fields(m.group(1))
        # The appliance's order, which parsers read by position.
        order = [k for k in ("deviceExternalId", "ESAMID", "ESAICID", "ESADCID", "ESAAMPVerdict", "ESAASVerdict",
                             "ESAAVVerdict", "ESACFVerdict", "endTime", "ESADLPVerdict", "dvc", "ESAAttachmentDetails",
                             "ESAFriendlyFrom", "startTime", "deviceInboundInterface", "deviceDirection",
                             "ESAMailFlowPolicy", "suser", "cs1", "ESAMFVerdict", "act", "cs4", "ESAMsgSize", "duser",
                             "ESAHeloDomain", "ESAHeloIP", "cfp1", "shost", "ESASenderGroup", "src", "msg",
                             "ESATLSInCipher", "ESATLSInConnStatus", "ESATLSInProtocol") if k in f]
        assert len(order) == 34, sorted(set(f) - set(order))
        positions = [m.group(1).index(f" {k}=") if m.group(1).find(f" {k}=") >= 0 else 0 for k in order]
        assert positions == sorted(positions), "fields out of the appliance's order"
        assert f["ESAMsgSize"] == str(len(content))
        details = ast.literal_eval(f["ESAAttachmentDetails"])
        assert details == {"a.txt": {"BodyScanner": {"fsize": 1000}}, "b.bin": {"BodyScanner": {"fsize": 2345}},
                           "c.pdf": {"BodyScanner": {"fsize": 15}}}
        assert f["act"] == "DELIVERED" and f["cs1"] == "DEFAULT" and f["deviceDirection"] == "0"
        assert f["suser"] == "a@sender.example" and f["duser"] == "b@example.com;c@example.com"
        assert f["cs4"] == "'<cef@x>'" and f["msg"] == "'Quarterly numbers'"
        assert f["ESAAVVerdict"] == "NOT_EVALUATED" and f["ESADLPVerdict"] == "NOT_EVALUATED"  # no engine yet
        assert f["cfp1"] == "None" and f["ESASenderGroup"] == "UNKNOWNLIST"
        assert int(f["ESAMID"]) > 0 and int(f["ESAICID"]) > 0 and int(f["ESADCID"]) >= 0
        assert (f["ESAHeloDomain"], f["ESAHeloIP"], f["src"], f["shost"], f["dvc"]) == \
            ("client.example", "127.0.0.1", "127.0.0.1", "unknown", "127.0.0.1")
        assert f["deviceInboundInterface"] == "IncomingMail" and f["ESAMailFlowPolicy"] == "ACCEPT"
        assert f["ESAFriendlyFrom"] == "a@example.org"
        assert f["ESATLSInProtocol"].startswith("TLSv1.") and f["ESATLSInConnStatus"] == "Success"
        assert f["ESATLSInCipher"] and "ESATLSOutProtocol" not in f  # delivered in clear to the sink
        text = (datadir / "logs" / "mail_logs" / "mail.current").read_text()
        assert text.count("New SMTP ICID") == 1 and f"ICID {f['ESAICID']} TLS success" in text
    finally:
        d.stop()
        sink.stop()


def test_the_administrator_chooses_the_cef_fields(datadir, tmp_path):
    sink = Sink(tmp_path / "sink")
    r = run_cli(datadir, "-c", "logconfig new cef_small --type=consolidated --cef-fields=ESAMsgSize,act,cs1; "
                               f"smtproutes new ALL 127.0.0.1:{sink.port}; commit")
    assert r.returncode == 0, r.stderr
    d = DaemonProcess(datadir)
    try:
        with smtplib.SMTP("127.0.0.1", listener_port(datadir, "IncomingMail"), timeout=20) as s:
            s.sendmail("a@sender.example", ["b@example.com"], mail(("a.txt", b"abc", "text/plain")))
        log = datadir / "logs" / "cef_small" / "cef_small.current"
        assert wait_for(lambda: log.exists() and "CEF:0" in log.read_text(), 30)
        line = [x for x in log.read_text().splitlines() if "CEF:0" in x][0]
        keys = KEYS.findall(HEADER.match(line).group(1))
        assert keys == ["ESAMID", "cs1Label", "cs1", "act", "ESAMsgSize"]
    finally:
        d.stop()
        sink.stop()
