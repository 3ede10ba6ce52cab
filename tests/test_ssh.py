"""SSH access to the shell, with the real OpenSSH client and an asyncssh client."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time

import pytest
from conftest import (
    OP_PASS,
    PASSPHRASE,
    SHELL_PROMPT,
    DaemonProcess,
    require_peer,
    run_cli,
    wait_listening,
)

#: SSH, the API and the web interface stay on in these tests' data directories (conftest.datadir).
pytestmark = pytest.mark.admin_services


def ssh_cmd(port, user, *command, password=None, key=None, tty=False):
    args = ["ssh", "-p", str(port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "NumberOfPasswordPrompts=1"]
    env = dict(os.environ)
    if key:
        args += ["-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "PreferredAuthentications=publickey",
                 "-o", "BatchMode=yes"]
    else:
        args += ["-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no"]
        env.update(SSH_ASKPASS=str(ASKPASS), SSH_ASKPASS_REQUIRE="force", ASYNCOS_TEST_PASS=password or "")
    if tty:
        args.append("-tt")
    return args + [f"{user}@127.0.0.1", *command], env


ASKPASS = None


@pytest.fixture(autouse=True)
def askpass(tmp_path):
    global ASKPASS
    ASKPASS = tmp_path / "askpass.sh"
    ASKPASS.write_text('#!/bin/sh\nprintf "%s\\n" "$ASYNCOS_TEST_PASS"\n')
    ASKPASS.chmod(0o700)


def run_ssh(port, user, command, password=None, key=None):
    require_peer("ssh")
    args, env = ssh_cmd(port, user, command, password=password, key=key)
    return subprocess.run(args, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)


def auth_log(datadir) -> str:
    path = datadir / "logs" / "authentication" / "authentication.current"
    return path.read_text() if path.exists() else ""


def test_operator_is_refused_account_changes_admin_is_not(gateway, datadir):
    r = run_ssh(gateway.port, "op1", "userconfig new x --fullname=X --role=guest --generate", password=OP_PASS)
    assert r.returncode != 0
    assert "You are not in the correct access group to use userconfig." in r.stderr
    r = run_ssh(gateway.port, "admin", "userconfig new x --fullname=X --role=guest --generate; commit by ssh",
                password=PASSPHRASE)
    assert r.returncode == 0, r.stderr
    assert "system generated passphrase for x:" in r.stdout and "Changes committed" in r.stdout
    r = run_ssh(gateway.port, "op1", "version; sethostname op.example.com; commit from op1", password=OP_PASS)
    assert r.returncode == 0 and "Current Version" in r.stdout
    log = auth_log(datadir)
    assert "The user op1 successfully logged on from 127.0.0.1 with privilege operator using an SSH connection." in log
    assert "The user admin successfully logged on from 127.0.0.1 with privilege admin using an SSH connection." in log
    audit = (datadir / "logs" / "cli_logs" / "cli.current").read_text()
    assert "User op1 from 127.0.0.1 executed batch command: sethostname op.example.com" in audit
    assert "commit changes: from op1" in (datadir / "logs" / "system_logs" / "system.current").read_text()


def test_exit_status_and_stderr_of_a_failing_batch(gateway):
    r = run_ssh(gateway.port, "admin", "version; nosuchcommand; version", password=PASSPHRASE)
    assert r.returncode == 1
    assert r.stdout.count("Current Version") == 1 and "Unknown command: nosuchcommand" in r.stderr


def test_wrong_passphrases_lock_the_account_and_status_unlocks_it(gateway, datadir):
    import asyncssh

    async def attempt(password):
        try:
            async with asyncssh.connect("127.0.0.1", gateway.port, username="op1", password=password,
                                        known_hosts=None, client_keys=None) as conn:
                return (await conn.run("version")).exit_status
        except asyncssh.PermissionDenied:
            return "denied"

    async def scenario():
        results = [await attempt(f"Wrong-pass-{i}x") for i in range(5)]
        results.append(await attempt(OP_PASS))  # the right one, but the account is locked now
        return results

    results = asyncio.run(scenario())
    assert results == ["denied"] * 6
    log = auth_log(datadir)
    # The appliance's sentence, whole, with the reason on a line of its own.
    assert log.count("An authentication attempt by the user op1 from 127.0.0.1 failed using an SSH connection.\n") >= 6
    assert "The account of the user op1 has been locked after 5 failed login attempts" in log
    assert re.search(r"Authentication failure reason for the user op1 from 127\.0\.0\.1: .*locked", log)
    out = run_cli(datadir, "-c", "userconfig status op1").stdout
    assert "Locked" in out
    r = run_cli(datadir, "-c", "userconfig status op1 --unlock")
    assert r.returncode == 0 and "unlocked" in r.stdout
    assert asyncio.run(attempt(OP_PASS)) == 0
    assert "The account of the user op1 was unlocked by admin from console." in auth_log(datadir)


def test_public_key_login_from_sshconfig(gateway, datadir, tmp_path):
    require_peer("ssh", "ssh-keygen")
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    r = run_ssh(gateway.port, "op1", "version", key=key)
    assert r.returncode == 255  # not installed yet
    r = run_cli(datadir, "-c", f"sshconfig userkey new op1 --key-file={key}.pub; commit key")
    assert r.returncode == 0, r.stderr  # the SSH server reads it at the next login
    r = run_ssh(gateway.port, "op1", "version", key=key)
    assert r.returncode == 0 and "Current Version" in r.stdout, r.stderr
    assert "sshconfig userkey print" not in r.stderr


def test_host_key_is_kept_and_port_follows_the_configuration(gateway, datadir):
    import asyncssh
    from conftest import free_port

    async def fingerprint(port):
        async with asyncssh.connect("127.0.0.1", port, username="admin", password=PASSPHRASE,
                                    known_hosts=None, client_keys=None) as conn:
            return conn.get_server_host_key().get_fingerprint()

    first = asyncio.run(fingerprint(gateway.port))
    new_port = free_port()
    run_cli(datadir, "-c", f"interfaceconfig edit Management --ssh-port={new_port}; commit move ssh")
    wait_listening(new_port, timeout=5)
    gateway.stop()
    again = DaemonProcess(datadir)
    try:
        wait_listening(new_port)
        assert asyncio.run(fingerprint(new_port)) == first
    finally:
        again.stop()
    key = datadir / "state" / "ssh_host_ed25519_key"
    assert (key.stat().st_mode & 0o777) == 0o600


def test_interactive_shell_over_ssh(gateway, datadir):
    require_peer("ssh")
    pexpect = pytest.importorskip("pexpect")
    args, env = ssh_cmd(gateway.port, "op1", password=OP_PASS, tty=True)
    child = pexpect.spawn(args[0], args[1:], env=env, encoding="utf-8", timeout=20, dimensions=(40, 120))
    prompt = re.escape(SHELL_PROMPT)
    try:
        child.expect(prompt)
        child.send("vers")
        time.sleep(0.5)
        child.send("\t")
        time.sleep(0.5)
        child.send("\r")
        child.expect("Serial #")
        child.expect(prompt)
        child.send("userconfig\r")
        child.expect("You are not in the correct access group to use userconfig.")
        child.expect(prompt)
        child.send("sethostname\r")
        child.expect(r"\]>")
        child.sendintr()
        child.expect("Command aborted. Nothing is pending.")
        child.expect(prompt)
        child.send("commit\r")
        child.expect("There is no data to commit.")
        child.expect(prompt)
        child.send("quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    # A Ctrl-C in one session did not take the SSH server down.
    r = run_ssh(gateway.port, "op1", "version", password=OP_PASS)
    assert r.returncode == 0
    assert "User op1 logged out of SSH session 127.0.0.1" in auth_log(datadir)
    history = (datadir / "history" / "op1").read_text()
    assert "sethostname" in history


def test_console_is_admin_and_batch_does_not_ask(datadir):
    r = run_cli(datadir, "-c", "passwd")
    assert r.returncode == 1 and "interactive only" in r.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))


def test_passphrase_set_by_an_admin_must_be_changed_first(gateway, datadir):
    import asyncssh

    r = run_cli(datadir, "-c", "userconfig policy account --reset-after-admin-set=yes; commit; "
                               "userconfig new temp1 --fullname=Temp --role=guest --passphrase=Temp-Pass-8q; commit")
    assert r.returncode == 0, r.stderr  # the SSH server reads it at the login

    async def go():
        async with asyncssh.connect("127.0.0.1", gateway.port, username="temp1", password="Temp-Pass-8q",
                                    known_hosts=None, client_keys=None) as conn:
            refused = await conn.run("version")
            proc = await conn.create_process(term_type="xterm", term_size=(100, 30))
            out = ""

            async def until(text):
                nonlocal out
                while text not in out:
                    out += await asyncio.wait_for(proc.stdout.read(4096), 10)

            await until("Your passphrase must be changed now.")
            await until("New Passphrase:")
            proc.stdin.write("Fresh-Pass-4k\r")
            await until("again:")
            proc.stdin.write("Fresh-Pass-4k\r")
            await until("Passphrase changed.")
            await until(SHELL_PROMPT)
            proc.stdin.write("quit\r")
            return refused

    refused = asyncio.run(go())
    assert refused.exit_status == 1 and "must be changed" in refused.stderr
    r = run_ssh(gateway.port, "temp1", "version", password="Fresh-Pass-4k")
    assert r.returncode == 0 and "Current Version" in r.stdout


def test_long_output_is_paged_over_ssh(gateway):
    import asyncssh

    async def go():
        async with asyncssh.connect("127.0.0.1", gateway.port, username="admin", password=PASSPHRASE,
                                    known_hosts=None, client_keys=None) as conn:
            proc = await conn.create_process(term_type="xterm", term_size=(100, 12))
            out = ""

            async def until(text):
                nonlocal out
                while text not in out:
                    out += await asyncio.wait_for(proc.stdout.read(4096), 10)

            await until(SHELL_PROMPT)
            proc.stdin.write("showconfig --passphrases=mask\r")
            await until("-Press Any Key For More-")
            first = out.count("-Press Any Key For More-")
            proc.stdin.write(" ")
            while out.count("-Press Any Key For More-") == first:
                out += await asyncio.wait_for(proc.stdout.read(4096), 10)
            prompts = out.count(SHELL_PROMPT)
            proc.stdin.write("q")
            while out.count(SHELL_PROMPT) == prompts:
                out += await asyncio.wait_for(proc.stdout.read(4096), 10)
            tail = out[out.rindex("-Press Any Key For More-"):]
            proc.stdin.write("quit\r")
            return out, tail

    out, tail = asyncio.run(go())
    assert "<config product=" in out and "</config>" not in out  # q stopped the pager
    assert SHELL_PROMPT in tail
