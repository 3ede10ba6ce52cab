"""DMARC (RFC 7489) at reception: policies served by dnsmasq, SPF and DKIM alignment, the profile's answer to a
failure (reject at DATA, quarantine), Authentication-Results and mail_logs in the appliance's words."""

from __future__ import annotations

import re
import smtplib
import subprocess

import pytest
from conftest import free_port, mail_log, require_peer, run_cli, wait_applied, wait_for

RECORDS = {
    "_dmarc.strict.example": "v=DMARC1; p=reject; rua=mailto:dmarc@strict.example",
    "_dmarc.quar.example": "v=DMARC1; p=quarantine",
    "_dmarc.relaxed.example": "v=DMARC1; p=reject; aspf=r",
    "strict.example": "v=spf1 ip4:127.0.0.0/8 -all",
    "bounces.relaxed.example": "v=spf1 ip4:127.0.0.0/8 -all",
}


@pytest.fixture
def dmarc_dns(tmp_path):
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


def _message(header_from: str, mid: str) -> bytes:
    return (f"From: {header_from}\r\nTo: bob@example.com\r\nSubject: dmarc {mid}\r\nMessage-ID: <{mid}@test>\r\n"
            f"\r\nhello\r\n").encode()


def test_dmarc_alignment_policies_and_the_profiles_answer(relay, datadir, dmarc_dns):
    r = run_cli(datadir, "-c", f"dnsconfig setup --servers=127.0.0.1:{dmarc_dns}; logconfig new cef "
                               "--type=consolidated; "
                               "listenerconfig hostaccess policy ACCEPTED --spf=on --dmarc-verify=yes; commit dmarc")
    assert r.returncode == 0, r.stderr
    wait_applied(datadir)
    with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
        s.sendmail("alice@strict.example", ["bob@example.com"], _message("Alice <alice@strict.example>", "aligned"))
        # relaxed alignment: SPF passed for a subdomain of the From's organizational domain
        s.sendmail("b@bounces.relaxed.example", ["bob@example.com"], _message("news@relaxed.example", "relaxed"))
        with pytest.raises(smtplib.SMTPDataError) as refused:
            s.sendmail("x@elsewhere.example", ["bob@example.com"], _message("CEO <ceo@strict.example>", "spoof"))
        s.sendmail("x@elsewhere.example", ["bob@example.com"], _message("pay@quar.example", "quar"))
    assert refused.value.smtp_code == 550 and refused.value.smtp_error == b"#5.7.1 DMARC unauthenticated mail is " \
                                                                          b"prohibited."
    assert wait_for(lambda: {"<aligned@test>", "<relaxed@test>"} <= set(relay.sink.message_ids()), 30)
    by_id = {re.search(rb"Message-ID: (<[^>]+>)", m).group(1).decode(): m.decode() for m in relay.sink.messages()}
    assert re.search(r"dmarc=pass \(p=REJECT dis=NONE\) header\.from=strict\.example", by_id["<aligned@test>"])
    assert "dmarc=pass" in by_id["<relaxed@test>"]
    log = mail_log(datadir)
    assert re.search(r"MID \d+ DMARC: Message from domain strict\.example, DMARC pass \(SPF aligned True, DKIM "
                     r"aligned False\)$", log, re.M), log[-2500:]
    assert re.search(r"MID \d+ DMARC: Message from domain strict\.example, DMARC fail \(SPF aligned False, DKIM "
                     r"aligned False\)\n.*MID \d+ DMARC: Verification failed, action: reject$", log, re.M)
    # The Consolidated Event Log carries the three results in the appliance's fields.
    cef_file = datadir / "logs" / "cef" / "cef.current"
    aligned = re.search(r"MID (\d+) Message-ID '<aligned@test>'", log).group(1)
    assert wait_for(lambda: cef_file.exists() and f"ESAMID={aligned} " in cef_file.read_text(), 20)
    line = next(x for x in cef_file.read_text().splitlines() if f"ESAMID={aligned} " in x)
    assert "ESADKIMVerdict=None " in line and " ESADMARCVerdict=Pass" in line, line
    assert ("ESASPFVerdict={'mailfrom': {'result': 'Pass', 'sender': 'alice@strict.example'}, 'helo': {'result': "
            "'None', 'sender': 'postmaster@") in line, line
    quar = re.search(r"MID (\d+) Message-ID '<quar@test>'", log).group(1)
    assert wait_for(lambda: f'MID {quar} quarantined to "Policy"' in mail_log(datadir), 20), mail_log(datadir)[-1500:]
    assert "<quar@test>" not in relay.sink.message_ids()
    assert relay.request("tracking", mid=int(quar))["verdicts"]["dmarc"]["verdict"] == "FAIL"
    # The profile softens reject to quarantine, as the appliance lets administrators do.
    r = run_cli(datadir, "-c", "dmarcconfig profiles edit DEFAULT --reject=quarantine; commit soften")
    assert r.returncode == 0, r.stderr
    wait_applied(datadir)
    with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
        s.sendmail("x@elsewhere.example", ["bob@example.com"], _message("CEO <ceo@strict.example>", "soft"))
    assert wait_for(lambda: re.search(r"MID \d+ DMARC: Verification failed, action: quarantine",
                                      mail_log(datadir)) is not None, 20)
    assert "policy reject: quarantine" in run_cli(datadir, "-c", "dmarcconfig print").stdout
    # The Incoming Mail report's DMARC Verification section counts them (the CLI, the API and the page share it).
    import json

    def dmarc_section():
        return json.loads(run_cli(datadir, "-c", "report incoming --format=json").stdout)["DMARC Verification"]

    assert wait_for(lambda: dmarc_section()["Passed"] == 2 and dmarc_section()["Failed"] >= 1, 30), dmarc_section()
    # A mail flow policy's own DMARC profile, with its own reply; a profile in use cannot be deleted.
    r = run_cli(datadir, "-c", "dmarcconfig profiles new Partners --reject=reject --reject-code=554 --reject-text=\""
                               "#5.7.1 Spoofed sender.\"; listenerconfig hostaccess policy ACCEPTED "
                               "--dmarc-profile=partners; commit partners")
    assert r.returncode == 0, r.stderr
    assert "DMARC verification on (profile Partners)" in run_cli(datadir, "-c", "listenerconfig hostaccess print").stdout
    for line, why in (("dmarcconfig profiles delete Partners", "used by the mail flow policies ACCEPTED"),
                      ("dmarcconfig profiles delete DEFAULT", "cannot be deleted"),
                      ("listenerconfig hostaccess policy ACCEPTED --dmarc-profile=NOPE",
                       "There is no DMARC verification profile named NOPE"),
                      ("dmarcconfig profiles new Other --reject-code=451", "--reject-code")):
        r = run_cli(datadir, "-c", line)
        assert r.returncode != 0 and why in r.stderr, (line, r.stderr)
    wait_applied(datadir)
    with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            s.sendmail("x@elsewhere.example", ["bob@example.com"], _message("CEO <ceo@strict.example>", "spoof2"))
    assert (refused.value.smtp_code, refused.value.smtp_error) == (554, b"#5.7.1 Spoofed sender.")


def test_record_parsing_and_pct_sampling():
    from scanning import dmarc

    assert dmarc.parse_record("v=DMARC1; p=none") is not None
    assert dmarc.parse_record("p=reject; v=DMARC1") is None  # v= must come first
    assert dmarc.parse_record("v=DMARC1; p=bogus") is None
    assert dmarc.parse_record("v=DMARC1; p=bogus; rua=mailto:a@b.example").p == "none"
    records = {"_dmarc.half.example": b"v=DMARC1; p=reject; pct=50"}
    outcomes = {dmarc.evaluate("a@half.example", lambda n: records.get(n, b""), "none", "", [], str(i)).disposition
                for i in range(200)}
    assert outcomes == {"reject", "quarantine"}  # outside the sample: the next lower policy (6.6.4)


def test_a_trusted_forwarders_arc_chain_overrides_a_dmarc_failure(relay, datadir, tmp_path):
    """A list at forwarder.example relays ceo@strict.example's mail (DMARC fails here: not aligned) and seals it
    with ARC (dkimpy's arc_sign, its key served by dnsmasq): trusted, the failure is overridden; untrusted, the
    domain's reject applies."""
    import dkim

    from scanning import dkim as ours

    key = ours.generate("rsa", 2048)
    records = {**RECORDS, "arc._domainkey.forwarder.example": ours.public_record("rsa", key)}
    port = free_port()
    proc = subprocess.Popen(["dnsmasq", "--no-resolv", "--no-hosts", "--keep-in-foreground", f"--port={port}",
                             "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root", "--local=/example/",
                             f"--pid-file={tmp_path / 'dnsmasq.pid'}",
                             *(f"--txt-record={name}," + ",".join(text[i:i + 250] for i in range(0, len(text), 250))
                               for name, text in records.items())],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        r = run_cli(datadir, "-c", f"dnsconfig setup --servers=127.0.0.1:{port}; "
                                   "listenerconfig hostaccess policy ACCEPTED --spf=on --dmarc-verify=yes; "
                                   "dmarcconfig arc --trusted-sealers=forwarder.example; commit arc")
        assert r.returncode == 0, r.stderr
        wait_applied(datadir)

        def sealed(mid: str) -> bytes:
            body = (b"Authentication-Results: lists.forwarder.example; spf=pass smtp.mailfrom=ceo@strict.example\r\n"
                    + _message("CEO <ceo@strict.example>", mid))
            return b"".join(dkim.arc_sign(body, b"arc", b"forwarder.example", key.encode(),
                                          b"lists.forwarder.example")) + body

        with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
            s.sendmail("bounces@elsewhere.example", ["bob@example.com"], sealed("viaarc"))
        assert wait_for(lambda: "<viaarc@test>" in relay.sink.message_ids(), 30), mail_log(datadir)[-1500:]
        got = next(m.decode() for m in relay.sink.messages() if b"<viaarc@test>" in m)
        assert "arc=pass (as.d=forwarder.example)" in got and "dis=NONE reason=arc" in got
        assert re.search(r"MID \d+ ARC: chain pass \(sealed by forwarder\.example\); trusted sealer: the DMARC failure "
                         r"is overridden$", mail_log(datadir), re.M)
        r = run_cli(datadir, "-c", "dmarcconfig arc --trusted-sealers=; commit untrust")
        assert r.returncode == 0, r.stderr
        wait_applied(datadir)
        with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                s.sendmail("bounces@elsewhere.example", ["bob@example.com"], sealed("untrusted"))
        assert refused.value.smtp_code == 550
    finally:
        proc.terminate()
        proc.wait()


def test_aggregate_reports_count_each_check_and_go_to_the_rua_once(relay, datadir, dmarc_dns):
    import email
    import email.policy
    import gzip
    import xml.etree.ElementTree as ET

    r = run_cli(datadir, "-c", f"dnsconfig setup --servers=127.0.0.1:{dmarc_dns}; "
                               "listenerconfig hostaccess policy ACCEPTED --spf=on --dmarc-verify=yes; "
                               "dmarcconfig reports --aggregate=yes --org-name=gw.example.com "
                               "--contact=dmarc-reports@example.com; commit reports")
    assert r.returncode == 0, r.stderr
    wait_applied(datadir)
    with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
        for i in range(2):
            s.sendmail("alice@strict.example", ["bob@example.com"], _message("alice@strict.example", f"ok{i}"))
        with pytest.raises(smtplib.SMTPDataError):
            s.sendmail("x@elsewhere.example", ["bob@example.com"], _message("ceo@strict.example", "spoofed"))
    assert wait_for(lambda: {"<ok0@test>", "<ok1@test>"} <= set(relay.sink.message_ids()), 30)
    out = run_cli(datadir, "-c", "dmarcconfig reports send").stdout
    assert "Aggregate reports sent for: strict.example" in out, out
    assert wait_for(lambda: any(b"Report Domain: strict.example" in m for m in relay.sink.messages()), 30)
    mail = next(m for m in relay.sink.messages() if b"Report Domain: strict.example" in m)
    parsed = email.message_from_bytes(mail.replace(b"\r\n", b"\n"), policy=email.policy.default)
    assert parsed["Subject"].startswith("Report Domain: strict.example Submitter: gw.example.com Report-ID: <")
    assert re.search(rb"X-Rcpt-Args: <dmarc@strict\.example>", mail)
    part = next(p for p in parsed.iter_attachments())
    assert re.fullmatch(r"gw\.example\.com!strict\.example!\d+!\d+\.xml\.gz", part.get_filename())
    feedback = ET.fromstring(gzip.decompress(part.get_content()))
    assert feedback.findtext("report_metadata/org_name") == "gw.example.com"
    assert feedback.findtext("policy_published/p") == "reject"
    rows = {(r.findtext("row/policy_evaluated/disposition"), r.findtext("row/policy_evaluated/spf")):
            int(r.findtext("row/count")) for r in feedback.findall("record")}
    assert rows == {("none", "pass"): 2, ("reject", "fail"): 1}, rows
    assert all(r.findtext("row/source_ip") == "127.0.0.1" for r in feedback.findall("record"))
    again = run_cli(datadir, "-c", "dmarcconfig reports send").stdout
    assert "No aggregate report was due" in again


def test_the_wizard_creates_edits_and_keeps_dmarc_profiles(datadir):
    from asyncos_cli.config.datadir import DataDir
    from asyncos_cli.shell.context import Context
    from asyncos_cli.shell.runner import Shell
    from asyncos_cli.shell.scripted import ScriptedPrompter

    # NEW Partners: reject with its own reply, a bad action and a quarantine that does not exist re-asked; EDIT it
    # to reject a permanent failure; DELETE DEFAULT refused; then out.
    p = ScriptedPrompter(["NEW", "Partners", "reject", "Y", "554", "#5.7.1 Spoofed.", "bogus", "quarantine", "accept",
                          "accept", "Nope", "Policy", "EDIT", "Partners", "", "N", "", "", "reject", "N", "",
                          "DELETE", "DEFAULT", ""])
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("dmarcconfig")
    assert "Choose the message action when the policy in the DMARC record is reject:" in p.text
    assert "There is no quarantine named Nope" in p.text and "The DEFAULT DMARC profile cannot be deleted." in p.text
    partners = ctx.config.dmarc.profile("Partners")
    assert (partners.name, partners.reject, partners.reject_code, partners.reject_text, partners.quarantine,
            partners.quarantine_name, partners.temperror, partners.permerror) == (
        "Partners", "reject", 554, "#5.7.1 Spoofed.", "quarantine", "Policy", "accept", "reject")
