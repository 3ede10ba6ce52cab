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
    "mx.fail.example": "v=spf1 -all",
    "exp.example": "v=spf1 ip4:192.0.2.1 -all exp=why.exp.example",
    "why.exp.example": "%{i} is not one of %{d}'s designated mail servers",
    # an include of a name the test's DNS does not serve (no upstream): a TempError
    "temp.example": "v=spf1 include:spf.unreachable.test -all",
    # Sender ID through include: and redirect= to pra.example, whose PRA record differs from its v=spf1 one
    "top.example": "spf2.0/pra include:pra.example -all",
    "redir.example": "spf2.0/pra redirect=pra.example",
}
#: A second record of a name (Sender ID's PRA scope beside SPF's record).
MORE_RECORDS = [("pra.example", "v=spf1 -all"), ("pra.example", "spf2.0/pra ip4:127.0.0.0/8 -all")]


@pytest.fixture
def spf_dns(tmp_path):
    require_peer("dnsmasq")
    port = free_port()
    proc = subprocess.Popen(["dnsmasq", "--no-resolv", "--no-hosts", "--keep-in-foreground", f"--port={port}",
                             "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root", "--local=/example/",
                             f"--pid-file={tmp_path / 'dnsmasq.pid'}",
                             *(f"--txt-record={name},{text}" for name, text in [*RECORDS.items(), *MORE_RECORDS])],
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
    assert "550 #5.7.1 SPF unauthorized mail is prohibited." in refused.stdout, refused.stdout[-600:]
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


def _helo_from(port, helo, sender, message_id):
    return swaks(port, "--from", sender, "--to", "bob@example.com", "--helo", helo,
                 "--header", f"Message-Id: <{message_id}>")


def test_each_identity_gets_the_policys_smtp_actions_and_replies(relay, datadir, spf_dns):
    """The appliance's SMTP actions per identity (HELO, MAIL FROM) and result, its REJECT and TEMPFAIL replies,
    the domain's own explanation (exp=) as the reply text, and the HELO test turned off."""
    r = run_cli(datadir, "-c", f"dnsconfig setup --servers=127.0.0.1:{spf_dns}; listenerconfig hostaccess policy "
                               "ACCEPTED --spf=on --spf-helo-reject=fail --spf-mailfrom-reject=softfail,temperror "
                               "--spf-reject-code=554 --spf-defer-text=\"#4.4.3 Try again later.\"; commit actions")
    assert r.returncode == 0, r.stderr
    shown = run_cli(datadir, "-c", "listenerconfig hostaccess print").stdout
    assert ("          For HELO Identity:\n            None, Neutral, SoftFail, TempError, PermError: Accept\n"
            "            Fail: Reject\n          For MAIL FROM Identity:\n") in shown, shown
    assert "Reject code: 554" in shown and "Defer text: #4.4.3 Try again later." in shown
    wait_applied(datadir)
    port = relay.public
    helo_failed = _helo_from(port, "mx.fail.example", "alice@pass.example", "h1")
    assert "<** 554 #5.7.1 SPF unauthorized mail is prohibited." in helo_failed.stdout, helo_failed.stdout[-600:]
    soft = _helo_from(port, "mx.pass.example", "carol@soft.example", "m1")
    assert "<** 554 #5.7.1 SPF unauthorized mail is prohibited." in soft.stdout, soft.stdout[-600:]
    temp = _helo_from(port, "mx.pass.example", "t@temp.example", "m2")
    assert "<** 451 #4.4.3 Try again later." in temp.stdout, temp.stdout[-600:]
    assert _helo_from(port, "mx.pass.example", "x@exp.example", "e1").returncode == 0  # a Fail: accepted here
    r = run_cli(datadir, "-c", "listenerconfig hostaccess policy ACCEPTED --spf-reject=yes; commit fails")
    assert r.returncode == 0, r.stderr
    wait_applied(datadir)
    published = _helo_from(port, "mx.pass.example", "x@exp.example", "e2")
    assert "<** 554 127.0.0.1 is not one of exp.example's designated mail servers" in published.stdout, \
        published.stdout[-600:]
    r = run_cli(datadir, "-c", "listenerconfig hostaccess policy ACCEPTED --spf-publisher-text=no "
                               "--spf-helo-check=no; commit no helo")
    assert r.returncode == 0, r.stderr
    wait_applied(datadir)
    plain = _helo_from(port, "mx.pass.example", "x@exp.example", "e3")
    assert "<** 554 #5.7.1 SPF unauthorized mail is prohibited." in plain.stdout, plain.stdout[-600:]
    assert _helo_from(port, "mx.fail.example", "alice@pass.example", "h2").returncode == 0
    assert wait_for(lambda: {"<e1>", "<h2>"} <= set(relay.sink.message_ids()), 30)
    assert not {"<h1>", "<m1>", "<m2>", "<e2>", "<e3>"} & set(relay.sink.message_ids())
    by_id = {re.search(rb"Message-I[dD]: (<[^>]+>)", m).group(1).decode(): m.decode() for m in relay.sink.messages()}
    assert "spf=pass smtp.mailfrom=alice@pass.example" in by_id["<h2>"] and "smtp.helo" not in by_id["<h2>"]
    assert "spf=fail smtp.mailfrom=x@exp.example" in by_id["<e1>"]
    log = mail_log(datadir)
    assert re.search(r"RCPT <bob@example\.com> rejected: SPF fail for the HELO identity postmaster@mx\.fail\.example",
                     log), log[-2500:]
    assert re.search(r"RCPT <bob@example\.com> rejected: SPF temperror for t@temp\.example", log)
    for option, why in (("--spf-helo-reject=pass", "pass is not an SPF result that can be refused"),
                        ("--spf-timeout=5", "--spf-timeout"), ("--spf-reject-code=451", "--spf-reject-code"),
                        ("--spf-defer-code=550", "--spf-defer-code")):
        r = run_cli(datadir, "-c", f"listenerconfig hostaccess policy ACCEPTED {option}")
        assert r.returncode != 0 and why in r.stderr, (option, r.stderr)


def _send_from(port, sender, header_from, message_id, *more):
    return swaks(port, "--from", sender, "--to", "bob@example.com", "--helo", "mx.pass.example",
                 "--header", f"Message-Id: <{message_id}>", "--header", f"From: {header_from}", *more)


def test_sender_id_checks_the_pra_at_both_sidf_levels(relay, datadir, spf_dns):
    """sidf-compatible: HELO, MAIL FROM and the PRA, a v=spf1 record standing for MAIL FROM only, a PRA Pass
    downgraded when Resent- fields are present; sidf (strict): no HELO, v=spf1 stands for the PRA too, and a
    domain that does not exist fails; a failing PRA refused at the end of DATA."""
    script = datadir / "config" / "pra.txt"
    script.parent.mkdir(exist_ok=True)
    script.write_text('pra_ok: if (spf-status("pra") == "Pass") { insert-header("X-PRA", "pass"); }\n.\n'
                      'pra_passed: if (spf-passed) { insert-header("X-SPF-Passed", "yes"); }\n.\n')
    r = run_cli(datadir, "-c", f"dnsconfig setup --servers=127.0.0.1:{spf_dns}; filters import {script}; "
                               "listenerconfig hostaccess policy ACCEPTED --spf=on --spf-conformance=sidf-compatible "
                               "--spf-downgrade-pra=yes --spf-reject=yes; commit sidf")
    assert r.returncode == 0, r.stderr
    shown = run_cli(datadir, "-c", "listenerconfig hostaccess print").stdout
    assert "SPF/SIDF SIDF compatible (fails rejected) (PRA downgraded on Resent-)" in shown, shown
    wait_applied(datadir)
    port = relay.public
    assert _send_from(port, "alice@pass.example", "Ann <a@pra.example>", "c1").returncode == 0
    assert _send_from(port, "alice@pass.example", "b@pass.example", "c2").returncode == 0
    assert _send_from(port, "alice@pass.example", "a@pra.example", "c3",
                      "--add-header", "Resent-From: r@pra.example").returncode == 0
    r = run_cli(datadir, "-c", "listenerconfig hostaccess policy ACCEPTED --spf-conformance=sidf; commit strict")
    assert r.returncode == 0, r.stderr
    wait_applied(datadir)
    assert _send_from(port, "alice@pass.example", "b@pass.example", "s1").returncode == 0
    refused = _send_from(port, "alice@pass.example", "mallory@fail.example", "s2")
    assert "550 #5.7.1 SPF unauthorized mail is prohibited." in refused.stdout, refused.stdout[-600:]
    nowhere = _send_from(port, "alice@pass.example", "x@nowhere.example", "s3")
    assert "550 #5.7.1 SPF unauthorized mail is prohibited." in nowhere.stdout, nowhere.stdout[-600:]
    wanted = {"<c1>", "<c2>", "<c3>", "<s1>"}
    assert wait_for(lambda: wanted <= set(relay.sink.message_ids()), 30)
    assert not {"<s2>", "<s3>"} & set(relay.sink.message_ids())
    by_id = {re.search(rb"Message-I[dD]: (<[^>]+>)", m).group(1).decode(): m.decode() for m in relay.sink.messages()}
    assert "sender-id=pass header.from=a@pra.example" in by_id["<c1>"], by_id["<c1>"][:800]
    assert "spf=pass smtp.mailfrom=alice@pass.example" in by_id["<c1>"] and "smtp.helo=" in by_id["<c1>"]
    assert "X-PRA: pass" in by_id["<c1>"] and "X-SPF-Passed: yes" in by_id["<c1>"]
    assert "sender-id=none header.from=b@pass.example" in by_id["<c2>"] and "X-PRA" not in by_id["<c2>"]
    assert "X-SPF-Passed" not in by_id["<c2>"]  # the PRA's result first: none
    assert "sender-id=none header.resent-from=r@pra.example" in by_id["<c3>"]  # a Pass, downgraded
    assert "sender-id=pass header.from=b@pass.example" in by_id["<s1>"] and "smtp.helo=" not in by_id["<s1>"]
    log = mail_log(datadir)
    assert re.search(r"MID \d+ SPF: pra identity a@pra\.example Pass \(v=spf1\)$", log, re.M), log[-2500:]
    assert re.search(r"MID \d+ SPF: pra identity b@pass\.example None$", log, re.M)
    assert re.search(r"ICID \d+ MID \d+ DATA rejected: Sender ID fail for mallory@fail\.example", log), log[-2500:]
    mid = re.search(r"MID (\d+) Message-ID '<c1>'", log).group(1)
    detail = relay.request("tracking", mid=int(mid))["verdicts"]["spf"]["detail"]
    assert detail == "mailfrom alice@pass.example; helo none postmaster@mx.pass.example; pra pass a@pra.example"


def test_the_pra_by_rfc_4407():
    from scanning import sidf

    def pra(head: bytes):
        return sidf.purported_responsible_address(sidf.fields(head))

    assert pra(b"From: Ann\r\n <a@example.org>\r\nSender: \r\n") == ("a@example.org", "from")
    assert pra(b"From: a@example.org\r\nSender: s@example.net\r\n") == ("s@example.net", "sender")
    assert pra(b"From: a@example.org, b@example.org\r\n") is None  # more than one mailbox
    assert pra(b"From: a@example.org\r\nFrom: b@example.org\r\n") is None  # more than one From
    assert pra(b"From: nobody\r\n") is None and pra(b"To: b@example.org\r\n") is None
    assert pra(b"Resent-Sender: rs@example.com\r\nResent-From: rf@example.net\r\nFrom: a@example.org\r\n") == (
        "rs@example.com", "resent-sender")
    # A Resent-Sender below a trace field below the first Resent-From belongs to an earlier resending.
    assert pra(b"Resent-From: rf@example.net\r\nReceived: by mx\r\nResent-Sender: rs@example.com\r\n") == (
        "rf@example.net", "resent-from")
    assert sidf.select_record(["v=spf1 -all"], "pra", "sidf-compatible") is None
    assert sidf.select_record(["v=spf1 -all"], "pra", "sidf") == "v=spf1 -all"
    assert sidf.select_record(["v=spf1 -all", "spf2.0/mfrom,pra ?all"], "mfrom", "sidf") == "v=spf1 ?all"
    with pytest.raises(sidf.MultipleRecords):
        sidf.select_record(["spf2.0/pra -all", "spf2.0/pra,mfrom ?all"], "pra", "sidf")


def test_sender_id_follows_include_and_redirect_to_the_scopes_own_record(spf_dns):
    """pra.example publishes v=spf1 -all and spf2.0/pra for 127.0.0.0/8: a PRA at top.example (include:) or
    redir.example (redirect=) is checked against pra.example's PRA record, not its v=spf1 one (RFC 4406 3.4)."""
    from asyncos_cli.config.schema import Config
    from asyncos_cli.services import spfcheck

    config = Config.default()
    config = config.with_section(config.dns.replace(servers=(f"127.0.0.1:{spf_dns}",)))
    for level in ("sidf-compatible", "sidf"):
        for identity in ("ceo@top.example", "ceo@redir.example"):
            assert spfcheck.check_sender_id(config, "127.0.0.1", identity, "mx", "pra", level)[0] == "pass", \
                (level, identity)
        assert spfcheck.check_sender_id(config, "192.0.2.9", "ceo@top.example", "mx", "pra", level)[0] == "fail"


def test_a_malformed_identity_is_a_result_of_its_level():
    from asyncos_cli.config.schema import Config
    from asyncos_cli.services import spfcheck

    for identity in ("x@a..example", "x@" + "l" * 70 + ".example", "nobody"):  # labels DNS cannot carry, no domain
        assert spfcheck.check_sender_id(Config.default(), "127.0.0.1", identity, "mx", "pra", "sidf")[0] == "fail"
        assert spfcheck.check_sender_id(Config.default(), "127.0.0.1", identity, "mx", "pra",
                                        "sidf-compatible")[0] == "none"


def test_the_consolidated_event_log_names_every_identity_tracking_kept():
    from asyncos_cli.services.cef import _spf_verdict

    assert _spf_verdict({"verdict": "PASS", "detail": "mailfrom a@example.org; helo none postmaster@mx.example"}) == {
        "mailfrom": {"result": "Pass", "sender": "a@example.org"},
        "helo": {"result": "None", "sender": "postmaster@mx.example"}}
    assert _spf_verdict({"verdict": "PASS", "detail": "mailfrom a@example.org; pra fail b@example.net"}) == {
        "mailfrom": {"result": "Pass", "sender": "a@example.org"}, "helo": {"result": "None", "sender": ""},
        "pra": {"result": "Fail", "sender": "b@example.net"}}


def test_the_listener_wizard_asks_the_appliances_spf_sidf_questions(datadir):
    from asyncos_cli.config.datadir import DataDir
    from asyncos_cli.shell.context import Context
    from asyncos_cli.shell.runner import Shell
    from asyncos_cli.shell.scripted import ScriptedPrompter
    from commands.listenerconfig import spf_settings

    # EDIT listener 1, HOSTACCESS, EDIT the policy ACCEPTED; SPF/SIDF on at "SIDF compatible" (a bad answer
    # re-asked), PRA downgraded, no HELO test; MAIL FROM's actions changed (SoftFail and Fail rejected), PRA's
    # left; the REJECT response changed (a code out of range re-asked), the TEMPFAIL one left; a timeout below the
    # RFC's 20 s re-asked; DKIM verification off, DMARC on; then out of the menus.
    p = ScriptedPrompter(["EDIT", "1", "HOSTACCESS", "EDIT", "ACCEPTED", "Y", "Y", "7", "2", "Y", "N",
                          "Y", "Y", "1", "1", "2", "2", "1", "1", "N",
                          "Y", "600", "554", "#5.7.1 Not from here.", "N", "N", "10", "30",
                          "N", "Y", "", ""])
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("listenerconfig")
    assert "What Conformance Level would you like to use?\n1. SPF only\n2. SIDF compatible\n3. SIDF strict" in p.text
    assert "Please enter a number from 1 to 3." in p.text
    assert "Would you like to change SMTP actions taken for the HELO identity?" not in p.text  # no HELO test
    assert "What SMTP action should be taken if MAIL FROM check returns SoftFail?\n1. Accept\n2. Reject" in p.text
    assert "Would you like to change SMTP actions taken for the PRA identity?" in p.text
    assert "Verification timeout (seconds)" in p.text
    policy = next(x for x in ctx.config.hat.policies if x.name == "ACCEPTED")
    assert (policy.spf, policy.spf_conformance, policy.spf_downgrade_pra, policy.spf_helo_check, policy.spf_reject,
            policy.spf_mailfrom_reject, policy.spf_pra_reject, policy.spf_reject_code, policy.spf_reject_text,
            policy.spf_publisher_text, policy.spf_defer_code, policy.spf_timeout, policy.dkim_verify,
            policy.dmarc_verify) == ("on", "sidf-compatible", True, False, False, "softfail,fail", "", 554,
                                     "#5.7.1 Not from here.", False, 451, 30, False, True)
    shown = "\n".join(spf_settings(policy))
    assert ("  SMTP actions:\n    For MAIL FROM Identity:\n      None, Neutral, TempError, PermError: Accept\n"
            "      SoftFail, Fail: Reject\n    For PRA Identity: Accept\n") in shown, shown
    assert "Do HELO test: No" in shown and "Verification timeout: 30" in shown
