"""alertconfig, alerts over STARTTLS (never in clear when TLS is required), displayalerts, supportrequest."""

from __future__ import annotations

import io
import socket
import tarfile
from email import message_from_bytes, policy

import pki
from conftest import DaemonProcess, free_port, run_cli, wait_for
from smtpservers import TlsServer

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.runner import Shell
from asyncos_cli.shell.scripted import ScriptedPrompter


def _cli(datadir, line, ok=True):
    r = run_cli(datadir, "-c", line)
    assert (r.returncode == 0) == ok, (line, r.stdout, r.stderr)
    return r


def test_alertconfig_menu_and_batch(datadir):
    answers = [
        "NEW", "not an address", "ops@example.com", "2,6", "2,3",
        "NEW", "all@example.com", "", "",
        "EDIT", "2", "1", "5,2", "5",   # None cannot be mixed: re-asked
        "SETUP", "300", "100", "3600", "40", "Y",
        "FROM", "EDIT", "gateway@example.com",
        "",
    ]
    p = ScriptedPrompter(answers)
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("alertconfig")
    a = ctx.config.alerts
    ops, every = a.recipients
    assert ops.classes == ("System", "Anti-Virus") and ops.severities == ("Critical", "Warning")
    assert every.address == "all@example.com" and every.severities == ()
    assert every.wants("Release and Support Notifications", "Information") and not every.wants("System", "Critical")
    assert (a.initial_interval_seconds, a.max_interval_seconds, a.max_saved, a.tls) == (300, 3600, 40, True)
    assert a.sender("h.example.com") == "gateway@example.com"
    assert "Sending alerts to:" in p.text and "debounce interval cannot be less" in p.text
    assert "You cannot pick None together with other severities." in p.text

    _cli(datadir, "alertconfig new sec@example.com --classes=system,7 --severities=critical; "
                  "alertconfig setup --tls=no --initial-interval=0; commit")
    out = _cli(datadir, "alertconfig print").stdout
    assert "sec@example.com" in out and "System, Anti-Spam (Critical)" in out and "disabled" in out
    assert "unknown alert class 'Spam'" in _cli(datadir, "alertconfig new x@example.com --classes=Spam", ok=False).stderr
    assert "already receives alerts" in _cli(datadir, "alertconfig new sec@example.com", ok=False).stderr
    assert "debounce interval" in _cli(datadir, "alertconfig setup --initial-interval=900 --max-interval=60",
                                       ok=False).stderr


def _trigger_agent_failure(datadir):
    """An alert on demand: SNMP told to listen on a port another socket holds (System/Warning)."""
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    (datadir.parent / "a").write_text("authpass1\n")
    # Thresholds at 100%: a loaded CI machine must not add CPU alerts of its own.
    _cli(datadir, f"snmpconfig setup --enabled=yes --port={busy.getsockname()[1]} --cpu-threshold=100 "
                  f"--memory-threshold=100 --auth-passphrase-file={datadir.parent / 'a'}; commit snmp on a busy port")
    return busy


def _subjects(messages, containing: str) -> list[str]:
    subjects = [message_from_bytes(m, policy=policy.default)["Subject"] for m in messages]
    return [s for s in subjects if containing in s]


def test_alert_goes_over_starttls_and_never_in_clear(datadir, tmp_path):
    root = pki.ca()
    (tmp_path / "root.pem").write_text(root.cert_pem)
    tls = TlsServer(pki.leaf(root, cn="127.0.0.1", sans=("127.0.0.1",)), tmp_path, "alerts")
    plain = TlsServer(None, tmp_path, "plain")
    try:
        _cli(datadir, f"certconfig certauthority custom import root {tmp_path / 'root.pem'}; "
                      "sslconfig peer_cert_fqdn enable; sslconfig peer_cert_x509 enable; "
                      f"smtproutes new secure.example 127.0.0.1:{tls.port}; "
                      f"smtproutes new clear.example 127.0.0.1:{plain.port}; "
                      "alertconfig new ops@secure.example --classes=system; "
                      "alertconfig new ops@clear.example --classes=system; commit alerts")
        d = DaemonProcess(datadir)
        try:
            busy = _trigger_agent_failure(datadir)
            # Other System alerts may come too (a busy machine raises a CPU alert): this test's is found by
            # its subject, whatever its place.
            assert wait_for(lambda: _subjects(tls.handler.messages, "SNMP agent could not start"), 20)
            [subject] = _subjects(tls.handler.messages, "SNMP agent could not start")
            assert all(tls.handler.over_tls)
            assert subject.startswith("Warning <System> ")
            system = (datadir / "logs" / "system_logs" / "system.current").read_text()
            assert wait_for(lambda: "does not offer STARTTLS and TLS is required" in
                            (datadir / "logs" / "system_logs" / "system.current").read_text(), 10)
            assert plain.handler.messages == []  # nothing in clear
            system = (datadir / "logs" / "system_logs" / "system.current").read_text()
            assert "A System/Warning alert was sent to ops@secure.example" in system and "over TLS" in system
            shown = _cli(datadir, "displayalerts").stdout
            assert "Warning <System>: The SNMP agent could not start" in shown
            assert "waiting to be sent to ops@clear.example" in shown
            # The administrator allows plain SMTP: the kept alert goes at once, in clear, as configured.
            _cli(datadir, "alertconfig setup --tls=no; commit plain alerts")
            assert wait_for(lambda: _subjects(plain.handler.messages, "SNMP agent could not start"), 20)
            assert not any(plain.handler.over_tls)
            assert len(_subjects(tls.handler.messages, "SNMP agent could not start")) == 1
            busy.close()
        finally:
            d.stop()
    finally:
        tls.stop()
        plain.stop()


def test_alert_to_a_server_with_a_rejected_certificate_is_kept(datadir, tmp_path):
    other = pki.ca("Unknown CA")
    tls = TlsServer(pki.leaf(other, cn="127.0.0.1", sans=("127.0.0.1",)), tmp_path, "untrusted")
    try:
        _cli(datadir, "sslconfig peer_cert_x509 enable; "
                      f"smtproutes new secure.example 127.0.0.1:{tls.port}; "
                      "alertconfig new ops@secure.example; commit")
        d = DaemonProcess(datadir)
        try:
            busy = _trigger_agent_failure(datadir)
            assert wait_for(lambda: "certificate of 127.0.0.1 rejected" in
                            (datadir / "logs" / "system_logs" / "system.current").read_text(), 20)
            assert tls.handler.messages == []
            busy.close()
        finally:
            d.stop()
    finally:
        tls.stop()


def test_supportrequest_uses_starttls_when_offered_and_says_when_not(datadir, tmp_path):
    root = pki.ca()
    tls = TlsServer(pki.leaf(root, cn="127.0.0.1", sans=("127.0.0.1",)), tmp_path, "support")
    plain = TlsServer(None, tmp_path, "plain")
    try:
        (tmp_path / "a").write_text("Secret-Auth-1\n")
        _cli(datadir, f"smtproutes new support.example 127.0.0.1:{tls.port}; "
                      f"smtproutes new plain.example 127.0.0.1:{plain.port}; "
                      f"snmpconfig setup --enabled=yes --port={free_port()} --auth-passphrase-file={tmp_path / 'a'}; "
                      "alertconfig setup --support-address=tac@support.example; commit")
        r = _cli(datadir, "supportrequest send --description='Mail stuck in the queue' --email=admin@example.com "
                          "--name='A. Admin'")
        assert "sent over TLS (TLSv1." in r.stdout and "127.0.0.1" in r.stdout
        msg = message_from_bytes(tls.handler.messages[0], policy=policy.default)
        assert tls.handler.over_tls == [True] and "Mail stuck in the queue" in msg.get_body(("plain",)).get_content()
        bundle = next(p for p in msg.iter_attachments()).get_payload(decode=True)
        with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
            names = tar.getnames()
            config = tar.extractfile("config.xml").read().decode()
        assert "version.txt" in names and any(n.startswith("logs/") for n in names)
        assert 'masked="yes"' in config and "Secret-Auth-1" not in config

        r = _cli(datadir, "supportrequest send --description=x --email=admin@example.com --to=help@plain.example")
        assert "sent in plain text" in r.stdout and "does not offer STARTTLS" in r.stdout
        assert plain.handler.over_tls == [False]
        r = _cli(datadir, f"smtproutes new down.example 127.0.0.1:{free_port()}; commit; "
                          "supportrequest send --description=x --email=admin@example.com --to=a@down.example",
                 ok=False)
        assert "could not be sent" in r.stderr
    finally:
        tls.stop()
        plain.stop()


def test_duplicate_alerts_are_counted_not_sent_and_the_interval_doubles(tmp_path, keyring):
    from asyncos_cli.config.schema import AlertRecipient, Config
    from asyncos_cli.config.store import connect
    from asyncos_cli.events import EventBus
    from asyncos_cli.services.alerts import AlertService, recent

    now = [1000.0]
    config = Config.default()
    config = config.with_section(config.alerts.replace(recipients=(AlertRecipient("ops@example.com"),),
                                                       initial_interval_seconds=300, max_interval_seconds=3600))
    service = AlertService(EventBus(), connect(tmp_path / "db"), keyring, clock=lambda: now[0])
    service.configure(config)
    first = service.raise_alert("System", "Warning", "disk is slow")
    now[0] += 100
    assert service.raise_alert("System", "Warning", "disk is slow") is None   # within 300 s
    assert service.raise_alert("System", "Critical", "disk is slow") is not None  # another severity is its own
    now[0] += 250
    second = service.raise_alert("System", "Warning", "disk is slow")        # 350 s later: sent again
    now[0] += 400
    assert service.raise_alert("System", "Warning", "disk is slow") is None   # the interval is now 600 s
    now[0] += 5000
    assert service.raise_alert("System", "Warning", "disk is slow") is not None  # quiet for long: back to 300
    rows = {r["id"]: r for r in recent(service.conn)}
    assert rows[first]["duplicates"] == 1 and rows[second]["duplicates"] == 1
    assert rows[first]["pending"] == ["ops@example.com"]  # kept until it is sent


def test_edit_offers_the_current_classes_and_severities(datadir):
    p = ScriptedPrompter(["NEW", "ops@example.com", "2,6", "2,3", "EDIT", "1", "", "", ""])
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("alertconfig")
    r = ctx.config.alerts.recipients[0]
    assert r.classes == ("System", "Anti-Virus") and r.severities == ("Critical", "Warning")
    assert "[2,6]> " in p.text and "[2,3]> " in p.text
