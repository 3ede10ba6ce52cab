"""Mail handling the appliance offers on listeners and at delivery: stripheaders (more to come: aliases,
masquerading, SMTP AUTH), through the running gateway to Postfix's smtp-sink."""

from __future__ import annotations

import smtplib

from conftest import run_cli, wait_applied, wait_for

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.runner import Shell
from asyncos_cli.shell.scripted import ScriptedPrompter


def test_stripped_headers_never_reach_the_next_hop(relay, datadir):
    r = run_cli(datadir, "-c", "stripheaders setup X-Internal-Route, x-originating-ip; commit strip")
    assert r.returncode == 0, r.stderr
    assert "Currently stripping headers: X-Internal-Route, x-originating-ip" in \
        run_cli(datadir, "-c", "stripheaders print").stdout
    wait_applied(datadir)
    content = (b"From: a@example.org\r\nTo: b@example.com\r\nMessage-ID: <strip@x>\r\n"
               b"X-Internal-Route: mx1.corp.example\r\n  via mx2.corp.example\r\nSubject: hello\r\n"
               b"X-Originating-IP: [10.1.2.3]\r\nX-Kept: yes\r\n\r\nX-Internal-Route: a body line stays\r\n")
    with smtplib.SMTP("127.0.0.1", relay.public, timeout=20) as s:
        s.sendmail("a@example.org", ["b@example.com"], content)
    assert wait_for(lambda: "<strip@x>" in relay.sink.message_ids(), 30)
    delivered = relay.sink.messages()[0]
    head, _, body = delivered.replace(b"\r\n", b"\n").partition(b"\n\n")  # smtp-sink writes LF
    assert b"X-Internal-Route" not in head and b"mx2.corp.example" not in head and b"X-Originating-IP" not in head
    assert b"\nSubject: hello\n" in head and b"X-Kept: yes" in head
    assert body.startswith(b"X-Internal-Route: a body line stays")


def test_stripheaders_wizard_and_refusals(datadir):
    p = ScriptedPrompter(["SETUP", "X Bad", "X-Secret, X-Other", ""])
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("stripheaders")
    assert ctx.config.strip_headers.headers == ("X-Secret", "X-Other")
    assert "Not currently stripping any headers." in p.text and "'X Bad' is not a header name" in p.text
    r = run_cli(datadir, "-c", "stripheaders setup X-A,x-a")
    assert r.returncode != 0 and "appears twice" in r.stderr


def test_aliases_expand_on_the_listeners_that_use_them(relay, datadir, tmp_path):
    """swaks to sales@example.com (a nested alias in the example.com context) on a listener that uses the
    table: delivered to each address once; the same alias on a listener that does not use it stays as is."""
    import re

    from conftest import mail_log, swaks

    table = datadir / "config" / "aliases.txt"
    table.parent.mkdir(exist_ok=True)
    table.write_text("# sales and support\n[example.com, example.net]\nsales: bob@example.org, support, bob@example.org\n"
                     "support: carol@example.org, dave@example.org\n[]\nadmin@example.com: erin@example.org\n")
    r = run_cli(datadir, "-c", f"aliasconfig import {table}; listenerconfig edit IncomingMail --aliases=yes; "
                               "commit aliases")
    assert r.returncode == 0, r.stderr
    assert "3 aliases imported" in r.stdout
    wait_applied(datadir)
    assert swaks(relay.public, "--from", "x@example.org", "--to", "sales@example.com,admin@example.com",
                 "--header", "Message-Id: <alias@x>").returncode == 0
    assert wait_for(lambda: "<alias@x>" in relay.sink.message_ids(), 30)
    dumps = [m.decode() for m in relay.sink.messages()]
    rcpts = sorted(a for m in dumps if "<alias@x>" in m for a in re.findall(r"X-Rcpt-Args: <([^>]+)>", m))
    assert rcpts == ["bob@example.org", "carol@example.org", "dave@example.org", "erin@example.org"]
    log = mail_log(datadir)
    assert re.search(r"MID \d+ alias <sales@example\.com> expanded to <bob@example\.org>, <carol@example\.org>, "
                     r"<dave@example\.org>$", log, re.M), log[-1500:]
    # The private listener does not use the table: the alias reaches the next hop as addressed.
    assert swaks(relay.private, "--from", "x@example.org", "--to", "sales@example.com",
                 "--header", "Message-Id: <noalias@x>").returncode == 0
    assert wait_for(lambda: "<noalias@x>" in relay.sink.message_ids(), 30)
    plain = [m.decode() for m in relay.sink.messages() if b"<noalias@x>" in m]
    assert re.findall(r"X-Rcpt-Args: <([^>]+)>", plain[0]) == ["sales@example.com"]


def test_alias_loops_and_depth_are_refused_when_written(datadir, tmp_path):
    table = datadir / "config" / "loop.txt"
    table.parent.mkdir(exist_ok=True)
    table.write_text("[example.com]\na: b\nb: c, a\n")
    r = run_cli(datadir, "-c", f"aliasconfig import {table}")
    assert r.returncode != 0 and "alias loop: a@example.com -> b@example.com -> a@example.com" in r.stderr, r.stderr
    table.write_text("\n".join(f"hop{i}: hop{i + 1}" for i in range(11)) + "\n")
    r = run_cli(datadir, "-c", f"aliasconfig import {table}")
    assert r.returncode != 0 and "nested deeper than 10 levels" in r.stderr
    table.write_text("[example.com]\nsales bob@example.org\n")
    r = run_cli(datadir, "-c", f"aliasconfig import {table}")
    assert r.returncode != 0 and "line 2: expected 'alias: target, target'" in r.stderr
    r = run_cli(datadir, "-c", "aliasconfig new a --to=b --domains=example.com; aliasconfig new b --to=a "
                               "--domains=example.com")
    assert r.returncode != 0 and "alias loop" in r.stderr
    assert "There are currently no aliases defined." in run_cli(datadir, "-c", "aliasconfig print").stdout


def test_masquerading_gives_internal_senders_the_public_domain(relay, datadir):
    """On the private listener: the envelope sender and From/Reply-To rewritten by domain, subdomain and
    address rules (a table imported from a file), To left alone as configured, the body untouched."""
    import re

    from conftest import mail_log

    table = datadir / "config" / "masq.txt"
    table.parent.mkdir(exist_ok=True)
    table.write_text("# internal hosts\njoe@mail.corp.example joseph@example.com\n@corp.example @example.com\n"
                     "@.corp.example @example.com\n")
    r = run_cli(datadir, "-c", f"masquerade OutgoingMail import {table}; "
                               "masquerade OutgoingMail config --headers=From,Reply-To; commit masquerade")
    assert r.returncode == 0, r.stderr
    assert "Masquerading applies to: envelope sender, From, Reply-To" in r.stdout
    wait_applied(datadir)
    content = (b"From: Joe <joe@mail.corp.example>\r\nReply-To: team@build.corp.example\r\n"
               b"To: partner@corp.example\r\nMessage-ID: <masq@x>\r\nSubject: from joe@mail.corp.example\r\n\r\n"
               b"Mail me at joe@mail.corp.example\r\n")
    with smtplib.SMTP("127.0.0.1", relay.private, timeout=20) as s:
        s.sendmail("alice@corp.example", ["b@example.com"], content)
    assert wait_for(lambda: "<masq@x>" in relay.sink.message_ids(), 30)
    got = relay.sink.messages()[0].decode().replace("\r\n", "\n")
    assert "X-Mail-Args: <alice@example.com>" in got
    assert "From: Joe <joseph@example.com>\n" in got and "Reply-To: team@example.com\n" in got
    assert "To: partner@corp.example\n" in got  # To is not in the configured list
    assert "Subject: from joe@mail.corp.example\n" in got and "Mail me at joe@mail.corp.example" in got
    assert re.search(r"MID \d+ masquerade: envelope sender <alice@corp\.example> rewritten to "
                     r"<alice@example\.com>; header addresses rewritten$", mail_log(datadir), re.M)
    bad = datadir / "config" / "bad.txt"
    bad.write_text("@corp.example joe@example.com\n")
    r = run_cli(datadir, "-c", f"masquerade OutgoingMail import {bad}")
    assert r.returncode != 0 and "line 1: 'joe@example.com': a domain rule rewrites to @domain" in r.stderr, r.stderr
