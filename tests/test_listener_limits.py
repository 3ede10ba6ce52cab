"""Listener limits hold under load: connections per listener and per address, idle clients, headers,
address forms, and exact connection counts after any mix of plain, TLS, failed and aborted sessions.

Clients come from 127.0.0.2 to 127.0.0.50 (all of 127.0.0.0/8 is loopback on Linux).
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import socket
import ssl

import pytest
from conftest import (
    DaemonProcess,
    Sink,
    batch_ok,
    listener_port,
    mail_log,
    run_cli,
    wait_applied,
    wait_for,
)

SOURCES = [f"127.0.0.{i}" for i in range(2, 51)]


@pytest.fixture
def limited(datadir, tmp_path):
    sink = Sink(tmp_path / "sink")
    batch_ok(datadir, f"smtproutes new ALL 127.0.0.1:{sink.port}; "
                      "listenerconfig edit IncomingMail --max-connections=100 --idle-timeout=5 "
                      "--max-header-count=40 --max-header-size=4096; "
                      "listenerconfig hostaccess policy ACCEPTED --max-connections-per-ip=30; commit limits")
    d = DaemonProcess(datadir)
    d.public = listener_port(datadir, "IncomingMail")
    yield d
    d.stop()
    sink.stop()


def _open_connections(datadir) -> int:
    out = run_cli(datadir, "-c", "status").stdout
    return int(re.search(r"Current Inbound Connections\s+(\d+)", out).group(1))


async def _greetings(port, sources, per_source):
    """Open every connection at once, read each first reply, keep the accepted ones open, then close all."""
    async def one(src):
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port, local_addr=(src, 0)), 120)
        line = await asyncio.wait_for(r.readline(), 120)
        return line.decode(), r, w

    results = await asyncio.gather(*(one(src) for src in sources for _ in range(per_source)))
    # a refused connection is closed by the gateway at once: its reader sees the end
    refused_closed = [await asyncio.wait_for(r.read(), 30) == b"" for line, r, _ in results if line.startswith("421")]
    for _, _, w in results:
        w.close()
    return [line for line, _, _ in results], refused_closed


def test_thousand_connections_against_the_listener_limit(limited, datadir):
    lines, closed = asyncio.run(_greetings(limited.public, SOURCES[:40], 25))  # 1,000, 25 per address
    accepted = [x for x in lines if x.startswith("220 ")]
    refused = [x for x in lines if x.startswith("421 4.7.0 Too many connections")]
    assert len(accepted) == 100 and len(refused) == 900, (len(accepted), len(refused), set(lines) - set(accepted))
    assert all(closed)
    assert wait_for(lambda: _open_connections(datadir) == 0, 30)


def test_connections_from_one_address_against_the_policy_limit(limited, datadir):
    lines, closed = asyncio.run(_greetings(limited.public, ["127.0.0.7"], 45))
    assert sum(x.startswith("220 ") for x in lines) == 30
    assert sum(x.startswith("421 4.7.0 Too many connections") for x in lines) == 15 and all(closed)
    # another address is not affected while those were open
    lines, _ = asyncio.run(_greetings(limited.public, ["127.0.0.8"], 1))
    assert lines[0].startswith("220 ")
    assert wait_for(lambda: _open_connections(datadir) == 0, 30)


def test_thousand_connections_against_the_per_address_limit(limited, datadir):
    batch_ok(datadir, "listenerconfig edit IncomingMail --max-connections=5000; "
                      "listenerconfig hostaccess policy ACCEPTED --max-connections-per-ip=20; commit per address")
    wait_applied(datadir)  # the daemon binds the listener again with the new limits
    lines, closed = asyncio.run(_greetings(limited.public, SOURCES[:40], 25))  # 1,000: 25 from each of 40
    assert sum(x.startswith("220 ") for x in lines) == 800
    assert sum(x.startswith("421 4.7.0 Too many connections from your address") for x in lines) == 200
    assert all(closed)
    assert wait_for(lambda: _open_connections(datadir) == 0, 30)


def test_idle_clients_are_told_before_they_are_closed(limited):
    with socket.create_connection(("127.0.0.1", limited.public), timeout=30) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"220 ")
        line = f.readline()  # nothing sent: the idle timeout (5 s) answers
        assert line.startswith(b"421 4.4.2 ") and b"timeout" in line
        assert f.readline() == b""


def _send(port, headers: list[str], rcpt="bob@example.com"):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.ehlo("test.example")
        body = "\r\n".join(headers) + "\r\n\r\nbody\r\n"
        try:
            c.sendmail("alice@example.org", [rcpt], body.encode())
            return 250, ""
        except smtplib.SMTPDataError as e:
            return e.smtp_code, e.smtp_error.decode()


def test_header_count_and_size_limits(limited, datadir):
    assert wait_for(lambda: _send(limited.public, ["Subject: ok"])[0] == 250, 10)
    code, text = _send(limited.public, [f"X-Many-{i}: v" for i in range(41)])
    assert code == 554 and "too many header fields" in text
    code, text = _send(limited.public, ["Subject: big"] + [f"X-Big-{i}: " + "a" * 900 for i in range(5)])
    assert code == 552 and "Message header size exceeds limit" in text
    # folded lines are one field: 40 fields with continuation lines pass
    assert _send(limited.public, [f"X-Folded-{i}: v\r\n continued" for i in range(39)])[0] == 250
    assert "too many header fields" in mail_log(datadir)


def _peak_rss_kb(pid: int) -> int:
    status = open(f"/proc/{pid}/status").read()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))


def test_a_message_past_the_size_limit_is_refused_without_being_held(limited, datadir):
    """120 MB sent without SIZE to a listener taking 10 MB: 552 in the appliance's words, logged, and the daemon
    never holds it (its peak memory grows by far less than the message) (#27)."""
    assert wait_for(lambda: _send(limited.public, ["Subject: ok"])[0] == 250, 10)
    before = _peak_rss_kb(limited.proc.pid)
    line = b"X" * 998 + b"\r\n"
    with socket.create_connection(("127.0.0.1", limited.public), timeout=60) as s:
        f = s.makefile("rb")
        for command in (None, b"EHLO big.example.org", b"MAIL FROM:<a@example.org>", b"RCPT TO:<b@example.com>",
                        b"DATA"):
            if command:
                s.sendall(command + b"\r\n")
            while (reply := f.readline())[3:4] == b"-":
                pass
        assert reply.startswith(b"354"), reply
        s.sendall(b"Subject: big\r\n\r\n")
        chunk = line * 1024
        for _ in range(120):
            s.sendall(chunk)
        s.sendall(b".\r\n")
        reply = f.readline()
        s.sendall(b"QUIT\r\n")
    assert reply.decode().strip() == "552 5.3.4 Message size exceeds fixed maximum message size"
    grown_mb = (_peak_rss_kb(limited.proc.pid) - before) / 1024
    assert grown_mb < 60, f"the daemon's peak memory grew by {grown_mb:.0f} MB"
    assert wait_for(lambda: "DATA rejected: message larger than 10485760 bytes" in mail_log(datadir), 10)


def test_source_routes_refused_and_postmaster_accepted(limited, datadir):
    with smtplib.SMTP("127.0.0.1", limited.public, timeout=30) as c:
        c.ehlo("test.example")
        c.mail("alice@example.org")
        code, text = c.docmd("RCPT TO:<@relay.example.net:bob@example.com>")
        assert code == 550 and b"source routes" in text
        code, _ = c.docmd("RCPT TO:<postmaster>")
        assert code == 250


def _tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _session(port, kind: str, src: str) -> None:
    s = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(src, 0))
    f = s.makefile("rb")
    f.readline()
    if kind == "aborted":
        s.close()
        return
    s.sendall(b"EHLO t\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    if kind == "plain":
        s.sendall(b"QUIT\r\n")
        f.readline()
        s.close()
        return
    s.sendall(b"STARTTLS\r\n")
    f.readline()
    if kind == "failed":
        s.sendall(b"\x16\x03\x01\x00\x05hello")  # not a handshake the server can finish
        s.close()
        return
    t = _tls_context().wrap_socket(s, server_hostname="gateway")
    t.sendall(b"EHLO t\r\nQUIT\r\n")
    t.recv(4096)
    t.close()


def test_connection_counts_are_exact_after_two_hundred_mixed_sessions(limited, datadir):
    kinds = ["plain", "tls", "failed", "aborted"] * 50
    for kind in kinds:  # one address, as the STARTTLS lock-out needed
        _session(limited.public, kind, "127.0.0.9")
    assert wait_for(lambda: _open_connections(datadir) == 0, 30), _open_connections(datadir)
    with socket.create_connection(("127.0.0.1", limited.public), timeout=30, source_address=("127.0.0.9", 0)) as s:
        assert s.makefile("rb").readline().startswith(b"220 ")
    log = mail_log(datadir)
    icids = re.findall(r"New SMTP ICID (\d+) ", log)
    assert len(icids) == len(set(icids)) and len(icids) >= 201  # one ICID per connection, never two
    # each failed handshake is one line (never a traceback on the daemon's stderr, which once filled its pipe)
    assert len(re.findall(r"Warning: ICID \d+ TLS failed: \S+", log)) == 50
