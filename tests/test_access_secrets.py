"""Secrets follow the role whatever the door, SNMP communities are sealed in every stored version,
and no value can forge a line in the logs."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time

import pytest
from conftest import ON_POSTGRES, OP_PASS, PASSPHRASE, batch_fails, batch_ok, free_port
from test_access_files import _run_all

#: SSH, the API and the web interface stay on in these tests' data directories (conftest.datadir).
pytestmark = pytest.mark.admin_services

GUEST_PASS = "Guest-Pass-6w"
STAMP = re.compile(r"^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} \w+: ")


def _snmp_with_secrets(datadir, tmp_path):
    (tmp_path / "a").write_text("authpass-secret-1\n")
    batch_ok(datadir, f"snmpconfig setup --enabled=yes --port={free_port()} --auth-passphrase-file={tmp_path / 'a'} "
                      "--v2c=yes --trap-version=v2c --community=community-secret-2 --trap-community=trap-secret-3; "
                      "protectedattachmentconfig new --priority=1 --passphrase=zip-secret-4; commit snmp")


def test_operators_never_get_secrets_from_saveconfig_or_showconfig(gateway, datadir, tmp_path):
    _snmp_with_secrets(datadir, tmp_path)
    secrets = ("authpass-secret-1", "community-secret-2", "trap-secret-3", "zip-secret-4")
    results = asyncio.run(_run_all(gateway.port, "op1", OP_PASS, [
        "saveconfig op-plain.xml --passphrases=plain", "saveconfig op-enc.xml --passphrases=encrypt",
        "showconfig --passphrases=encrypt", "protectedattachmentconfig print --reveal", "snmpconfig print",
        "trace --format=json op-enc.xml"]))
    (_, s1, _, e1), (_, s2, o2, _), (_, s3, o3, _), (_, s4, _, e4), (_, s5, _, _), (_, _, o6, e6) = results
    assert s1 != 0 and "Only administrators can save passphrases in plain text." in e1
    assert not (datadir / "configuration" / "op-plain.xml").exists()
    assert s2 == 0 and "passphrases are masked" in o2
    saved = (datadir / "configuration" / "op-enc.xml").read_text()
    assert 'passphrases="mask"' in saved and 'encrypted="yes"' not in saved
    assert s3 == 0 and 'encrypted="yes"' not in o3
    assert s4 != 0 and "Only administrators can reveal passphrases" in e4
    assert s5 != 0  # snmpconfig is for administrators
    for text in (saved, o3, o6 + e6):
        assert not any(s in text for s in secrets)
    # administrators may, and a reveal is in the CLI audit log
    results = asyncio.run(_run_all(gateway.port, "admin", PASSPHRASE, [
        "saveconfig admin-plain.xml --passphrases=plain", "protectedattachmentconfig print --reveal",
        "snmpconfig print", "snmpconfig print --reveal"]))
    assert [r[1] for r in results] == [0, 0, 0, 0], results
    plain = (datadir / "configuration" / "admin-plain.xml").read_text()
    assert all(s in plain for s in secrets)
    assert "zip-secret-4" in results[1][2]
    assert "community-secret-2" not in results[2][2] and "(set)" in results[2][2]
    assert "'community-secret-2'" in results[3][2] and "'trap-secret-3'" in results[3][2]
    audit = (datadir / "logs" / "cli_logs" / "cli.current").read_text()
    assert "User admin from 127.0.0.1 revealed the protected attachment passphrases in clear" in audit
    assert "User admin from 127.0.0.1 revealed the SNMP community strings in clear" in audit


def _stored_bodies(datadir) -> list[str]:
    with sqlite3.connect(datadir / "asyncos.db") as conn:
        return [b for (b,) in conn.execute("SELECT body FROM config_sections WHERE name = 'snmp'")]


@pytest.mark.skipif(ON_POSTGRES, reason="migrates an embedded store's older rows (SQLite only)")
def test_communities_are_sealed_in_every_version_and_old_ones_are_migrated(datadir, tmp_path):
    _snmp_with_secrets(datadir, tmp_path)
    assert not any("community-secret-2" in b or "trap-secret-3" in b for b in _stored_bodies(datadir))
    # a database written by an earlier release: communities in clear in every stored version
    with sqlite3.connect(datadir / "asyncos.db") as conn:
        for version, body in conn.execute("SELECT version, body FROM config_sections WHERE name = 'snmp'").fetchall():
            data = json.loads(body)
            data["community"], data["trap_community"] = f"old-community-{version}", "old-trap"
            conn.execute("UPDATE config_sections SET body = ? WHERE version = ? AND name = 'snmp'",
                         (json.dumps(data), version))
        conn.execute("PRAGMA user_version = 0")
    versions = re.findall(r"^\s*(\d+)\s", batch_ok(datadir, "rollbackconfig list"), re.M)
    assert not any("old-community" in b or "old-trap" in b for b in _stored_bodies(datadir))
    out = batch_ok(datadir, "snmpconfig print --reveal")
    assert f"'old-community-{max(map(int, versions))}'" in out
    # every version stays loadable: roll back to the first one and forward again
    batch_ok(datadir, f"rollbackconfig rollback {min(map(int, versions))}")
    batch_ok(datadir, f"rollbackconfig rollback {max(map(int, versions))}")
    raw = (datadir / "asyncos.db").read_bytes() + b"".join(
        p.read_bytes() for p in datadir.glob("asyncos.db-wal"))
    assert b"old-community" not in raw and b"community-secret-2" not in raw


def test_values_that_cannot_be_stored_faithfully_are_refused(datadir):
    from asyncos_cli.config.fields import ConfigError
    from asyncos_cli.config.schema import UserAccount

    with pytest.raises(ConfigError, match="control characters"):
        UserAccount(name="x1", full_name="a\x00b", role="Guests")
    err = batch_fails(datadir, "userconfig new x1 --fullname='a\x01b' --role=guest --generate")
    assert "control characters cannot be stored" in err
    # nothing was staged: a backup still loads
    batch_ok(datadir, f"saveconfig {datadir / 'configuration' / 'ok.xml'} --passphrases=plain; "
                      f"loadconfig {datadir / 'configuration' / 'ok.xml'}")


FORGED = "Fri Dec 04 10:00:00 2026 Info: PID 1: User admin entered 'userconfig'; prompt was '>'"


def _log_lines(path):
    return path.read_text().splitlines()


def test_no_value_forges_a_log_line(gateway, datadir):
    batch_ok(datadir, f"userconfig new guest1 --fullname=Guest --role=guest --passphrase={GUEST_PASS}; commit g")  # the SSH server reads it at the next login
    # a guest's command argument with CR, LF, NUL-free control characters and a Unicode line separator
    for evil in (f"x\n{FORGED}", f"x\r{FORGED}", f"x\x0b\x1b[2J\u2028{FORGED}"):
        asyncio.run(_run_all(gateway.port, "guest1", GUEST_PASS, [f"version '{evil}'", f"nosuch '{evil}'"]))

    # SMTP values: HELO name, Message-ID and Subject with control characters
    port = int(re.search(r"IncomingMail \(127\.0\.0\.1\) SMTP TCP Port (\d+)",
                         batch_ok(datadir, "listenerconfig print")).group(1))
    import smtplib

    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.ehlo("helo\x0bname")
        c.sendmail("a@example.org", ["b@example.com"],
                   f"Message-ID: <id\x0b{FORGED}@x>\r\nSubject: s\x1b{FORGED}\r\n\r\nbody\r\n".encode("latin-1"))

    def forged_anywhere():
        return [(p.name, line) for p in (datadir / "logs").glob("*/*.current") for line in _log_lines(p)
                if line.startswith(FORGED[:20]) or not STAMP.match(line)]

    time.sleep(1.5)
    assert forged_anywhere() == []
    audit = (datadir / "logs" / "cli_logs" / "cli.current").read_text()
    assert "executed batch command: version 'x\\nFri Dec 04" in audit  # the escaped command is still there
    assert "nosuch x\\rFri Dec 04" in audit and "\\x0b\\x1b[2J\\u2028Fri" in audit
    mail = (datadir / "logs" / "mail_logs" / "mail.current").read_text()
    assert "\\x0bFri Dec 04" in mail


def test_an_authentication_line_with_a_newline_in_the_user_name(tmp_path):
    """Doors that do not filter user names (the API and web forms to come) reach the same writer."""
    from asyncos_cli.config.schema import Config
    from asyncos_cli.events import Event, EventBus, log_subscriber
    from asyncos_cli.events.auth import LoginFailed
    from asyncos_cli.services.logs import LogService

    logs = LogService(tmp_path, Config.default().logs)
    bus = EventBus()
    bus.subscribe(Event, log_subscriber(logs))
    bus.emit(LoginFailed(f"evil\n{FORGED}", "127.0.0.1\r\nx", "bad passphrase", via="HTTPS"))
    logs.close()
    text = (tmp_path / "authentication" / "authentication.current").read_text().splitlines()
    lines = [x for x in text if "authentication attempt" in x]
    assert len(lines) == 1 and "evil\\nFri Dec 04" in lines[0] and "127.0.0.1\\r\\nx" in lines[0]
    assert not any(x.startswith("Fri Dec 04 10") for x in text)  # the forged line never starts a line


def test_control_characters_escape_the_same_way_everywhere():
    from asyncos_cli.events import escape_controls

    assert escape_controls("a\r\nb\x00c\x85d\u2029e\tf") == "a\\r\\nb\\x00c\\x85d\\u2029e\\tf"
    assert escape_controls("plain line, unchanged") == "plain line, unchanged"
