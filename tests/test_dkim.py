"""DKIM: keys and their DNS records (domainkeysconfig), outgoing mail signed after every content change and
verified by OpenDKIM (libopendkim, its TestPublicKeys file standing in for DNS) and by dkimpy's own verifier."""

from __future__ import annotations

import re
import smtplib
import subprocess

import pytest
from conftest import mail_log, require_peer, run_cli, wait_applied, wait_for


def _ok(datadir, line: str):
    r = run_cli(datadir, "-c", line)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _record(zone_line: str) -> tuple[str, str]:
    """(name, TXT text) from `keys dnstxt`'s zone line."""
    name = zone_line.split()[0].rstrip(".")
    return name, "".join(re.findall(r'"([^"]*)"', zone_line))


def _opendkim_verify(tmp_path, name: str, text: str, message: bytes) -> str:
    require_peer("opendkim")
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{name} {text}\n")
    conf = tmp_path / "opendkim.conf"
    conf.write_text(f"TestPublicKeys {keys}\nMode v\nSyslog no\n")
    (tmp_path / "msg.eml").write_bytes(message)
    r = subprocess.run(["opendkim", "-x", str(conf), "-t", str(tmp_path / "msg.eml")], capture_output=True,
                       text=True, timeout=30)
    return r.stdout + r.stderr


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
def test_outgoing_mail_is_signed_after_the_filters_changed_it(relay, datadir, tmp_path, kind):
    import dkim

    _ok(datadir, f"domainkeysconfig keys new corp --type={kind}; "
                 "domainkeysconfig profiles signing new example.org --selector=mail2026 --key=corp; "
                 "stripheaders setup X-Internal; commit dkim")
    zone = _ok(datadir, "domainkeysconfig keys dnstxt corp --selector=mail2026 --domain=example.org").strip()
    assert zone.startswith("mail2026._domainkey.example.org. IN TXT (") and f"k={kind}" in zone
    script = tmp_path / "f.txt"  # a message filter changes the message before it is signed
    script.write_text('tag: if (true) { insert-header("X-Scanned", "yes"); }\n.\n')
    _ok(datadir, f"filters import {script}; commit filter")
    wait_applied(datadir)
    content = (b"From: Alice <alice@example.org>\r\nTo: bob@partner.example\r\nSubject: quarterly figures\r\n"
               b"Date: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <signed@example.org>\r\n"
               b"X-Internal: mx1\r\n\r\nThe figures are attached.\r\n")
    with smtplib.SMTP("127.0.0.1", relay.private, timeout=20) as s:
        s.sendmail("alice@example.org", ["bob@partner.example"], content)
    assert wait_for(lambda: "<signed@example.org>" in relay.sink.message_ids(), 30)
    raw = relay.sink.messages()[0].replace(b"\r\n", b"\n")
    # smtp-sink puts its own fields and a Received line on top: the message as sent starts after them.
    message = raw[raw.find(b"DKIM-Signature:"):].replace(b"\n", b"\r\n") if b"DKIM-Signature:" in raw else raw
    assert message.startswith(b"DKIM-Signature: v=1; a=" + (b"ed25519" if kind == "ed25519" else b"rsa")
                              + b"-sha256")
    assert b"X-Scanned: yes" in message and b"X-Internal" not in message
    name, text = _record(zone)
    out = _opendkim_verify(tmp_path, name, text, message)
    assert "verification (s=mail2026, d=example.org" in out and "succeeded" in out, out
    assert dkim.verify(message, dnsfunc=lambda n, timeout=5: text.encode() if n.decode().rstrip(".") == name
                       else b"")
    assert re.search(r"MID \d+ DKIM: signed d=example\.org s=mail2026 i=@example\.org$", mail_log(datadir), re.M)
    tampered = message.replace(b"The figures", b"The numbers")
    assert "failed" in _opendkim_verify(tmp_path, name, text, tampered)


def test_keys_import_refusals_and_the_record_of_an_imported_key(datadir, tmp_path):
    require_peer("opendkim-genkey")
    subprocess.run(["opendkim-genkey", "-b", "2048", "-d", "example.org", "-s", "sel", "-D", str(tmp_path)],
                   check=True, timeout=60)
    private = datadir / "config" / "sel.private"
    private.parent.mkdir(exist_ok=True)
    private.write_text((tmp_path / "sel.private").read_text())
    out = _ok(datadir, f"domainkeysconfig keys import legacy --type=rsa --file={private}; "
                       "domainkeysconfig keys dnstxt legacy --selector=sel --domain=example.org")
    ours = "".join(re.findall(r'"([^"]*)"', out.splitlines()[-1]))
    theirs = "".join(re.findall(r'"([^"]*)"', (tmp_path / "sel.txt").read_text()))
    assert re.search(r"p=([A-Za-z0-9+/=]+)", ours).group(1) == re.search(r"p=([A-Za-z0-9+/=]+)", theirs).group(1)
    bad = datadir / "config" / "bad.pem"
    bad.write_text("not a key\n")
    for line, reason in {
        f"domainkeysconfig keys import x --type=rsa --file={bad}": "not a PEM private key",
        "domainkeysconfig keys new y --type=dsa": "must be one of rsa, ed25519",
        "domainkeysconfig keys new z --bits=512": "must be from 1024 to 4096",
        "domainkeysconfig profiles signing new example.net --selector=bad_sel! --key=legacy": "not a DKIM selector",
        "domainkeysconfig profiles signing new example.net --selector=s1 --key=none": "no signing key",
        "domainkeysconfig profiles verification edit DEFAULT --fail=maybe": "must be one of accept, tempfail",
    }.items():
        r = run_cli(datadir, "-c", line)
        assert r.returncode != 0 and reason in r.stderr, (line, r.stderr)


@pytest.fixture
def signed_by_opendkim(tmp_path):
    """A key made by opendkim-genkey, published by dnsmasq (--txt-record), and a message opendkim-testmsg
    signed with it: (dns port, signed message bytes)."""
    require_peer("opendkim-genkey", "opendkim-testmsg", "dnsmasq")
    from conftest import free_port

    subprocess.run(["opendkim-genkey", "-b", "2048", "-d", "partner.example", "-s", "s2026", "-D", str(tmp_path)],
                   check=True, timeout=60)
    text = "".join(re.findall(r'"([^"]*)"', (tmp_path / "s2026.txt").read_text())).replace("h=sha256; ", "")
    strings = [text[i:i + 250] for i in range(0, len(text), 250)]
    port = free_port()
    dns = subprocess.Popen(["dnsmasq", "--no-resolv", "--no-hosts", "--keep-in-foreground", f"--port={port}",
                            "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root",
                            f"--pid-file={tmp_path / 'dnsmasq.pid'}",
                            "--txt-record=s2026._domainkey.partner.example," + ",".join(strings)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    message = (b"From: Carol <carol@partner.example>\r\nTo: bob@example.com\r\nSubject: signed over there\r\n"
               b"Date: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <theirs@partner.example>\r\n\r\n"
               b"Signed by OpenDKIM.\r\n")
    signed = subprocess.run(["opendkim-testmsg", "-C", "-d", "partner.example", "-s", "s2026", "-k",
                             str(tmp_path / "s2026.private")], input=message, capture_output=True, timeout=30,
                            check=True).stdout
    assert dns.poll() is None, dns.stderr.read()
    yield port, signed
    dns.terminate()
    dns.wait()


def test_mail_signed_by_opendkim_verifies_here_and_a_changed_one_follows_the_profile(relay, datadir,
                                                                                     signed_by_opendkim):
    port, signed = signed_by_opendkim
    assert signed.startswith(b"DKIM-Signature:")
    script = datadir / "config" / "dkimfilter.txt"
    script.parent.mkdir(exist_ok=True)
    script.write_text('dkim_mark: if (dkim-authentication == "fail") { insert-header("X-DKIM-Failed", "yes"); }\n.\n')
    _ok(datadir, f"dnsconfig setup --servers=127.0.0.1:{port}; filters import {script}; "
                 "listenerconfig hostaccess policy ACCEPTED --dkim-verify=yes; commit dkim verification")
    wait_applied(datadir)
    forged = b"Authentication-Results: ironport.example.com; dkim=pass header.d=bank.example\r\n"
    with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
        s.sendmail("carol@partner.example", ["bob@example.com"], forged + signed)
        s.sendmail("carol@partner.example", ["bob@example.com"],
                   signed.replace(b"Message-ID: <theirs@", b"Message-ID: <changed@").replace(b"Signed by", b"Changed"))
    assert wait_for(lambda: {"<theirs@partner.example>", "<changed@partner.example>"}
                    <= set(relay.sink.message_ids()), 30)
    by_id = {re.search(rb"Message-ID: (<[^>]+>)", m).group(1): m.decode() for m in relay.sink.messages()}
    good, changed = by_id[b"<theirs@partner.example>"], by_id[b"<changed@partner.example>"]
    assert re.search(r"Authentication-Results: ironport\.example\.com;\s+dkim=pass header\.d=partner\.example "
                     r"header\.s=s2026", good), good[:800]
    assert "bank.example" not in good  # the forged claim under our name was removed
    assert "dkim=fail" in changed and "X-DKIM-Failed: yes" in changed and "X-DKIM-Failed" not in good
    log = mail_log(datadir)
    # opendkim-testmsg signs with rsa-sha1: it passes, and the log calls it weak.
    assert re.search(r"MID \d+ DKIM: pass signature verified \(d=partner\.example s=s2026 i=@partner\.example\) "
                     r"\[weak: rsa-sha1\]$", log, re.M), log[-2000:]
    assert re.search(r"MID \d+ DKIM: permfail body hash mismatch \(d=partner\.example s=s2026", log, re.M)
    mid = re.search(r"MID (\d+) Message-ID '<theirs@partner\.example>'", log).group(1)
    assert relay.request("tracking", mid=int(mid))["verdicts"]["dkim"]["verdict"] == "PASS"
    # The first message's key was fetched (in a thread); the second, its key cached, went to the verifier process.
    assert relay.request("status")["dkim_verified_aside"] >= 1
    # The DEFAULT verification profile now rejects: a message whose signature fails is refused at DATA.
    _ok(datadir, "domainkeysconfig profiles verification edit DEFAULT --fail=reject; commit reject failures")
    wait_applied(datadir)
    with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            s.sendmail("carol@partner.example", ["bob@example.com"], signed.replace(b"Signed by", b"Forged by"))
    assert refused.value.smtp_code == 550 and b"5.7.20" in refused.value.smtp_error
    # A policy's own verification profile, with its own reply; a profile in use cannot be deleted.
    r = run_cli(datadir, "-c", "listenerconfig hostaccess policy ACCEPTED --dkim-profile=NOPE")
    assert r.returncode != 0 and "There is no DKIM verification profile named NOPE" in r.stderr
    _ok(datadir, "domainkeysconfig profiles verification edit DEFAULT --fail=accept; domainkeysconfig profiles "
                 "verification new Strict --fail=reject --reject-code=554 --reject-text=\"5.7.1 DKIM "
                 "unauthenticated mail is prohibited\" --max-key-bits=2048 --clock-skew=30 --body-length=no; "
                 "listenerconfig hostaccess policy ACCEPTED --dkim-profile=strict; commit strict profile")
    shown = _ok(datadir, "domainkeysconfig print")
    assert "Strict: fail: reject, temperror: accept, keys of 1024 to 2048 bits" in shown, shown
    assert "DKIM verification on (profile Strict)" in _ok(datadir, "listenerconfig hostaccess print")
    r = run_cli(datadir, "-c", "domainkeysconfig profiles verification delete Strict")
    assert r.returncode != 0 and "used by the mail flow policies ACCEPTED" in r.stderr, r.stderr
    wait_applied(datadir)
    with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            s.sendmail("carol@partner.example", ["bob@example.com"], signed.replace(b"Signed by", b"Forged by"))
    assert refused.value.smtp_code == 554 and refused.value.smtp_error == b"5.7.1 DKIM unauthenticated mail is " \
                                                                          b"prohibited"


def test_unusable_signatures_are_results_never_errors():
    from scanning import dkim as D

    key = D.generate("rsa", 1024)
    message = (b"From: a@example.org\r\nTo: b@example.com\r\nSubject: x\r\n\r\nbody\r\n")
    signed = D.sign(message, "example.org", "k", "rsa", key, ("From", "Subject"), "relaxed/relaxed") + message
    record = D.public_record("rsa", key).encode()

    def dns(name):
        return record

    def down(name):
        raise D.TemporaryDnsError("timeout")

    assert [r.result for r in D.verify(signed, dns)] == ["pass"]
    assert [r.result for r in D.verify(signed, dns, min_key_bits=2048)] == ["permerror"]  # key too short
    assert [r.result for r in D.verify(signed, down)] == ["temperror"]
    assert [r.result for r in D.verify(signed, lambda n: b"")] == ["permerror"]  # no key published
    garbage = b"DKIM-Signature: v=1; a=rsa-sha256; d=; s=\r\n" + message
    assert [r.result for r in D.verify(garbage, dns)] == ["permerror"]
    huge_l = signed.replace(b"DKIM-Signature: v=1;", b"DKIM-Signature: v=1; l=99999999999999999999;")
    assert [r.result for r in D.verify(huge_l, dns)][0] in ("permerror", "fail")
    assert D.verify(message, dns) == []


def test_a_verification_profiles_limits_are_results_from_both_verifiers(monkeypatch):
    """Clock skew (x= and t=), the body length rule (l=) and the largest key, each answered alike by verify() and
    by the verifier process's quick pass (which leaves anything but a pass to verify())."""
    import time

    import dkim as dkimpy

    from scanning import dkim as D

    key, long_key = D.generate("rsa", 1024), D.generate("rsa", 3072)
    message = b"From: a@example.org\r\nTo: b@example.com\r\nSubject: x\r\n\r\nbody\r\n"
    records = {"k._domainkey.example.org": D.public_record("rsa", key).encode(),
               "long._domainkey.example.org": D.public_record("rsa", long_key).encode()}

    def signed(selector=b"k", private=key, *, length=False, at=None, tail=b""):
        if at is not None:
            monkeypatch.setattr(dkimpy.time, "time", lambda: at)
        try:
            field = dkimpy.sign(message, selector, b"example.org", private.encode(), include_headers=[b"from"],
                                length=length)
        finally:
            monkeypatch.undo()
        return field + message + tail

    def both(msg, *limits):
        full = D.verify(msg, lambda n: records.get(n.lower().rstrip("."), b""), *limits)
        quick = D.passes(msg, records, *limits)
        assert quick is None or quick == full, (quick, full)
        return [(r.result, r.reason) for r in full]

    now = time.time()
    # dkimpy writes no x=; a selector carrying "; x=..." puts one among the signed tags
    expired = signed(b"k; x=" + str(int(now) - 120).encode(), at=now - 600)
    assert both(expired, 5, 1024, 4096, 60) == [("permerror", f"signature expired (x={int(now) - 120})")]
    assert both(expired, 5, 1024, 4096, 300) == [("pass", "")]
    future = signed(at=now + 3600)
    assert both(future, 5, 1024, 4096, 60)[0][1].startswith("signature timestamp in the future")
    assert both(future, 5, 1024, 4096, 7200) == [("pass", "")]
    appended = signed(length=True, tail=b"appended by a list\r\n")
    assert both(appended, 5, 1024, 4096, 60, True) == [("pass", "partially verified [6 bytes]")]
    assert both(appended, 5, 1024, 4096, 60, False)[0][0] == "fail"
    assert both(signed(length=True), 5, 1024, 4096, 60, False) == [("pass", "")]  # l= covers the whole body
    checked = []
    monkeypatch.setattr(dkimpy, "RSASSA_PKCS1_v1_5_verify", lambda *a: checked.append(a) or True)
    assert both(signed(b"long", long_key), 5, 1024, 2048) == [("permerror", "key of 3072 bits, longer than 2048")]
    assert not checked  # refused before its RSA check


def test_openssl_rsa_verification_answers_as_dkimpys_own():
    """scanning.dkim hands dkimpy's RSASSA-PKCS1-v1_5 check to OpenSSL: on valid signatures, broken ones and
    other keys, both answer the same."""
    import hashlib
    import random

    import dkim.crypto
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from scanning import dkim as ours

    rng = random.Random(3)
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=bits) for bits in (1024, 2048)]
    for key in keys:
        numbers = key.public_key().public_numbers()
        public = {"publicExponent": numbers.e, "modulus": numbers.n}
        for name, algorithm in (("sha256", hashes.SHA256()), ("sha1", hashes.SHA1())):
            data = rng.randbytes(200)
            signature = key.sign(data, padding.PKCS1v15(), algorithm)
            broken = bytes([signature[0] ^ 1]) + signature[1:]
            for sig, payload in ((signature, data), (broken, data), (signature, data + b"x"), (b"\x00" * 5, data)):
                h = hashlib.new(name, payload)
                assert ours._rsa_verify(h, sig, public) == dkim.crypto.RSASSA_PKCS1_v1_5_verify(h.copy(), sig,
                                                                                                public)


def test_the_wizard_creates_edits_and_keeps_verification_profiles(datadir):
    from asyncos_cli.config.datadir import DataDir
    from asyncos_cli.shell.context import Context
    from asyncos_cli.shell.runner import Shell
    from asyncos_cli.shell.scripted import ScriptedPrompter

    # VERIFICATION > NEW Strict (a largest key below the range re-asked), rejecting failures with its own reply;
    # EDIT Strict's clock skew; DELETE DEFAULT refused; then out of both menus.
    p = ScriptedPrompter(["VERIFICATION", "NEW", "Strict", "2048", "300", "2048", "3", "5", "30", "N", "1", "3", "Y",
                          "554", "5.7.1 DKIM unauthenticated mail is prohibited", "EDIT", "Strict", "", "", "", "",
                          "90", "", "", "", "N", "DELETE", "DEFAULT", "", ""])
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("domainkeysconfig")
    assert "must be from 1024 to 16384 bits, got 300" in p.text
    assert "What should happen to a message whose DKIM signatures fail (a permanent failure)?" in p.text
    assert "The DEFAULT verification profile cannot be deleted." in p.text
    strict = ctx.config.domainkeys.verification_profile("Strict")
    assert (strict.name, strict.min_key_bits, strict.max_key_bits, strict.max_signatures, strict.key_query_timeout,
            strict.clock_skew_seconds, strict.body_length, strict.temperror, strict.fail, strict.reject_code,
            strict.reject_text) == ("Strict", 2048, 2048, 3, 5, 90, False, "accept", "reject", 554,
                                    "5.7.1 DKIM unauthenticated mail is prohibited")
    assert [x.name for x in ctx.config.domainkeys.verification] == ["DEFAULT", "Strict"]


def test_a_key_query_that_takes_too_long_is_a_temperror_within_the_profiles_timeout(monkeypatch):
    """The key's DNS query is given the verification profile's key query timeout (the resolver's own otherwise);
    one that times out makes the signature a temperror."""
    import asyncio

    import dns.exception
    import dns.resolver

    from asyncos_cli.config.schema import Config
    from asyncos_cli.relay import dkimcheck
    from scanning import dkim as D

    asked = []

    def silent(self, name, rdtype, *args, lifetime=None, **kwargs):
        asked.append((str(name), lifetime))
        raise dns.exception.Timeout()

    monkeypatch.setattr(dns.resolver.Resolver, "resolve", silent)
    config = Config.default()
    config = config.with_section(config.dns.replace(servers=("127.0.0.1:5399",)))
    profiles = tuple(p.replace(key_query_timeout=3) for p in config.domainkeys.verification)
    config = config.with_section(config.domainkeys.replace(verification=profiles))
    key = D.generate("ed25519")
    message = b"From: a@slow.example\r\nSubject: x\r\n\r\nbody\r\n"
    signed = D.sign(message, "slow.example", "k", "ed25519", key, ("From",), "relaxed/relaxed") + message
    verified = asyncio.run(dkimcheck.verify(config, signed))
    assert [r.result for r in verified.results] == ["temperror"], verified
    assert asked == [("k._domainkey.slow.example.", 3)], asked
