"""Batch runs: -c, batch FILE, piped stdin; exit status, stop at first failure, pending discarded."""

from __future__ import annotations

import pytest
from conftest import run_cli


def test_pending_change_is_discarded_without_commit(cli):
    r = cli("-c", "sethostname a.example.com")
    assert "uncommitted changes discarded (system)" in r.stderr
    assert "<hostname>ironport.example.com</hostname>" in cli("-c", "showconfig").stdout
    cli("-c", "sethostname a.example.com; commit")
    assert "<hostname>a.example.com</hostname>" in cli("-c", "showconfig").stdout


def test_first_failure_stops_the_run_non_zero(cli):
    r = cli("-c", "sethostname bad_name; commit", check=False)
    assert r.returncode == 1
    assert "Invalid host name 'bad_name'" in r.stderr
    assert "Changes committed" not in r.stdout
    r = cli("-c", "nosuchcommand; version", check=False)
    assert r.returncode == 1 and "Unknown command: nosuchcommand" in r.stderr and "Current Version" not in r.stdout


def test_unknown_option_is_an_error(cli):
    r = cli("-c", "version --colour=red", check=False)
    assert r.returncode == 1 and "--colour" in r.stderr


def test_questions_are_refused_in_batch(cli):
    r = cli("-c", "rollbackconfig", check=False)
    assert r.returncode == 1 and "Usage:\n  rollbackconfig list" in r.stderr


def test_batch_file_and_stdin(cli, tmp_path):
    f = tmp_path / "cmds"
    f.write_text("# set the name\nsethostname b.example.com\n\ncommit 'from a file; with a semicolon'\n")
    cli("batch", str(f))
    assert "from a file; with a semicolon" in cli("-c", "rollbackconfig list").stdout
    r = cli(input="sethostname c.example.com\ncommit piped\n")
    assert "Changes committed" in r.stdout
    assert "<hostname>c.example.com</hostname>" in cli("-c", "showconfig").stdout


def test_quit_ends_the_run(cli):
    r = cli("-c", "version; quit; nosuchcommand")
    assert "Current Version" in r.stdout


def test_uninitialised_directory_is_refused(tmp_path):
    r = run_cli(tmp_path / "fresh", "-c", "version")
    assert r.returncode == 1 and "not initialised" in r.stderr and "asyncos-cli init" in r.stderr
    r = run_cli(tmp_path / "fresh", "-c", "help")
    assert r.returncode == 0  # help needs no configuration


def test_init_twice_is_refused(datadir, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("Another-pass-1\n")
    r = run_cli(datadir, "init", f"--admin-passphrase-file={pw}")
    assert r.returncode == 1 and "already initialised" in r.stderr


def test_init_needs_a_passphrase_in_batch_and_checks_it(tmp_path):
    r = run_cli(tmp_path / "d", "init")
    assert r.returncode == 1 and "--admin-passphrase-file" in r.stderr
    r = run_cli(tmp_path / "d", "init", "--admin-passphrase-file=-", input="short\n")
    assert r.returncode == 1 and "at least 8 characters" in r.stderr
    assert not (tmp_path / "d" / "asyncos.db").exists()
    r = run_cli(tmp_path / "d", "init", "--admin-passphrase-file=-", "--hostname=gw.example.org", input="Long-enough-1\n")
    assert r.returncode == 0, r.stderr
    assert "<hostname>gw.example.org</hostname>" in run_cli(tmp_path / "d", "-c", "showconfig").stdout


def _head(cli) -> int:
    return int(cli("-c", "rollbackconfig list").stdout.strip().splitlines()[-1].split()[0])


def test_rollback_is_pending_until_commit(cli):
    cli("-c", "sethostname one.example.com; commit one")
    one = _head(cli)
    cli("-c", "sethostname two.example.com; commit two")
    r = cli("-c", f"rollbackconfig rollback {one}")
    assert "pending" in r.stdout and "discarded" in r.stderr
    assert "<hostname>two.example.com</hostname>" in cli("-c", "showconfig").stdout
    cli("-c", f"rollbackconfig rollback {one}; commit back to one")
    assert "<hostname>one.example.com</hostname>" in cli("-c", "showconfig").stdout


def test_rollbackconfig_diff_between_versions(cli):
    cli("-c", "sethostname one.example.com; commit one")
    cli("-c", "sethostname two.example.com; commit two")
    two = _head(cli)
    out = cli("-c", f"rollbackconfig diff {two - 1} {two}").stdout
    assert "- system.hostname: one.example.com" in out and "+ system.hostname: two.example.com" in out
    out = cli("-c", "rollbackconfig diff 1").stdout
    assert "- system.hostname: ironport.example.com" in out and "+ system.hostname: two.example.com" in out
    assert "- interfaces.interfaces[Management].ssh_port: 2222" in out  # every section is compared
    assert "No differences." in cli("-c", f"rollbackconfig diff {two} {two}").stdout
    r = cli("-c", "rollbackconfig diff 1 99", check=False)
    assert r.returncode == 1 and "no configuration version 99" in r.stderr


def test_clear_and_commit_messages(cli):
    assert "There is no data to commit." in cli("-c", "commit").stdout
    assert "No changes have been made" in cli("-c", "clear").stdout
    r = cli("-c", "sethostname z.example.com; clear; commit")
    assert "Changes cleared." in r.stdout and "There is no data to commit." in r.stdout


def test_an_appliance_command_runs_as_the_program_s_first_argument(cli, datadir, tmp_path):
    target = tmp_path / "f.xml"
    r = cli("saveconfig", str(target))
    assert target.exists() and f"The file {target} has been saved." in r.stdout
    direct = cli("trace", "/nonexistent.eml", check=False)
    batch = cli("-c", "trace /nonexistent.eml", check=False)
    assert direct.returncode == batch.returncode == 1 and direct.stderr == batch.stderr
    assert cli("nosuchcommand", check=False).returncode == 2


def test_a_mistyped_option_is_named_before_a_missing_one(cli):
    r = cli("-c", "userconfig new x --fullname=X --rol=guest --generate", check=False)
    assert r.returncode == 1 and "Unknown option for userconfig new: --rol" in r.stderr
    # the audit-style echo of the command keeps flags: only the `add` form's positional passphrase is a secret
    assert "--generate" in r.stderr


@pytest.mark.parametrize("command", ["filters", "quarantineconfig", "rollbackconfig", "userconfig"])
def test_listing_commands_have_a_print_form(cli, command):
    assert cli("-c", f"{command} print").stdout == cli("-c", f"{command} list").stdout


def test_a_reader_that_goes_away_ends_the_run_without_a_traceback(datadir):
    import subprocess
    import sys

    from conftest import ROOT, cli_env

    line = "; ".join(["showconfig"] * 8)
    r = subprocess.run(["bash", "-c", f"{sys.executable} -m asyncos_cli -c '{line}' | head -c 10 >/dev/null; "
                                      "echo ${PIPESTATUS[0]} >&2"],
                       env=cli_env(datadir), cwd=str(ROOT), capture_output=True, text=True, timeout=60)
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1] == "141"
