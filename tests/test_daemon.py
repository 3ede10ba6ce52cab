"""The runtime skeleton: serve, control channel, reload within a second, demo certificate."""

from __future__ import annotations

import re
import stat
import subprocess
import time

import pytest
from conftest import require_peer, run_cli


def test_status_answers_from_the_daemon(cli, daemon):
    out = cli("-c", "status").stdout
    assert "System status:" in out and "Online" in out
    assert "Configuration version: 2 (committed by admin" in out  # init, then the test's SSH port
    assert "not supported yet" in out


def test_status_without_daemon_says_so(cli):
    r = cli("-c", "status", check=False)
    assert r.returncode == 1 and "daemon is not running" in r.stderr


def test_commit_reaches_the_daemon_within_a_second(cli, daemon):
    assert daemon.request("status")["config_version"] == 2
    cli("-c", "sethostname a.example.com; commit")
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        st = daemon.request("status")
        if st["config_version"] == 3:
            break
        time.sleep(0.02)
    assert st["config_version"] == 3 and st["hostname"] == "a.example.com"
    system_log = (daemon.datadir / "logs" / "system_logs" / "system.current").read_text()
    assert "User admin commit changes:" in system_log
    assert "Configuration version 3 (committed by admin) is now in effect; was 2; sections changed: system" in system_log


def test_reload_by_polling_without_a_nudge(datadir, daemon):
    # A commit by a process that does not nudge (e.g. another tool on the store).
    # (On PostgreSQL, make test-postgres, the store's NOTIFY is what the daemon hears.)
    from asyncos_cli.config.cluster import open_store
    from asyncos_cli.config.datadir import DataDir
    from asyncos_cli.config.schema import SystemSection
    from asyncos_cli.config.session import Session

    store = open_store(DataDir(datadir))
    s = Session(store, "tool")
    s.stage(SystemSection(hostname="polled.example.com"))
    version = s.commit("no nudge").id
    store.close()
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and daemon.request("status")["config_version"] != version:
        time.sleep(0.02)
    assert daemon.request("status")["hostname"] == "polled.example.com"


def test_control_socket_is_private_and_second_daemon_refused(datadir, daemon):
    mode = stat.S_IMODE(daemon.socket.stat().st_mode)
    assert mode == 0o600
    r = run_cli(datadir, "serve", timeout=30)
    assert r.returncode == 1 and "already running" in r.stderr


def test_unknown_and_malformed_requests(daemon):
    import socket

    from asyncos_cli.control.client import ControlError

    with pytest.raises(ControlError, match="unknown operation"):
        daemon.request("nonsense")
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(daemon.socket))
        s.sendall(b"this is not json\n")
        assert b"malformed request" in s.recv(1000)
    assert daemon.request("ping") == "pong"


def test_stop_and_detach(datadir):
    r = run_cli(datadir, "serve", "--detach", timeout=30)
    assert r.returncode == 0, r.stderr
    r = run_cli(datadir, "stop", timeout=30)
    assert r.returncode == 0 and "stopped" in r.stdout
    r = run_cli(datadir, "stop", timeout=30)
    assert "not running" in r.stdout


def test_demo_certificate_is_valid_and_its_key_encrypted(datadir, daemon):
    require_peer("openssl")
    cert = datadir / "state" / "demo-cert.pem"
    key = datadir / "state" / "demo-key.pem"
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-subject", "-checkend", "86400"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "ironport.example.com" in out.stdout
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    bad = subprocess.run(["openssl", "pkey", "-in", key, "-passin", "pass:wrong", "-noout"], capture_output=True)
    assert bad.returncode != 0


def test_demo_certificate_serves_tls(datadir, daemon):
    """The daemon's TLS context (the demonstration certificate) completes a handshake with openssl."""
    require_peer("openssl")
    import socket
    import ssl
    import threading

    from asyncos_cli.config.secrets import Keyring
    from asyncos_cli.services.certificates import DemoCertificate

    ctx = DemoCertificate.at(datadir / "state").server_context(Keyring(datadir / "keys" / "config.key"))
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def serve_once():
        conn, _ = srv.accept()
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"hello\n")
        except (ssl.SSLError, OSError):
            pass

    t = threading.Thread(target=serve_once, daemon=True)
    t.start()
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(datadir / "state" / "demo-cert.pem"),
         "-verify_hostname", "ironport.example.com", "-verify_return_error", "-brief"],
        input="", capture_output=True, text=True, timeout=20,
    )
    t.join(5)
    srv.close()
    assert "Verification: OK" in out.stderr + out.stdout, out.stderr


def _service_children(daemon) -> set[str]:
    """The service modules among the daemon's child processes."""
    import os

    found = set()
    for task in os.listdir(f"/proc/{daemon.proc.pid}/task"):
        for pid in open(f"/proc/{daemon.proc.pid}/task/{task}/children").read().split():
            try:
                argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            except FileNotFoundError:
                continue
            found |= {m.decode() for m in argv if m in (b"asyncos_cli.shell.sshd", b"asyncos_cli.web")}
    return found


def test_service_processes_run_only_while_an_interface_offers_them(cli, daemon):
    """This test's data directory has SSH, the API and the web interface off (conftest.datadir): no process for
    them until a commit turns one on, and the process goes when the last of its services is turned off."""
    from conftest import wait_applied, wait_for, wait_listening

    assert _service_children(daemon) == set()
    status = cli("-c", "status").stdout
    assert "SSH access to the shell" in status and "AsyncOS API and web interface" in status
    assert status.count("off; no interface has it turned on") == 2, status
    cli("-c", "interfaceconfig edit Management --ssh=yes; commit ssh on")
    wait_applied(daemon.datadir)
    assert wait_for(lambda: _service_children(daemon) == {"asyncos_cli.shell.sshd"}, 10)
    port = int(re.search(r"SSH (\d+)", next(line for line in cli("-c", "interfaceconfig print").stdout.splitlines()
                                              if "Management" in line)).group(1))
    wait_listening(port)
    cli("-c", "interfaceconfig edit Management --ssh=no --api-https=yes; commit ssh off, API on")
    wait_applied(daemon.datadir)
    assert wait_for(lambda: _service_children(daemon) == {"asyncos_cli.web"}, 10)
    assert wait_for(lambda: "on; AsyncOS API HTTPS on Management" in cli("-c", "status").stdout, 10)
