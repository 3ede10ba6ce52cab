"""Files over SSH and SFTP/SCP live in the configuration directory: attacks by role and by door.

Every file-taking command is tried over SSH with absolute paths, "..", a
symbolic link planted in configuration/ and a device file, aiming at the key
file that seals every stored secret; nothing may leak and nothing outside may
be written. The local console keeps full paths.
"""

from __future__ import annotations

import asyncio
import subprocess

import pytest
from conftest import OP_PASS, PASSPHRASE, batch_ok, require_peer, run_cli
from test_ssh import ssh_cmd

#: SSH, the API and the web interface stay on in these tests' data directories (conftest.datadir).
pytestmark = pytest.mark.admin_services

RO_PASS = "Readonly-Pass-4k"
GUEST_PASS = "Guest-Pass-6w"

#: (command template, reads or writes the file, roles that may run the command at all)
READERS = [
    "hashlistconfig import L {p}",
    "urllistconfig import allowed {p}",
    "protectedattachmentconfig new --priority=3 --passphrase-file={p}",
    "filters import {p}",
    "trace {p}",
    "certconfig certificate import N {p}",
    "sshconfig userkey new admin --key-file={p}",
    "awarenessconfig import {p}",
    "policyconfig filters import incoming {p}",
    "snmpconfig setup --community-file={p}",
    "loadconfig {p}",
]
WRITERS = [
    "saveconfig {p}",
    "hashlistconfig export H {p}",
    "filters export {p}",
    "certconfig certauthority custom export {p}",
]


def _users(datadir):
    batch_ok(datadir, f"userconfig new ro1 --fullname='Read Only' --role=readonly --passphrase={RO_PASS}; "
                      f"userconfig new guest1 --fullname=Guest --role=guest --passphrase={GUEST_PASS}; "
                      "hashlistconfig new H " + "a" * 64 + "; commit users")


async def _run_all(port, user, password, commands):
    import asyncssh

    out = []
    async with asyncssh.connect("127.0.0.1", port, username=user, password=password,
                                known_hosts=None, client_keys=None) as conn:
        for c in commands:
            r = await conn.run(c)
            out.append((c, r.exit_status, r.stdout, r.stderr))
    return out


def _targets(datadir, outside):
    key = datadir / "keys" / "config.key"
    conf = datadir / "configuration"
    conf.mkdir(exist_ok=True)
    link = conf / "innocent.txt"
    if not link.is_symlink():
        link.symlink_to(key)
    return [str(key), "../keys/config.key", "innocent.txt", "/dev/zero", str(outside)]


def test_no_file_taking_command_reads_outside_the_configuration_directory(gateway, datadir, tmp_path):
    _users(datadir)
    secret = (datadir / "keys" / "config.key").read_text().strip()
    outside = tmp_path / "outside.txt"
    outside.write_text("outside-secret-" + "b" * 64 + "\n")
    targets = _targets(datadir, outside)
    commands = [t.format(p=p) for t in READERS for p in targets]
    for user, password in (("admin", PASSPHRASE), ("op1", OP_PASS)):
        for c, status, out, err in asyncio.run(_run_all(gateway.port, user, password, commands)):
            assert status != 0, (user, c, out)
            assert secret not in out + err and "outside-secret" not in out + err, (user, c)
            assert err.strip(), (user, c)
    # nothing was staged or committed from those files
    assert "outside" not in batch_ok(datadir, "hashlistconfig list")


def test_no_file_taking_command_writes_outside_the_configuration_directory(gateway, datadir, tmp_path):
    _users(datadir)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    key_before = (datadir / "keys" / "config.key").read_bytes()
    targets = [str(victim), "../keys/config.key", "../victim.txt", "innocent.txt", "/dev/null"]
    _targets(datadir, victim)
    commands = [t.format(p=p) for t in WRITERS for p in targets]
    for user, password in (("admin", PASSPHRASE), ("op1", OP_PASS)):
        for c, status, out, err in asyncio.run(_run_all(gateway.port, user, password, commands)):
            assert status != 0, (user, c, out)
    assert victim.read_text() == "keep me\n"
    assert (datadir / "keys" / "config.key").read_bytes() == key_before
    assert not (datadir / "victim.txt").exists()
    assert (datadir / "configuration" / "innocent.txt").is_symlink()  # the link was not replaced either


def test_saveconfig_and_loadconfig_over_ssh_use_the_configuration_directory(gateway, datadir):
    [(c1, s1, out1, err1), (c2, s2, out2, err2), (c3, s3, out3, err3)] = asyncio.run(_run_all(
        gateway.port, "admin", PASSPHRASE,
        ["saveconfig b.xml", "loadconfig b.xml", "protectedattachmentconfig new --priority=1 --passphrase-file=-"]))
    assert s1 == 0 and "The file b.xml has been saved." in out1, err1
    assert (datadir / "configuration" / "b.xml").read_text().startswith("<?xml")
    assert s2 == 0 and "No changes detected" in out2, err2
    # standard input stays allowed (here: empty, so the command says so)
    assert s3 != 0 and "empty passphrase" in err3


def test_the_console_keeps_full_paths(datadir, tmp_path):
    target = tmp_path / "full.xml"
    out = batch_ok(datadir, f"saveconfig {target}")
    assert target.exists() and str(target) in out


def _keys(datadir, tmp_path, users):
    """sftp -b and scp run in batch mode (no passphrase prompt): they log in with keys from sshconfig."""
    require_peer("ssh-keygen")
    lines = []
    for user in users:
        key = tmp_path / f"id_{user}"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        lines.append(f"sshconfig userkey new {user} --key-file={key}.pub")
    batch_ok(datadir, "; ".join(lines) + "; commit keys")  # the SSH server reads it at the next login


def _client_args(port, user, tmp_path):
    args, env = ssh_cmd(port, user, key=tmp_path / f"id_{user}")
    base = args[1:-1]
    base[base.index("-p")] = "-P"
    return base, env


def _sftp(port, user, password, script, tmp_path):
    require_peer("sftp")
    base, env = _client_args(port, user, tmp_path)
    return subprocess.run(["sftp", "-b", "-", *base, f"{user}@127.0.0.1"], env=env, input=script,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)


def _scp(port, user, tmp_path, src, dst):
    require_peer("scp")
    base, env = _client_args(port, user, tmp_path)
    return subprocess.run(["scp", "-O", *base, src.replace("HOST", f"{user}@127.0.0.1"),
                           dst.replace("HOST", f"{user}@127.0.0.1")],
                          env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_sftp_and_scp_by_role(gateway, datadir, tmp_path):
    _users(datadir)
    conf = datadir / "configuration"
    conf.mkdir(exist_ok=True)
    (conf / "present.xml").write_text("<config/>\n")
    (tmp_path / "upload.xml").write_text("<uploaded/>\n")
    secret = (datadir / "keys" / "config.key").read_text().strip()
    _keys(datadir, tmp_path, ("admin", "op1", "ro1", "guest1"))

    r = _sftp(gateway.port, "admin", PASSPHRASE, "put upload.xml\nget present.xml got.xml\nls\n", tmp_path)
    assert r.returncode == 0, r.stderr
    assert (conf / "upload.xml").read_text() == "<uploaded/>\n"
    assert (tmp_path / "got.xml").read_text() == "<config/>\n"

    # confined: .., absolute paths and links lead nowhere outside
    for attempt in ("get ../keys/config.key k1", "get /../keys/config.key k2", "get innocent.txt k3",
                    "symlink ../keys/config.key l1"):
        _targets(datadir, tmp_path / "x")
        r = _sftp(gateway.port, "admin", PASSPHRASE, attempt + "\n", tmp_path)
        assert r.returncode != 0, attempt
    for k in ("k1", "k2", "k3"):
        assert not (tmp_path / k).exists() or secret not in (tmp_path / k).read_text()
    assert not (conf / "l1").exists()

    # read-only operators read, but cannot write
    r = _sftp(gateway.port, "ro1", RO_PASS, "get present.xml ro.xml\n", tmp_path)
    assert r.returncode == 0 and (tmp_path / "ro.xml").exists(), r.stderr
    r = _sftp(gateway.port, "ro1", RO_PASS, "put upload.xml ro-upload.xml\n", tmp_path)
    assert r.returncode != 0 and not (conf / "ro-upload.xml").exists()
    # guests get nothing
    r = _sftp(gateway.port, "guest1", GUEST_PASS, "get present.xml guest.xml\n", tmp_path)
    assert r.returncode != 0 and not (tmp_path / "guest.xml").exists()

    # scp (the SCP protocol, -O) through the same rules
    r = _scp(gateway.port, "op1", tmp_path, str(tmp_path / "upload.xml"), "HOST:scp.xml")
    assert r.returncode == 0, r.stderr
    assert (conf / "scp.xml").read_text() == "<uploaded/>\n"
    r = _scp(gateway.port, "op1", tmp_path, "HOST:../keys/config.key", str(tmp_path / "scp-key"))
    assert r.returncode != 0 and not (tmp_path / "scp-key").exists()
    r = _scp(gateway.port, "guest1", tmp_path, "HOST:present.xml", str(tmp_path / "scp-guest"))
    assert r.returncode != 0 and not (tmp_path / "scp-guest").exists()

    audit = (datadir / "logs" / "cli_logs" / "cli.current").read_text()
    assert "User admin from 127.0.0.1 uploaded configuration/upload.xml (12 bytes) over SFTP" in audit
    assert "User admin from 127.0.0.1 downloaded configuration/present.xml (10 bytes) over SFTP" in audit
    assert "User op1 from 127.0.0.1 uploaded configuration/scp.xml (12 bytes) over SCP" in audit


@pytest.mark.parametrize("door", ["console", "ssh"])
def test_file_errors_never_quote_the_file(datadir, tmp_path, door, request):
    bad = datadir / "configuration" / "bad.txt"
    bad.parent.mkdir(exist_ok=True)
    bad.write_text("this-line-is-private-" + "z" * 20 + "\n")
    name = str(bad) if door == "console" else "bad.txt"
    line = f"hashlistconfig import L {name}"
    if door == "console":
        r = run_cli(datadir, "-c", line)
        out, err, status = r.stdout, r.stderr, r.returncode
    else:
        g = request.getfixturevalue("gateway")
        [(_, status, out, err)] = asyncio.run(_run_all(g.port, "admin", PASSPHRASE, [line]))
    assert status != 0 and "line 1" in err
    assert "this-line-is-private" not in out + err


def test_imports_are_bounded_in_size_and_linear_in_lines(datadir, tmp_path):
    import hashlib

    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.write(b"a" * (17 * 1024 * 1024))
    err = run_cli(datadir, "-c", f"hashlistconfig import L {big}").stderr
    assert "is larger than 16 MB" in err and "aaaa" not in err
    many = tmp_path / "many.txt"
    many.write_text("".join(hashlib.sha256(str(i).encode()).hexdigest() + "\n" for i in range(40000)))
    out = batch_ok(datadir, f"hashlistconfig import L {many}; commit many")
    assert "40000 hashes imported into L." in out
