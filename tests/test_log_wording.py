"""Log lines in the appliance's wording: a table of the appliance's own lines (from issue #25, which quotes its
documentation and public appliance logs), each with the form a SIEM parser expects of it. Every line kind the
gateway writes must have that form; each appliance line must too, so the forms say what the appliance writes.

The end-to-end tests (test_relay, test_consolidated_events, test_syslog_push) read the same lines from the log
files and from syslog push.
"""

from __future__ import annotations

import re

import pytest

from asyncos_cli.events import auth, engines, escape_controls, mail, system

N, IP, WORD = r"\d+", r"\d{1,3}(?:\.\d{1,3}){3}", r"[\w.-]+"

#: (the appliance's line, the form parsers expect, our event(s) standing for that kind of line)
TABLE = [
    ("New SMTP ICID 5 interface Management (192.0.2.1) address 198.51.100.7 reverse dns host mx.example.org "
     "verified yes",
     rf"^New SMTP ICID {N} interface {WORD} \({IP}\) address {IP} reverse dns host \S+ verified (yes|no)$",
     [mail.SmtpConnected(5, "IncomingMail", "Management", "192.0.2.1", "198.51.100.7", "mx.example.org", True)]),
    ('MID 6 Subject "text"', r'^MID \d+ Subject "(?:[^"\\]|\\.)*"$',
     [mail.MessageReceived(6, 5, "a@example.org", ("b@example.com",), 100, 'it\'s a "quoted" \\ subject\r\nX')]),
    ("MID 6 interim verdict using engine: CASE spam negative",
     rf"^MID {N} interim verdict using engine: \w+ spam (negative|positive|suspect)$",
     [mail.StageVerdict(6, "antispam", "NEGATIVE")]),
    ("MID 6 using engine: CASE spam negative", rf"^MID {N} using engine: \w+ spam (negative|positive|suspect)\b",
     [mail.StageVerdict(6, "antispam", "NEGATIVE"), mail.StageVerdict(6, "antispam", "POSITIVE", "score 15")]),
    ("MID 6 interim AV verdict using ClamAV CLEAN",
     rf"^MID {N} interim AV verdict using \w+ (CLEAN|VIRAL|UNSCANNABLE|ENCRYPTED)$",
     [mail.StageVerdict(6, "antivirus", "NEGATIVE"), mail.StageVerdict(6, "antivirus", "POSITIVE", "Eicar")]),
    ("MID 6 antivirus negative", rf"^MID {N} antivirus (negative|positive '[^']*'|unscannable)",
     [mail.StageVerdict(6, "antivirus", "NEGATIVE"), mail.StageVerdict(6, "antivirus", "POSITIVE", "Eicar")]),
    ("MID 6 SDR: Domains for which SDR is requested: reverse DNS host: mx.example.org, helo: mx.example.org, "
     "env-from: example.org, header-from: example.org, reply-to: example.org",
     rf"^MID {N} SDR: Domains for which SDR is requested: reverse DNS host: [^,]+, helo: [^,]+, env-from: [^,]+, "
     r"header-from: [^,]+, reply-to: \S+$",
     [mail.SdrConsolidated(6, "", "mx.example.org", "example.org", "bank.example", "", "neutral", "", 45)]),
    ("MID 6 SDR: Consolidated Sender Threat Level: Neutral, Threat Category: N/A, Suspected Domain(s) : N/A "
     "(other reasons for verdict). Sender Maturity: 30 days (or greater) for domain: example.org",
     rf"^MID {N} SDR: Consolidated Sender Threat Level: \w+, Threat Category: [^,]+, Suspected Domain\(s\) : N/A "
     r"\(other reasons for verdict\)\. Sender Maturity: (30 days \(or greater\)|\d+ days?|unknown) for domain: \S+$",
     [mail.SdrConsolidated(6, "", "mx.example.org", "example.org", "", "", "neutral", "", 45),
      mail.SdrConsolidated(6, "", "", "new.example", "", "", "weak", "spam", 3)]),
    ("Message finished MID 6 done", rf"^Message finished MID {N} (done|aborted)$",
     [mail.MessageFinished(6, "DELIVERED"), mail.MessageFinished(6, "BOUNCED", "Bounced"),
      mail.MessageFinished(6, "DROPPED", "Dropped by filter 'x'")]),
    ("Message aborted MID 6 Dropped by filter 'drop_exe'", rf"^Message aborted MID {N} \S",
     [mail.MessageFinished(6, "DROPPED", "Dropped by filter 'drop_exe'")]),
    ("DCID 8 TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384",
     rf"^DCID {N} TLS success protocol TLSv1\.[0-3] cipher \S+$",
     [mail.DeliveryTls(8, "TLSv1.3", "TLS_AES_256_GCM_SHA384")]),
    ("ICID 5 TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES256-GCM-SHA384",
     rf"^ICID {N} TLS success protocol TLSv1\.[0-3] cipher \S+$", [mail.SmtpTls(5, "TLSv1.2", "X")]),
    ("Start MID 6 ICID 5", rf"^Start MID {N} ICID {N}$", [mail.MessageStarted(6, 5, "a@example.org")]),
    ("MID 6 ICID 5 From: <a@example.org>", rf"^MID {N} ICID {N} From: <[^>]*>$",
     [mail.MessageStarted(6, 5, "a@example.org")]),
    ("MID 6 ICID 5 RID 0 To: <b@example.com>", rf"^MID {N} ICID {N} RID {N} To: <[^>]+>$",
     [mail.RecipientAccepted(6, 5, 0, "b@example.com")]),
    ("MID 6 ready 100 bytes from <a@example.org>", rf"^MID {N} ready {N} bytes from <[^>]*>$",
     [mail.MessageReceived(6, 5, "a@example.org", ("b@example.com",), 100)]),
    ("MID 6 Message-ID '<m1@example.org>'", rf"^MID {N} Message-ID '<[^>]*>'$",
     [mail.MessageReceived(6, 5, "a@example.org", ("b@example.com",), 100, message_id="<m1@example.org>")]),
    ("Delivery start DCID 8 MID 6 to RID [0]", rf"^Delivery start DCID {N} MID {N} to RID \[{N}(, {N})*\]$",
     [mail.DeliveryStarted(8, 6, (0, 1))]),
    ("Message done DCID 8 MID 6 to RID [0]", rf"^Message done DCID {N} MID {N} to RID \[{N}(, {N})*\]$",
     [mail.DeliveryDone(8, 6, (0,), "250 ok")]),
    ("Bounced: DCID 8 MID 6 to RID 0 - 5.1.0 - Unknown address error ('550', ['<b@example.com>... No such user'])",
     rf"^Bounced: DCID {N} MID {N} to RID {N} - \d\.\d{{1,3}}\.\d{{1,3}} - [A-Z][a-z ]+ error \('\d*', \[.*\]\)$",
     [mail.RecipientBounced(8, 6, 0, "5.1.1", "550 5.1.1 <b@example.com>: no such user")]),
    ("Bounced: DCID 8 MID 6 From:<a@example.org> To:<b@example.com> RID 0 - 5.1.0 - Unknown address error "
     "('550', ['No such user'])",
     rf"^Bounced: DCID {N} MID {N} From:<[^>]*> To:<[^>]+> RID {N} - \S+ - .+ \(.+\)$",
     [mail.BounceRecorded(8, 6, 0, "a@example.org", "b@example.com", "5.1.1", "550 5.1.1 no such user")]),
    ("MID 111 DLP violation. Severity: LOW (Risk Factor: 15). DLP policy match: 'PCI-DSS'.",
     rf"^MID {N} DLP violation\. Severity: [A-Z]+ \(Risk Factor: {N}\)\. DLP policy match: '[^']+'\.$",
     [mail.DlpViolation(111, "PrivacyProtection", "high", 85, "quarantine", (("sg-nric", 95, "S****567D", "body"),))]),
    ("MID 6 AMP file reputation verdict : SKIPPED (no attachment in message)",
     rf"^MID {N} AMP file reputation verdict : [A-Z_]+", [mail.StageVerdict(6, "file_reputation", "CLEAN")]),
    ("MID 6 matched all recipients for per-recipient policy DEFAULT in the inbound table",
     rf"^MID {N} matched (all|some) recipients for per-recipient policy \S+ in the (inbound|outbound) table$",
     [mail.PolicyMatched(6, "DEFAULT", "incoming", True)]),
    ("ICID 5 close", rf"^ICID {N} close$", [mail.SmtpClosed(5)]),
    ("DCID 8 close", rf"^DCID {N} close$", [mail.DeliveryClosed(8)]),
    # Anti-virus log (the engine's own layout)
    ("sophos  antivirus - MID 69391938 - Result 'CLEAN' ()", rf"^\w+  antivirus - MID {N} - Result 'CLEAN' \(\)$",
     [engines.AntivirusScanned(6, "NEGATIVE")]),
    ("sophos  antivirus - MID 66842418 0 - Virus 'CXmail/Phish-O' 'body.scan/Payment.html' 1 0",
     rf"^\w+  antivirus - MID {N} 0 - Virus '[^']+' '[^']+' 1 0$",
     [engines.AntivirusScanned(6, "POSITIVE", "Eicar-Signature ; action drop")]),
    ("sophos  antivirus - MID 68431780 0 - Error - 'Encrypted' '0x8004021'",
     rf"^\w+  antivirus - MID {N} 0 - Error - '\w+' '[^']*'$",
     [engines.AntivirusScanned(6, "ENCRYPTED", "protected zip"), engines.AntivirusScanned(6, "UNSCANNABLE", "x")]),
    # Authentication log
    ("An authentication attempt by the user admin from 192.0.2.7 failed using an SSH connection.",
     rf"^An authentication attempt by the user \S+ from {IP} failed using an \w+ connection\.$",
     [auth.LoginFailed("admin", "192.0.2.7", "wrong passphrase")]),
    ("The user admin successfully logged on from 192.0.2.7 with privilege admin using an SSH connection.",
     rf"^The user \S+ successfully logged on from {IP} with privilege \S+ using an \w+ connection\.$",
     [auth.LoginSucceeded("admin", "192.0.2.7", "admin")]),
    ("User admin logged out of SSH session 192.0.2.7", rf"^User \S+ logged out of SSH session {IP}$",
     [auth.LoggedOut("admin", "192.0.2.7")]),
    ("CLI: User admin logged out from 192.0.2.7 because of inactivity timeout",
     r"^CLI: User \S+ logged out from \S+ because of inactivity timeout$",
     [auth.LoggedOut("admin", "192.0.2.7", "inactivity timeout")]),
    ("GUI: User admin logged out from session 8a7f2c0d because of inactivity timeout",
     r"^GUI: User \S+ logged out from session \w+ because of inactivity timeout$",
     [auth.GuiLoggedOut("admin", "8a7f2c0d91be", "inactivity timeout")]),
    ("logout:192.0.2.7 user:admin session:8a7f2c0d", rf"^logout:{IP} user:\S+ session:\w+$",
     [auth.GuiLoggedOut("admin", "8a7f2c0d91be", address="192.0.2.7")]),
    # Status log
    ("Status: CPULd 0 DskIO 0 RAMUtil 1 QKUsd 0 QKFre 8388608 CrtMID 0 CrtICID 0 CrtDCID 1 InjMsg 0 InjRcp 0",
     r"^Status: CPULd \d+ DskIO \d+ RAMUtil \d+ QKUsd \d+ QKFre \d+ CrtMID \d+ CrtICID \d+ CrtDCID \d+ InjMsg \d+ "
     r"InjRcp \d+",
     [system.StatusReport(tuple((k, 0 if k not in ("LogAvail", "SwapUsage") else "1G") for k in system.STATUS_KEYS))]),
]


@pytest.mark.parametrize("appliance, form, events", TABLE, ids=[row[0][:40] for row in TABLE])
def test_each_line_kind_has_the_appliances_form(appliance, form, events):
    pattern = re.compile(form)
    assert pattern.search(appliance), "the form must fit the appliance's own line"
    for event in events:
        lines = [escape_controls(line) for line in event.log_lines()]
        assert any(pattern.search(line) for line in lines), (type(event).__name__, lines)


def test_every_line_is_one_line_and_quotes_stay_unambiguous():
    line = mail.MessageReceived(6, 5, "a@x", ("b@y",), 1, 'a "b" \\ c\r\nd').log_lines()
    subject = escape_controls(next(x for x in line if " Subject " in x))
    assert subject == 'MID 6 Subject "a \\"b\\" \\\\ c\\r\\nd"'
    # The failed-login sentence keeps no reason inside; the reason has a line of its own.
    lines = auth.LoginFailed("admin", "192.0.2.7", "account locked").log_lines()
    assert lines[0].endswith("failed using an SSH connection.") and "account locked" in lines[1]


def test_the_status_line_has_every_key_in_the_appliances_order():
    line = system.StatusReport(tuple((k, 7) for k in system.STATUS_KEYS)).log_line()
    keys = line.removeprefix("Status: ").split()[::2]
    assert keys == list(system.STATUS_KEYS) and keys[:3] == ["CPULd", "DskIO", "RAMUtil"] and keys[-1] == "InjBytes"


def test_engine_verdicts_also_go_to_their_own_logs():
    assert mail.StageVerdict(6, "antispam", "NEGATIVE").also_logged_to == ("antispam",)
    assert mail.StageVerdict(6, "dlp", "NEGATIVE").also_logged_to == ()
    assert mail.StageVerdict(6, "antivirus", "NEGATIVE").also_logged_to == ()  # its log has a layout of its own
