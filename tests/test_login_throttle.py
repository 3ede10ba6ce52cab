"""Login throttling and lockout hold under concurrency, shared through the state database."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from conftest import OP_PASS, PASSPHRASE, batch_ok, run_cli
from test_ssh import auth_log

from asyncos_cli.auth.throttle import (
    BURST,
    FIRST_SPACING,
    MAX_WAIT,
    LoginThrottle,
    spacing,
)

#: SSH, the API and the web interface stay on in these tests' data directories (conftest.datadir).
pytestmark = pytest.mark.admin_services


def test_spacing_doubles_and_caps():
    assert [spacing(n) for n in range(7)] == [0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    assert spacing(50) == 8.0


def test_attempts_on_one_account_are_spaced_whatever_the_addresses(tmp_path):
    t = LoginThrottle(tmp_path / "db")
    now = 1000.0
    for _ in range(3):
        t.failed("op1", "10.0.0.1", now)
    # 100 attempts at the same instant from 100 addresses: each waits its own slot of the account
    slots = [t.reserve("op1", f"10.1.0.{i}", now) for i in range(100)]
    admitted = sorted(s.wait for s in slots if not s.refused)
    assert all(b - a >= spacing(3) - 1e-9 for a, b in zip(admitted, admitted[1:]))
    assert max(admitted) <= MAX_WAIT and any(s.refused for s in slots)
    # at most one passphrase check per second on this account (spacing 1 s at three failures)
    for start in range(0, int(MAX_WAIT)):
        assert sum(start <= w < start + 1 for w in admitted) <= 1


def test_a_burst_before_any_failure_is_spaced_too(tmp_path):
    """A thousand connections at once, before any answer came back: only BURST run at once."""
    t = LoginThrottle(tmp_path / "db")
    now = 1000.0
    slots = [t.reserve("op1", f"10.2.{i // 250}.{i % 250}", now) for i in range(1000)]
    admitted = sorted(s.wait for s in slots if not s.refused)
    assert admitted[:BURST] == [0.0] * BURST
    assert all(b - a >= FIRST_SPACING - 1e-9 for a, b in zip(admitted[BURST:], admitted[BURST + 1:]))
    assert len(admitted) <= BURST + 1 + MAX_WAIT / FIRST_SPACING  # at most four a second after the burst
    # parallel logins of one administrator that succeed are not held back for long
    t2 = LoginThrottle(tmp_path / "db2")
    waits = []
    for i in range(10):
        waits.append(t2.reserve("admin", "10.0.0.1", now).wait)
    assert max(waits) <= max(0, 10 - BURST) * FIRST_SPACING


def test_a_success_by_another_user_does_not_reset_the_attacker(tmp_path):
    t = LoginThrottle(tmp_path / "db")
    now = 1000.0
    for _ in range(4):
        t.failed("op1", "10.0.0.66", now)
    t.succeeded("admin")
    assert t.failures(user="op1", now=now) == 4 and t.failures(address="10.0.0.66", now=now) == 4
    assert t.reserve("op1", "10.0.0.66", now).wait > 0
    t.succeeded("op1")  # the account's own success clears the account, the address keeps its record
    assert t.failures(user="op1", now=now) == 0 and t.failures(address="10.0.0.66", now=now) == 4
    # failures decay after the window
    assert t.failures(address="10.0.0.66", now=now + 601) == 0


def test_concurrent_failures_all_count_across_connections(tmp_path):
    t = LoginThrottle(tmp_path / "db")
    others = [LoginThrottle(tmp_path / "db") for _ in range(4)]  # as other doors / processes would

    def hammer(th, n):
        for _ in range(n):
            th.failed("op1", "10.0.0.9")

    threads = [threading.Thread(target=hammer, args=(th, 25)) for th in [t, *others]]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert t.failures(user="op1") == 125


def _attempt_all(port, user, passwords, sources):
    import asyncssh

    async def attempt(password, src):
        try:
            async with asyncssh.connect("127.0.0.1", port, username=user, password=password, known_hosts=None,
                                        client_keys=None, local_addr=(src, 0), login_timeout=120) as conn:
                return (await conn.run("version")).exit_status
        except asyncssh.PermissionDenied:
            return "denied"

    async def go():
        return await asyncio.gather(*(attempt(p, s) for p, s in zip(passwords, sources)))

    return asyncio.run(go())


def test_parallel_failures_lock_at_exactly_the_configured_count(gateway, datadir):
    # lockout at 5 (the gateway fixture); seven wrong passphrases at once from seven addresses
    results = _attempt_all(gateway.port, "op1", [f"Wrong-{i}-pass" for i in range(7)],
                           [f"127.0.0.{10 + i}" for i in range(7)])
    assert results == ["denied"] * 7
    out = run_cli(datadir, "-c", "userconfig status op1").stdout
    assert "Account op1: Locked (failed attempts since last login: 7)" in out, out
    log = auth_log(datadir)
    assert log.count("The account of the user op1 has been locked after 5 failed login attempts") == 1
    assert log.count("An authentication attempt by the user op1") == 7
    # the right passphrase now fails too: the lock took effect at the fifth
    assert _attempt_all(gateway.port, "op1", [OP_PASS], ["127.0.0.20"]) == ["denied"]


def test_without_lockout_the_throttle_alone_slows_guessing(gateway, datadir):
    batch_ok(datadir, "userconfig policy account --lockout=no; commit no lockout")  # the SSH server reads it at the next login
    assert _attempt_all(gateway.port, "op1", ["Wrong-a-pass"] * 3, ["127.0.0.30"] * 3) == ["denied"] * 3
    started = time.monotonic()
    # six more guesses at once, each from its own address: the account's slots space them 1 s and more apart
    results = _attempt_all(gateway.port, "op1", [f"Wrong-{i}-more" for i in range(6)],
                           [f"127.0.0.{31 + i}" for i in range(6)])
    elapsed = time.monotonic() - started
    assert results == ["denied"] * 6
    assert elapsed >= 4.5  # a lower bound only: slots at 0, 1, 2, 3, 4 and 5 s at least
    # another account is not slowed by op1's attacker, and logs in at once
    assert _attempt_all(gateway.port, "admin", [PASSPHRASE], ["127.0.0.40"]) == [0]
