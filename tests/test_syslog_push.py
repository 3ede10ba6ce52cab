"""Log subscriptions pushed to a real syslog server (rsyslog), over UDP and TCP."""

from __future__ import annotations

import re
import smtplib
import socket
import subprocess

from conftest import (
    DaemonProcess,
    Sink,
    free_port,
    listener_port,
    require_peer,
    run_cli,
    wait_for,
)
from corpus import mail


def test_mail_logs_over_udp_and_consolidated_events_over_tcp_reach_rsyslog(datadir, tmp_path):
    require_peer("rsyslogd")
    udp, tcp = free_port(), free_port()
    out = tmp_path / "received.log"
    conf = tmp_path / "rsyslog.conf"
    conf.write_text(f'''module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="{udp}")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
global(workDirectory="{tmp_path}")
*.* action(type="omfile" file="{out}" template="RSYSLOG_FileFormat")
''')
    rsyslog = subprocess.Popen(["rsyslogd", "-n", "-f", str(conf), "-i", str(tmp_path / "rsyslog.pid")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sink = Sink(tmp_path / "sink")
    try:
        assert wait_for(lambda: _listening(tcp), 10), rsyslog.stderr.read1() if rsyslog.poll() is not None else ""
        r = run_cli(datadir, "-c",
                    f"logconfig new mail_udp --type=mail --retrieval=syslog --syslog-host=127.0.0.1 "
                    f"--syslog-port={udp} --syslog-facility=mail; "
                    f"logconfig new cef_tcp --type=consolidated --retrieval=syslog --syslog-host=127.0.0.1 "
                    f"--syslog-port={tcp} --syslog-protocol=tcp --syslog-facility=local0; "
                    f"smtproutes new ALL 127.0.0.1:{sink.port}; commit syslog")
        assert r.returncode == 0, r.stderr
        printed = run_cli(datadir, "-c", "logconfig print").stdout
        assert f"Syslog Push (TCP to 127.0.0.1:{tcp}, facility local0" in printed
        d = DaemonProcess(datadir)
        try:
            with smtplib.SMTP("127.0.0.1", listener_port(datadir, "IncomingMail"), timeout=20) as s:
                s.sendmail("a@sender.example", ["b@example.com"], mail(("a.txt", b"abc", "text/plain"),
                                                                     message_id="<sys@x>"))
            assert wait_for(lambda: out.exists() and "CEF:0" in out.read_text(), 30), \
                (out.read_text() if out.exists() else "(nothing)")
            text = out.read_text()
            assert re.search(r"mail_udp: Info: MID \d+ Message-ID '<sys@x>'", text)
            assert re.search(r"mail_udp: Info: Message finished MID \d+ done", text)
            cef = [line for line in text.splitlines() if "cef_tcp:" in line]
            assert cef and "ESA_CONSOLIDATED_LOG_EVENT" in cef[0] and "ESAAttachmentDetails={'a.txt'" in cef[0]
            assert re.search(r" cef_tcp: CEF:0\|Cisco\|", cef[0])  # over syslog a CEF line goes bare, as on the appliance
            # The line kinds of test_log_wording's table, read back from syslog.
            from test_log_wording import TABLE

            pushed = [line.split("mail_udp: Info: ", 1)[1] for line in text.splitlines() if "mail_udp: Info: " in line]
            for appliance, form, _ in TABLE:
                if appliance.split(" ")[0] in ("New", "Start", "Delivery", "Message") or " Subject " in appliance:
                    if "aborted" not in appliance:
                        assert any(re.search(form, line) for line in pushed), (appliance, pushed)
        finally:
            d.stop()
    finally:
        sink.stop()
        rsyslog.terminate()
        rsyslog.wait()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_new_log_types_and_rollovernow(datadir):
    r = run_cli(datadir, "-c", "logconfig new confhist --type=config_history; commit history")
    assert r.returncode == 0, r.stderr
    r = run_cli(datadir, "-c", "sethostname mail.example.com; commit renamed")
    assert r.returncode == 0, r.stderr
    folder = datadir / "logs" / "confhist"
    current = folder / "confhist.current"
    assert "commit changes: renamed" in current.read_text()
    r = run_cli(datadir, "-c", "rollovernow confhist")
    assert r.returncode == 0 and "Log confhist rolled over." in r.stdout
    rolled = list(folder.glob("confhist.@*.s"))
    assert len(rolled) == 1 and rolled[0].read_text().rstrip().endswith("End Logfile")
    assert "Begin Logfile" in current.read_text() and "renamed" not in current.read_text()
    r = run_cli(datadir, "-c", "rollovernow nosuch")
    assert r.returncode != 0 and "nosuch" in r.stderr
