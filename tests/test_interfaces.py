"""interfaceconfig and adminaccessconfig: named interfaces, services per interface, listeners on them."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest
from conftest import (
    ON_POSTGRES,
    DaemonProcess,
    batch_fails,
    batch_ok,
    free_port,
    mail_log,
    swaks,
    wait_applied,
    wait_for,
)

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.runner import Shell
from asyncos_cli.shell.scripted import ScriptedPrompter


@pytest.mark.admin_services
def test_the_embedded_default_is_management_with_ssh_api_and_web(datadir):
    out = batch_ok(datadir, "interfaceconfig print")
    line = next(l for l in out.splitlines() if "Management" in l)
    assert "127.0.0.1" in line and re.search(r"\bSSH \d+", line) and "AsyncOS API HTTPS" in line
    assert re.search(r"\bHTTPS \d+", line.replace("API HTTPS", ""))


def test_new_edit_delete_and_their_refusals(datadir):
    batch_ok(datadir, "interfaceconfig new Data --address=127.0.0.2 --api-https=yes --api-https-port=7443; commit")
    out = batch_ok(datadir, "interfaceconfig print")
    assert "Data (127.0.0.2/the system host name): AsyncOS API HTTPS 7443" in out
    assert "--address" in batch_fails(datadir, "interfaceconfig new Other")
    assert "appears twice" in batch_fails(datadir, "interfaceconfig new Other --address=127.0.0.2")
    assert "already exists" in batch_fails(datadir, "interfaceconfig new data --address=127.0.0.3")
    assert "cannot share port 7443" in batch_fails(datadir, "interfaceconfig edit Data --ssh=yes --ssh-port=7443")
    assert "not an IP address" in batch_fails(datadir, "interfaceconfig edit Data --address=nowhere")
    assert "no certificate named" in batch_fails(datadir, "interfaceconfig edit Data --certificate=missing")

    # A listener names its interface by name; the interface cannot go while the listener is on it.
    batch_ok(datadir, "listenerconfig edit OutgoingMail --interface=Data; commit")
    assert "used by the listener(s) OutgoingMail" in batch_fails(datadir, "interfaceconfig delete Data")
    assert "no interface named Nowhere" in batch_fails(datadir, "listenerconfig edit OutgoingMail --interface=Nowhere")
    batch_ok(datadir, "listenerconfig edit OutgoingMail --interface=127.0.0.1; interfaceconfig delete 2; commit")
    assert "Data" not in batch_ok(datadir, "interfaceconfig print")


def test_the_wizard_asks_each_service_and_reasks_a_bad_answer(datadir):
    p = ScriptedPrompter(["NEW", "Lab", "10.9.9.300", "127.0.0.5", "", "Y", "70000", "2200", "N", "Y", "", "N",
                          "N", ""])
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("interfaceconfig")
    assert "is not an IP address" in p.text and "must be from 1 to 65535, got 70000" in p.text
    lab = ctx.config.interfaces.get("Lab")
    assert (lab.address, lab.ssh, lab.ssh_port, lab.api_http, lab.api_https, lab.api_https_port) == \
        ("127.0.0.5", True, 2200, False, True, 6443)


def test_a_listener_on_a_named_interface_binds_its_address_and_mail_logs_name_it(datadir):
    port = free_port()
    batch_ok(datadir, f"interfaceconfig new Inside --address=127.0.0.3; listenerconfig edit IncomingMail "
                      f"--interface=Inside --port={port}; commit")
    daemon = DaemonProcess(datadir)
    try:
        wait_applied(datadir)
        r = swaks(port, "--server", "127.0.0.3", "--to", "someone@example.com", "--from", "a@b.example",
                  "--quit-after", "MAIL")
        assert r.returncode == 0, r.stdout
        assert wait_for(lambda: "interface Inside (127.0.0.3) address" in mail_log(datadir))
        assert re.search(r"New SMTP ICID \d+ interface Inside \(127\.0\.0\.3\) address 127\.0\.0\.\d+ reverse dns "
                         r"host", mail_log(datadir))
    finally:
        daemon.stop()


def test_adminaccessconfig_timeout_is_one_setting_with_its_range(datadir):
    assert "30 minutes" in batch_ok(datadir, "adminaccessconfig print")
    assert "must be from 5 to 1440 minutes, got 4" in batch_fails(datadir, "adminaccessconfig timeout --timeout=4")
    assert "12 minutes" in batch_ok(datadir, "adminaccessconfig timeout --timeout=12; commit")
    assert "Idle timeout: 12 minutes" in batch_ok(datadir, "sshconfig print")
    assert "not supported yet" in batch_fails(datadir, "adminaccessconfig banner")


@pytest.mark.skipif(ON_POSTGRES, reason="migrates an embedded store's older rows (SQLite only)")
def test_a_store_from_before_interfaces_keeps_its_ssh_address_port_and_timeout(datadir):
    """An older release kept listen, port and idle timeout in the ssh section; they move, values kept."""
    conn = sqlite3.connect(DataDir(datadir).database)
    head = conn.execute("SELECT max(version) FROM config_sections").fetchone()[0]
    body = json.loads(conn.execute("SELECT body FROM config_sections WHERE version = ? AND name = 'ssh'",
                                   (head,)).fetchone()[0])
    body.update(listen="127.0.0.9", port=2022, idle_timeout_minutes=45)
    with conn:
        conn.execute("UPDATE config_sections SET body = ? WHERE version = ? AND name = 'ssh'",
                     (json.dumps(body), head))
        conn.execute("DELETE FROM config_sections WHERE name IN ('interfaces', 'admin_access')")
    conn.close()
    out = batch_ok(datadir, "interfaceconfig print; adminaccessconfig print")
    assert "Management (127.0.0.9/" in out and "SSH 2022" in out and "45 minutes" in out
