"""Mail policies, message splitting, the stage order and trace."""

from __future__ import annotations

import io
import json
import zipfile

from asyncos_cli.config.schema import Config, MailPoliciesSection, MailPolicy
from scanning.message import parse
from scanning.pipeline import STAGES, Envelope, scan
from scanning.policies import address_matches
from test_message_model import _mail


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
    verdicts = scan(msg, env, _config())
    assert [(v.policy, v.recipients) for v in verdicts] == [
        ("SALES", ("a@sales.example.com", "c@sales.example.com")), ("DEFAULT", ("b@example.com",))]
    sales = {s.stage: s for s in verdicts[0].stages}
    assert [s.stage for s in verdicts[0].stages] == list(STAGES)  # the appliance's order
    assert sales["antispam"].verdict == "SKIPPED" and "off in mail policy SALES" in sales["antispam"].detail
    assert sales["antivirus"].verdict == "NOT_CONFIGURED"  # honest: no engine yet
    assert sales["dlp"].verdict == "SKIPPED"  # incoming mail


def test_unscannable_attachments_are_a_stage_result():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../escape.txt", b"x")
    verdicts = scan(parse(_mail(("bad.zip", buf.getvalue(), "application/zip"))),
                    Envelope("x@example.org", ("b@example.com",)), Config.default())
    first = verdicts[0].stages[0]
    assert first.stage == "extraction" and first.verdict == "UNSCANNABLE" and "path traversal" in first.detail


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
    assert stages["antispam"] == "SKIPPED" and stages["dlp"] == "NOT_CONFIGURED"
    assert policy["findings"]["attachments"][0]["type"] == "pdf"
    out = cli("-c", f"trace {f}").stdout
    assert "Mail policy DEFAULT: user@example.com" in out and "attachment report.pdf: pdf" in out
    assert "nothing was delivered" in out
    r = cli("-c", "trace /nonexistent.eml", check=False)
    assert r.returncode == 1 and "cannot be read" in r.stderr
