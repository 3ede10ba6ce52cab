"""The real terminal path, through a pseudo-terminal: completion, history, Ctrl-C, first start."""

from __future__ import annotations

import re
import sys
import time

import pytest
from conftest import PASSPHRASE, ROOT, SHELL_PROMPT, cli_env

pexpect = pytest.importorskip("pexpect")

PROMPT = re.escape(SHELL_PROMPT)


def spawn(datadir, rows=50):
    env = cli_env(datadir)
    env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    return pexpect.spawn(
        sys.executable, ["-m", "asyncos_cli"], env=env, cwd=str(ROOT), encoding="utf-8", timeout=15,
        dimensions=(rows, 140),
    )


def typed(child, text):
    """Type like a person: completion is asynchronous, so pause before Tab."""
    for part in text.split("\t"):
        child.send(part)
        time.sleep(0.4)
        if part is not text.split("\t")[-1]:
            child.send("\t")
            time.sleep(0.4)


def test_tab_completion_history_and_ctrl_c(datadir, cli):
    cli("-c", "sethostname two.example.com; commit second")  # version 3 (2 set the test's SSH port)
    cli("-c", "sethostname ironport.example.com; commit third")
    child = spawn(datadir)
    try:
        child.expect(PROMPT)
        # Tab completes a command from its first letters...
        typed(child, "vers\t")
        child.send("\r")
        child.expect("Serial #")
        child.expect(PROMPT)
        # ...and a subcommand.
        typed(child, "rollbackconfig di\t 2 3")
        child.send("\r")
        child.expect("Differences from version 2 to version 3")
        child.expect(r"\+ system\.hostname: two\.example\.com")
        child.expect(PROMPT)
        # Up recalls the previous line.
        child.send("\x1b[A")
        time.sleep(0.3)
        child.send("\r")
        child.expect("Differences from version 2 to version 3")
        child.expect(PROMPT)
        # Ctrl-C inside a wizard abandons it with what it had staged.
        child.send("rollbackconfig\r")
        child.expect("Choose the operation you want to perform:")
        child.expect(r"\[\]>")
        child.send("rollback\r")
        child.expect("Enter the number of the configuration to revert to:")
        child.expect(r"\]>")
        child.send("3\r")
        child.expect("Are you sure you want to roll back")
        child.send("y\r")
        child.expect("is pending")
        child.expect("Do you want to commit this configuration now")
        child.sendintr()
        child.expect("Command aborted. Nothing is pending.")
        child.expect(PROMPT)
        child.send("commit\r")
        child.expect("There is no data to commit.")
        child.expect(PROMPT)
        # A secret typed on the command line never reaches the history file.
        child.send("sethostname q.example.com --passphrase=Typed-Secret-99\r")
        child.expect("Unknown option for sethostname: --passphrase")
        child.expect(PROMPT)
        child.send("quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    history = (datadir / "history" / "admin").read_text()
    assert "rollbackconfig di" in history and "Typed-Secret-99" not in history
    assert "--passphrase=*****" in history


def test_quit_with_pending_changes_asks(datadir):
    child = spawn(datadir)
    try:
        child.expect(PROMPT)
        child.send("sethostname p.example.com\r")
        child.expect(PROMPT)
        child.send("quit\r")
        child.expect(r"Are you sure you wish to exit\? \[N\]>")
        child.send("\r")
        child.expect(PROMPT)
        child.send("exit\r")
        child.expect(r"Are you sure you wish to exit\? \[N\]>")
        child.send("y\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_first_start_on_a_terminal_runs_init(tmp_path):
    datadir = tmp_path / "new"
    child = spawn(datadir)
    try:
        child.expect("running init")
        child.expect("Enter the new passphrase:")
        child.send("short\r")
        child.expect("at least 8 characters")
        child.expect("Enter the new passphrase:")
        child.send(PASSPHRASE + "\r")
        child.expect("Please enter the new passphrase again:")
        child.send(PASSPHRASE + "\r")
        child.expect("Initialised")
        child.expect(r"ironport\.example\.com>")  # a new, standalone data directory
        child.send("quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert (datadir / "asyncos.db").exists()


def test_long_output_is_paged(datadir):
    child = spawn(datadir, rows=12)
    try:
        child.expect(PROMPT)
        child.send("showconfig\r")
        child.expect(r"Do you want to mask the passphrase\? \[Y\]>")
        child.send("\r")
        child.expect("<config product=")
        child.expect("-Press Any Key For More-")
        child.send(" ")
        child.expect("-Press Any Key For More-")
        child.send("q")
        child.expect(PROMPT)
        assert "</config>" not in child.before
        child.send("quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_the_local_console_ends_after_the_inactivity_timeout(datadir):
    """adminaccessconfig's timeout (5 minutes at least) with the clock sped up: the timer is the real one,
    its interval scaled down 300 times, so 5 minutes pass in one second."""
    from conftest import batch_ok

    batch_ok(datadir, "adminaccessconfig timeout --timeout=5; commit")
    env = cli_env(datadir)
    env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    script = ("import threading; real = threading.Timer; "
              "threading.Timer = lambda seconds, fn: real(seconds / 300, fn); "
              "from asyncos_cli.main import cli; cli([])")
    child = pexpect.spawn(sys.executable, ["-c", script], env=env, cwd=str(ROOT), encoding="utf-8", timeout=15,
                          dimensions=(50, 140))
    try:
        child.expect(PROMPT)
        child.expect("Session timed out: no input for 5 minutes.")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
