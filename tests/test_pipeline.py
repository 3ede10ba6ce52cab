"""Mail policies, message splitting, the stage order and trace."""

from __future__ import annotations

import io
import json
import re
import zipfile

from corpus import mail as _mail

from asyncos_cli.config.schema import Config, MailPoliciesSection, MailPolicy
from scanning.engines import EngineResults
from scanning.message import parse
from scanning.pipeline import STAGES, Envelope, scan
from scanning.policies import address_matches


def test_address_patterns():
    assert address_matches("Bob@Sales.Example.com", "@sales.example.com")
    assert address_matches("bob@eu.sales.example.com", "@.example.com")
    assert not address_matches("bob@example.com", "@.example.com")
    assert address_matches("postmaster@anything.org", "postmaster@")
    assert not address_matches("bob@example.com", "alice@example.com")


def _config():
    section = MailPoliciesSection(incoming=(
        MailPolicy("SALES", recipients=("@sales.example.com",), antispam=False),
        MailPolicy("DEFAULT", dlp=False),
    ))
    return Config.default().with_section(section)


def test_recipients_in_several_policies_split_the_message():
    msg = parse(_mail(("a.txt", b"hello", "text/plain")))
    env = Envelope("x@example.org", ("a@sales.example.com", "b@example.com", "c@sales.example.com"))
    spam_score = EngineResults(antispam={"verdict": "scored", "score": 1.0})
    verdicts = scan(msg, env, _config(), engines=spam_score)
    assert [(v.policy, v.recipients) for v in verdicts] == [
        ("SALES", ("a@sales.example.com", "c@sales.example.com")), ("DEFAULT", ("b@example.com",))]
    sales = {s.stage: s for s in verdicts[0].stages}
    assert {s.stage: s for s in verdicts[1].stages}["antispam"].verdict == "NEGATIVE"
    assert [s.stage for s in verdicts[0].stages] == list(STAGES)  # the appliance's order
    assert sales["antispam"].verdict == "SKIPPED" and "off in mail policy SALES" in sales["antispam"].detail
    assert sales["antivirus"].verdict == "NOT_CONFIGURED" and "antivirusconfig" in sales["antivirus"].detail
    assert sales["dlp"].verdict == "SKIPPED"  # incoming mail


def test_unscannable_attachments_are_a_stage_result():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", b"hello" * 1000)
    verdicts = scan(parse(_mail(("bad.zip", buf.getvalue()[:-40], "application/zip"))),
                    Envelope("x@example.org", ("b@example.com",)), Config.default())
    first = verdicts[0].stages[0]
    assert first.stage == "extraction" and first.verdict == "UNSCANNABLE" and "damaged archive" in first.detail


def test_trace_command_json_and_text(cli, tmp_path):
    f = tmp_path / "m.eml"
    f.write_bytes(_mail(("report.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")))
    r = cli("-c", "policyconfig new outgoing LEGAL --senders=@legal.example.com --dlp=yes --antispam=no")
    assert "created" in r.stdout
    r = cli("-c", f"policyconfig new outgoing LEGAL --senders=@legal.example.com --antispam=no; "
                  f"trace {f} --direction=outgoing --sender=boss@legal.example.com --format=json")
    data = json.loads(r.stdout.strip().splitlines()[-1])
    policy = data["policies"][0]
    assert policy["policy"] == "LEGAL"  # the pending policy is used: trace shows what a commit would do
    stages = {s["stage"]: s["verdict"] for s in policy["stages"]}
    assert stages["antispam"] == "NOT_CONFIGURED" and stages["dlp"] == "SKIPPED"  # no engine; no DLP policy
    assert policy["findings"]["attachments"][0]["type"] == "pdf"
    out = cli("-c", f"trace {f}").stdout
    assert "Mail policy DEFAULT: user@example.com" in out and "attachment report.pdf: pdf" in out
    assert "nothing was delivered" in out
    r = cli("-c", "trace /nonexistent.eml", check=False)
    assert r.returncode == 1 and "does not exist" in r.stderr


SCRIPT = """\
sizes: if (true) { log-entry("$filesizes"); }
nopdf: if (attachment-filetype == "pdf" AND NOT subject == "^keep") {
    insert-header("X-Stripped", "$filenames by $FilterName");
    drop-attachments-by-filetype("pdf");
}
# a comment
killexe: if attachment-filetype == "exe" { drop(); } else { log-entry("no exe in MID $MID"); }
.
"""


def test_filters_import_list_and_effect_in_trace(cli, tmp_path):
    script = tmp_path / "filters.txt"
    script.write_text(SCRIPT)
    assert "3 filters added." in cli("-c", f"filters import {script}; commit filters").stdout
    out = cli("-c", "filters list").stdout
    assert re.search(r"1\s+Y\s+Y sizes", out) and re.search(r"3\s+Y\s+Y killexe", out)
    mail = tmp_path / "m.eml"
    mail.write_bytes(_mail(("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf"), ("b.txt", b"hello", "text/plain"),
                           ("c.bin", b"\x00" * 300, "application/octet-stream")))
    data = json.loads(cli("-c", f"trace {mail} --format=json").stdout.strip())
    f = data["policies"][0]["findings"]["filters"]
    assert f["log_entries"] == ["15, 5, 300", "no exe in MID 0"]
    assert [d["name"] for d in f["dropped_attachments"]] == ["a.pdf"] and ["X-Stripped", "a.pdf, b.txt, c.bin by nopdf"] in f["add_headers"]
    assert data["policies"][0]["action"] == "deliver"
    # a final action stops the pipeline before anti-spam
    evil = tmp_path / "evil.eml"
    evil.write_bytes(_mail(("setup.txt", b"MZ" + b"\x00" * 64, "text/plain")))
    data = json.loads(cli("-c", f"trace {evil} --format=json").stdout.strip())
    pol = data["policies"][0]
    assert pol["action"] == "drop" and [s["stage"] for s in pol["stages"]] == ["message_filters"]
    cli("-c", "filters set killexe inactive; commit off")
    pol = json.loads(cli("-c", f"trace {evil} --format=json").stdout.strip())["policies"][0]
    assert pol["action"] == "deliver" and "antispam" in [s["stage"] for s in pol["stages"]]


def test_filter_errors_point_at_line_and_column(cli, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text('ok: if (true) { log-entry("x"); }\nbroken: if (subject == ) { drop(); }\n')
    r = cli("-c", f"filters import {bad}", check=False)
    assert r.returncode == 1 and "line 2, column" in r.stderr and "Invalid filter syntax" in r.stderr
    bad.write_text('x: if (dnslist("zen.example")) { drop(); }\n')
    r = cli("-c", f"filters import {bad}", check=False)
    assert r.returncode == 1 and "the rule 'dnslist' is not supported yet" in r.stderr
    assert "No filters are defined." in cli("-c", "filters list").stdout
