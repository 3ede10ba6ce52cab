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
