"""SNMP: snmpconfig, the agent read by net-snmp's snmpget/snmpwalk, traps received by net-snmp's snmptrapd."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time

import pytest
from conftest import (
    DaemonProcess,
    free_port,
    ietf_mib_dir,
    listener_port,
    require_peer,
    run_cli,
    wait_for,
)

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.config.schema import SnmpSection
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.runner import Shell
from asyncos_cli.shell.scripted import ScriptedPrompter

ENGINE = "0x8000000001020304"
MAIL = "1.3.6.1.4.1.15497.1.1.1"
MIB_DIR = os.path.join(os.path.dirname(__file__), "..", "asyncos_cli", "services", "snmp", "mibs")


def _cli(datadir, line, ok=True):
    r = run_cli(datadir, "-c", line)
    assert (r.returncode == 0) == ok, (line, r.stdout, r.stderr)
    return r


def _net_snmp(tmp_path, *argv, timeout=30):
    env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(tmp_path / "snmp-client")}
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)


# ---------------------------------------------------------------- snmpconfig


def test_snmpconfig_wizard_walks_the_appliance_questions(datadir):
    answers = [
        "SETUP", "Y", "127.0.0.1", "16161",
        "3",                                   # authPriv
        "2", "short", "authpass1", "authpass1",  # SHA; a short passphrase is re-asked
        "2", "authpass1", "authpass1", "Y",     # AES; the same passphrase: set another
        "privpass1", "privpass1",
        "zz", ENGINE,                           # a bad engine ID is re-asked
        "Y", "public", "Y", "127.0.0.0/8", "N",
        "1",                                    # traps as v2c
        "127.0.0.1:16162", "traps",
        "Y", "Y", "7,8", "Y", "3", "ftp://x", "http://127.0.0.1:9/", "N",
        "Lab 3", "ops@example.com",
        "",
    ]
    p = ScriptedPrompter(answers)
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("snmpconfig")
    s = ctx.config.snmp
    assert s.enabled and s.port == 16161 and s.v3_level == "authPriv"
    assert (s.auth_protocol, s.priv_protocol) == ("SHA", "AES")
    assert ctx.keyring.reveal(s.auth_passphrase) == "authpass1" and ctx.keyring.reveal(s.priv_passphrase) == "privpass1"
    assert s.engine_id == ENGINE and s.v2c_enabled and ctx.keyring.reveal(s.community) == "public"
    assert s.v2c_networks_v4 == ("127.0.0.0/8",) and not s.v2c_ipv6
    assert s.trap_version == "v2c" and s.trap_targets == ("127.0.0.1:16162",) and ctx.keyring.reveal(s.trap_community) == "traps"
    assert "linkDown" not in s.enabled_traps and "linkUp" not in s.enabled_traps
    assert "connectivityFailure" in s.enabled_traps and s.connectivity_url == "http://127.0.0.1:9/"
    assert (s.location, s.contact) == ("Lab 3", "ops@example.com")
    text = p.text
    assert "The SNMPv3 password must be at least 8 characters long." in text
    assert "Do you want to set other passwords?" in text and "Service SNMP V1/V2c requests?" in text
    assert "authpass1" not in text and "privpass1" not in text


def test_snmpconfig_batch_refuses_bad_settings_and_keeps_nothing(datadir, tmp_path):
    r = _cli(datadir, "snmpconfig setup --enabled=yes --v3-level=authPriv --auth-passphrase=short", ok=False)
    assert "at least 8 characters" in r.stderr
    r = _cli(datadir, "snmpconfig setup --enabled=yes --v3-level=authNoPriv", ok=False)
    assert "needs the SNMPv3 authentication passphrase" in r.stderr
    r = _cli(datadir, "snmpconfig setup --v2c-networks-v4=10.0.0.0/8,::1", ok=False)
    assert "not an IPv4 network" in r.stderr
    r = _cli(datadir, "snmpconfig setup --enable-traps=fanfailure,nosuchtrap", ok=False)
    assert "unknown trap 'nosuchtrap'" in r.stderr
    r = _cli(datadir, "snmpconfig setup --trap-targets='bad host!'", ok=False)
    assert "The trap target must be host name or IP address" in r.stderr
    assert "SNMP Disabled" in _cli(datadir, "snmpconfig print").stdout
    (tmp_path / "a").write_text("authpass1\n")
    _cli(datadir, f"snmpconfig setup --enabled=yes --auth-passphrase-file={tmp_path / 'a'} --disable-traps=7,8; commit")
    out = _cli(datadir, "snmpconfig print").stdout
    assert "SNMP Enabled" in out and "authNoPriv, authentication SHA" in out
    assert re.search(r"7\. linkDown\s+Disabled", out) and "authpass1" not in out
    audit = (datadir / "logs" / "cli_logs" / "cli.current").read_text()
    assert "authpass1" not in audit


# ---------------------------------------------------------------- traps, received by snmptrapd

TRAPD_USERS = {
    # name: (createUser arguments, minimum level at the receiver)
    "noauthuser": ("", "noauth"),
    "authuser": ("SHA authauthpass", "auth"),
    "privuser": ("SHA privauthpass AES privprivpass", "priv"),
    "sha256user": ("SHA-256 sha256authpass AES-256 aes256privpass", "priv"),
}


@pytest.fixture
def trapd(tmp_path):
    require_peer("snmptrapd")
    port = free_port()
    conf = tmp_path / "snmptrapd.conf"
    persist = tmp_path / "trapd-state"
    persist.mkdir()
    lines = [f"[snmp] persistentDir {persist}", "authCommunity log public"]
    for user, (args, level) in TRAPD_USERS.items():
        lines.append(f"createUser -e {ENGINE} {user} {args}".rstrip())
        lines.append(f"authUser log {user} {level}")
    conf.write_text("\n".join(lines) + "\n")
    log = tmp_path / "trapd.log"
    proc = subprocess.Popen(["snmptrapd", "-f", "-C", "-c", str(conf), "-Lf", str(log), "-n", "-On",
                             f"udp:127.0.0.1:{port}"], env={**os.environ, "MIBS": ""},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(lambda: log.exists() and "NET-SNMP version" in log.read_text(), 10), "snmptrapd did not start"
    proc.port, proc.log = port, log
    yield proc
    proc.terminate()
    proc.wait(10)


def _send(settings, keyring, trap="CPUUtilizationExceeded", value=97):
    from pysnmp.proto.api import v2c

    from asyncos_cli.services.snmp import mib
    from asyncos_cli.services.snmp.traps import TrapSender

    async def go():
        sender = TrapSender(settings, keyring, "SERIAL")
        try:
            return await sender.send(trap, [(mib.scalar("perCentCPUUtilization"), v2c.Gauge32(value))])
        finally:
            sender.close()

    return asyncio.run(go())


def test_traps_at_every_security_level_and_v2c_reach_snmptrapd(trapd, keyring):
    target = (f"127.0.0.1:{trapd.port}",)
    cases = [
        ("noauthuser", dict(v3_level="noAuthNoPriv"), 11),
        ("authuser", dict(v3_level="authNoPriv", auth_protocol="SHA", auth_passphrase=keyring.seal("authauthpass")),
         12),
        ("privuser", dict(v3_level="authPriv", auth_protocol="SHA", auth_passphrase=keyring.seal("privauthpass"),
                          priv_protocol="AES", priv_passphrase=keyring.seal("privprivpass")), 13),
        ("sha256user", dict(v3_level="authPriv", auth_protocol="SHA-256",
                            auth_passphrase=keyring.seal("sha256authpass"), priv_protocol="AES-256",
                            priv_passphrase=keyring.seal("aes256privpass")), 14),
    ]
    for user, security, value in cases:
        s = SnmpSection(enabled=True, v3_user=user, engine_id=ENGINE, trap_targets=target, **security)
        sent, failed = _send(s, keyring, value=value)
        assert sent == list(target) and not failed
    v2 = SnmpSection(enabled=True, v2c_enabled=True, trap_version="v2c", trap_community=keyring.seal("public"),
                     v3_level="noAuthNoPriv", trap_targets=target)
    _send(v2, keyring, value=15)
    expected = [f".1.3.6.1.4.1.15497.1.1.1.2.0 = Gauge32: {v}" for v in (11, 12, 13, 14, 15)]
    assert wait_for(lambda: all(e in trapd.log.read_text() for e in expected), 10), trapd.log.read_text()
    log = trapd.log.read_text()
    assert log.count(".1.3.6.1.6.3.1.1.4.1.0 = OID: .1.3.6.1.4.1.15497.1.1.2.10") == 5  # cpuUtilizationExceeded
    assert log.count("Gauge32: 13") == 1  # one trap, not a duplicate per send


def test_a_wrong_passphrase_is_not_accepted_by_the_receiver(trapd, keyring):
    s = SnmpSection(enabled=True, v3_user="privuser", engine_id=ENGINE, v3_level="authPriv", auth_protocol="SHA",
                    auth_passphrase=keyring.seal("wrongauthpass"), priv_protocol="AES",
                    priv_passphrase=keyring.seal("privprivpass"), trap_targets=(f"127.0.0.1:{trapd.port}",))
    _send(s, keyring, value=66)
    assert wait_for(lambda: "Authentication failed for privuser" in trapd.log.read_text(), 10), trapd.log.read_text()
    assert "Gauge32: 66" not in trapd.log.read_text()


# ---------------------------------------------------------------- the agent in the running gateway


def _get(tmp_path, port, *oids):
    r = _net_snmp(tmp_path, "snmpget", "-v2c", "-c", "public", "-On", "-Oqv", "-t", "3", "-r", "1",
                  f"127.0.0.1:{port}", *oids)
    assert r.returncode == 0, r.stderr
    return r.stdout.split("\n")


def _status_gauges(datadir) -> dict:
    out = _cli(datadir, "status").stdout
    return {m.group(1): m.group(2) for m in re.finditer(r"^  ([A-Z][A-Za-z/ .]+?)\s{2,}(\S+)$", out, re.M)}


def test_agent_serves_live_readings_that_agree_with_status(datadir, tmp_path, trapd):
    require_peer("snmpget", "snmpwalk")
    port = free_port()
    # One SNMPv3 account serves reads and signs traps: the receiver knows it as sha256user.
    for name, text in (("a", "sha256authpass"), ("p", "aes256privpass")):
        (tmp_path / name).write_text(text + "\n")
    closed = free_port()
    _cli(datadir, f"snmpconfig setup --enabled=yes --port={port} --v3-level=authPriv --auth-protocol=SHA-256 "
                  f"--auth-passphrase-file={tmp_path / 'a'} --priv-protocol=AES-256 "
                  f"--priv-passphrase-file={tmp_path / 'p'} --engine-id={ENGINE} --v2c=yes --community=public "
                  f"--trap-targets=127.0.0.1:{trapd.port} --v3-user=sha256user "
                  f"--enable-traps=connectivityFailure --connectivity-url=http://127.0.0.1:{closed}/ "
                  f"--location='Rack 7'; license_smart enable; commit snmp")
    # The receiver knows sha256user; the agent's user is the same account.
    d = DaemonProcess(datadir)
    try:
        # The connectivity check fails at once (nothing listens): a v3 authPriv trap with the URL.
        assert wait_for(lambda: ".1.3.6.1.4.1.15497.1.1.2.8" in trapd.log.read_text(), 15), trapd.log.read_text()
        assert f"http://127.0.0.1:{closed}/" in trapd.log.read_text()

        def v3get(auth_pass, *oids):
            return _net_snmp(tmp_path, "snmpget", "-v3", "-l", "authPriv", "-u", "sha256user", "-a", "SHA-256", "-A",
                             auth_pass, "-x", "AES-256", "-X", "aes256privpass", "-On", "-Oqv", "-t", "2", "-r", "0",
                             f"127.0.0.1:{port}", *oids)

        assert v3get("wrongauthpass", f"{MAIL}.11.0").returncode != 0
        r = v3get("sha256authpass", "1.3.6.1.2.1.1.6.0", f"{MAIL}.11.0")
        assert r.returncode == 0 and r.stdout.split("\n")[:2] == ['"Rack 7"', "0"], (r.stdout, r.stderr)
        v3walk = _net_snmp(tmp_path, "snmpbulkwalk", "-v3", "-l", "authPriv", "-u", "sha256user", "-a", "SHA-256",
                           "-A", "sha256authpass", "-x", "AES-256", "-X", "aes256privpass", "-On",
                           f"127.0.0.1:{port}", "1.3.6.1.4.1.15497.1.1.1")
        assert v3walk.returncode == 0 and f".{MAIL}.20.0 = Gauge32" in v3walk.stdout, v3walk.stderr

        walk = _net_snmp(tmp_path, "snmpwalk", "-v2c", "-c", "public", "-M", f"+{MIB_DIR}:{ietf_mib_dir()}", "-m",
                         "ASYNCOS-MAIL-MIB",
                         f"127.0.0.1:{port}", "1.3.6.1.4.1.15497")
        assert walk.returncode == 0, walk.stderr
        for name in ("perCentCPUUtilization.0", "workQueueMessages.0", "oldestMessageAge.0", "mailTransferThreads.0",
                     "keyDescription.1", "gwMessagesReceived.0"):
            assert f"ASYNCOS-MAIL-MIB::{name}" in walk.stdout, walk.stdout
        # Smart Licensing is enabled, not registered: its features are rows of the key table, in evaluation.
        row = re.search(r'keyDescription\.(\d+) = STRING: "?Feature: Email Security Appliance Mail Handling',
                        walk.stdout)
        assert row, walk.stdout
        left = re.search(rf"keySecondsUntilExpire\.{row.group(1)} = Gauge32: (\d+)", walk.stdout)
        assert left and 89 * 86400 < int(left.group(1)) <= 90 * 86400, walk.stdout
        assert f"keyIsPerpetual.{row.group(1)} = INTEGER: false(2)" in walk.stdout
        bad = _net_snmp(tmp_path, "snmpget", "-v2c", "-c", "wrong", "-t", "1", "-r", "0", f"127.0.0.1:{port}",
                        f"{MAIL}.11.0")
        assert bad.returncode != 0 and "Timeout" in bad.stdout + bad.stderr

        idle = _snmp_mail(tmp_path, port)
        # Load: delivery paused, messages queue up and age; two busy processes load the CPU.
        _cli(datadir, "workqueue pause")
        import smtplib

        with smtplib.SMTP("127.0.0.1", listener_port(datadir, "OutgoingMail"), timeout=20) as s:
            for i in range(5):
                s.sendmail("a@example.org", ["b@example.net"], f"Subject: {i}\r\n\r\nqueued\r\n".encode())
        burners = [subprocess.Popen([sys.executable, "-c", "import time\nt=time.time()+6\nwhile time.time()<t: pass"])
                   for _ in range(2)]
        try:
            time.sleep(3)
            before = _status_gauges(datadir)
            loaded = _snmp_mail(tmp_path, port)
            after = _status_gauges(datadir)
        finally:
            for b in burners:  # measured: no need to burn on
                b.terminate()
                b.wait()
        assert idle["work"] == 0 and loaded["work"] == 5
        assert loaded["oldest"] >= 2 > idle["oldest"] - 1
        # Two burners keep both cores busy whatever else runs: the reading is high. (Whether it was lower before
        # depends on the rest of the machine: other tests may be loading it already.)
        assert 0 <= idle["cpu"] <= 100 and loaded["cpu"] >= 50
        assert before["Messages In Work Queue"] == after["Messages In Work Queue"] == "5"
        # status and the agent read the same once-a-second sample.
        assert f"{loaded['cpu']}%" in (before["CPU Utilization"], after["CPU Utilization"]), (before, loaded, after)
    finally:
        d.stop()


def _snmp_mail(tmp_path, port) -> dict:
    values = _get(tmp_path, port, f"{MAIL}.2.0", f"{MAIL}.11.0", f"{MAIL}.14.0")
    return {"cpu": int(values[0]), "work": int(values[1]), "oldest": int(values[2])}


def test_conditions_fire_once_and_rearm_only_when_clearly_over(tmp_path):
    from asyncos_cli.events.system import LinkStateChanged, ResourceThresholdExceeded
    from asyncos_cli.services.gauges import Sample
    from asyncos_cli.services.snmp.conditions import ConditionMonitor
    from asyncos_cli.services.snmp.traps import trap_for

    net = tmp_path / "net"
    (net / "eth0").mkdir(parents=True)
    (net / "eth0" / "ifindex").write_text("2\n")
    (net / "eth0" / "operstate").write_text("up\n")
    events = []
    monitor = ConditionMonitor(events.append, link_root=net)
    snmp = SnmpSection(cpu_threshold=80)
    for cpu in (50, 85, 90, 79, 81, 74, 86):  # 79 and 81 hover: no new trap until it fell below 75
        monitor.on_sample(Sample(cpu_percent=cpu), snmp)
    fired = [e.percent for e in events if isinstance(e, ResourceThresholdExceeded)]
    assert fired == [85, 86]
    (net / "eth0" / "operstate").write_text("down\n")
    monitor.on_sample(Sample(), snmp)
    monitor.on_sample(Sample(), snmp)
    links = [e for e in events if isinstance(e, LinkStateChanged)]
    assert [(e.interface, e.index, e.up) for e in links] == [("eth0", 2, False)]
    name, varbinds = trap_for(links[0])
    assert name == "linkDown" and [tuple(oid) for oid, _ in varbinds[:3]] == [
        (1, 3, 6, 1, 2, 1, 2, 2, 1, 1, 2), (1, 3, 6, 1, 2, 1, 2, 2, 1, 7, 2), (1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 2)]
    assert [int(v) for _, v in varbinds[:3]] == [2, 1, 2] and str(varbinds[3][1]) == "eth0"  # RFC 2863, then name
    assert trap_for(events[0])[0] == "CPUUtilizationExceeded"


def test_the_agent_answers_after_every_one_of_twenty_snmp_commits(datadir, tmp_path):
    """Each SNMP commit rebuilds the agent on the same port: none may leave it unbound (issue #26)."""
    require_peer("snmpget")
    port = free_port()
    _cli(datadir, f"snmpconfig setup --enabled=yes --port={port} --v3-level=noAuthNoPriv --v2c=yes "
                  "--community=public --location=L0; commit snmp on")
    d = DaemonProcess(datadir)
    try:
        assert wait_for(lambda: _net_snmp(tmp_path, "snmpget", "-v2c", "-c", "public", "-Oqv", "-t", "1", "-r", "0",
                                          f"127.0.0.1:{port}", "1.3.6.1.2.1.1.6.0").returncode == 0, 15)
        for i in range(1, 21):
            _cli(datadir, f"snmpconfig setup --location=L{i}; commit snmp change {i}")
            # The daemon applies the commit within its poll; the agent must answer with the new location.
            assert wait_for(lambda: _net_snmp(tmp_path, "snmpget", "-v2c", "-c", "public", "-Oqv", "-t", "1", "-r",
                                              "0", f"127.0.0.1:{port}", "1.3.6.1.2.1.1.6.0").stdout.strip()
                            == f'"L{i}"', 15), (i, _cli(datadir, "status").stdout[-800:])
            walk = _net_snmp(tmp_path, "snmpwalk", "-v2c", "-c", "public", "-On", "-t", "1", "-r", "1",
                             f"127.0.0.1:{port}", "1.3.6.1.2.1.2.2.1.2")  # and an interface walk, as monitors do
            assert walk.returncode == 0 and '"lo"' in walk.stdout, (i, walk.stdout, walk.stderr)
        assert "error" not in _cli(datadir, "status").stdout.split("SNMP agent and traps", 1)[1].split("\n")[0]
        # pysnmp's engine boot counter lives in the data directory, not in /tmp.
        assert list((datadir / "state" / "snmp").glob("__pysnmp/*/boots")), list((datadir / "state").iterdir())
    finally:
        d.stop()


def test_a_traps_sysuptime_is_the_agents_uptime_not_the_sending_engines():
    """The trap engine is rebuilt by every SNMP commit; sysUpTime must still count from the daemon's start."""
    import asyncio

    from asyncos_cli.services.snmp import mib
    from asyncos_cli.services.snmp.trapservice import TrapService

    class Sender:
        version, sent_with = "v2c", None

        async def send(self, trap, varbinds):
            Sender.sent_with = varbinds
            return ["127.0.0.1:162"], []

    service = TrapService(lambda e: None, uptime=lambda: 3 * 86400 + 12.34)
    asyncio.run(service._send(Sender(), "CPUUtilizationExceeded", [(mib.SYS_UPTIME[:-2] + (5, 0), 1)]))
    oid, ticks = Sender.sent_with[0]
    assert oid == mib.SYS_UPTIME and int(ticks) == (3 * 86400 + 12.34) * 100 // 1


def test_generic_interface_and_host_checks_find_the_machine(datadir, tmp_path):
    """IF-MIB, HOST-RESOURCES-MIB, the snmpEngine group and sysORTable, walked by net-snmp as generic monitors do."""
    require_peer("snmpwalk", "snmpbulkwalk")
    port = free_port()
    _cli(datadir, f"snmpconfig setup --enabled=yes --port={port} --v3-level=noAuthNoPriv --v2c=yes "
                  "--community=public; commit snmp")
    d = DaemonProcess(datadir)
    try:
        def walk(oid, tool="snmpwalk"):
            r = _net_snmp(tmp_path, tool, "-v2c", "-c", "public", "-On", "-t", "2", "-r", "1", f"127.0.0.1:{port}",
                          oid)
            assert r.returncode == 0, r.stderr
            return r.stdout

        assert wait_for(lambda: "INTEGER" in walk("1.3.6.1.2.1.2.1"), 15)
        interfaces = walk("1.3.6.1.2.1.2.2.1")
        names = dict(re.findall(r"\.1\.3\.6\.1\.2\.1\.2\.2\.1\.2\.(\d+) = STRING: \"?([^\"\n]+)", interfaces))
        assert "lo" in names.values(), interfaces[:500]
        lo = next(i for i, n in names.items() if n == "lo")
        assert f".1.3.6.1.2.1.2.2.1.8.{lo} = INTEGER: 1" in interfaces  # loopback up (ifOperStatus)
        assert re.search(rf"\.1\.3\.6\.1\.2\.1\.2\.2\.1\.10\.{lo} = Counter32: \d+", interfaces)
        xtable = walk("1.3.6.1.2.1.31.1.1.1", "snmpbulkwalk")
        assert re.search(rf"\.1\.3\.6\.1\.2\.1\.31\.1\.1\.1\.6\.{lo} = Counter64: \d+", xtable)
        host = walk("1.3.6.1.2.1.25")
        assert re.search(r"\.1\.3\.6\.1\.2\.1\.25\.1\.1\.0 = Timeticks:", host)  # hrSystemUptime
        assert re.search(r"\.1\.3\.6\.1\.2\.1\.25\.2\.2\.0 = INTEGER: [1-9]\d*", host)  # hrMemorySize
        assert '"Physical memory"' in host and str(datadir) in host  # hrStorage: RAM and the data directory
        assert re.search(r"\.1\.3\.6\.1\.2\.1\.25\.3\.2\.1\.2\.196608 = OID: \.1\.3\.6\.1\.2\.1\.25\.3\.1\.3", host)
        assert re.search(r"\.1\.3\.6\.1\.2\.1\.25\.3\.3\.1\.2\.196608 = INTEGER: \d+", host)  # hrProcessorLoad
        engine = walk("1.3.6.1.6.3.10.2.1")
        assert re.search(r"\.1\.3\.6\.1\.6\.3\.10\.2\.1\.2\.0 = INTEGER: [1-9]", engine)  # snmpEngineBoots
        sys_or = walk("1.3.6.1.2.1.1.9")
        assert "IF-MIB" in sys_or and "HOST-RESOURCES-MIB" in sys_or
    finally:
        d.stop()


def test_the_shipped_mib_is_a_valid_smiv2_module_with_the_published_types():
    """smilint at level 3 says nothing, pysmi compiles it, and the types and numbers are the published ones."""
    import json

    from pysmi.codegen import JsonCodeGen
    from pysmi.compiler import MibCompiler
    from pysmi.parser import SmiStarParser
    from pysmi.reader import FileReader
    from pysmi.searcher import StubSearcher
    from pysmi.writer import CallbackWriter

    require_peer("smilint")
    ietf = ietf_mib_dir()
    mib_file = os.path.join(MIB_DIR, "ASYNCOS-MAIL-MIB.txt")
    lint = subprocess.run(["smilint", "-l", "3", mib_file], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SMIPATH": str(ietf)})
    assert lint.stdout + lint.stderr == "", lint.stdout + lint.stderr
    out = {}
    compiler = MibCompiler(SmiStarParser(), JsonCodeGen(),
                           CallbackWriter(lambda name, data, _ctx: out.__setitem__(name, json.loads(data))))
    compiler.add_sources(FileReader(MIB_DIR), FileReader(str(ietf)))
    compiler.add_searchers(StubSearcher(*JsonCodeGen.baseMibs))
    assert compiler.compile("ASYNCOS-MAIL-MIB")["ASYNCOS-MAIL-MIB"] == "compiled"
    m = out["ASYNCOS-MAIL-MIB"]
    for name in ("perCentMemoryUtilization", "perCentCPUUtilization", "perCentDiskIOUtilization",
                 "perCentQueueUtilization"):
        assert m[name]["syntax"]["type"] == "Integer32", name
    assert m["keySecondsUntilExpire"]["syntax"]["type"] == "Gauge32"
    assert m["connectionURL"]["oid"] == "1.3.6.1.4.1.15497.1.1.1.21"
    assert m["raidEvents"]["oid"] == "1.3.6.1.4.1.15497.1.1.1.17"
    assert {"asyncOSMailObjectsGroup", "asyncOSMailNotificationsGroup", "asyncOSMailCompliance"} <= set(m)


def test_key_expiration_traps_name_the_row_and_the_exact_seconds():
    from asyncos_cli.events.system import CertificateAdded, CertificateExpiring
    from asyncos_cli.services.snmp import mib
    from asyncos_cli.services.snmp.traps import trap_for

    name, varbinds = trap_for(CertificateExpiring("mail", 3, 3 * 86400 + 125, row=2))
    assert name == "keyExpiration"
    assert [tuple(oid) for oid, _ in varbinds] == [mib.KEY_EXPIRATION_ENTRY + (2, 2), mib.KEY_EXPIRATION_ENTRY + (4, 2)]
    assert str(varbinds[0][1]) == "Certificate: mail" and int(varbinds[1][1]) == 3 * 86400 + 125
    assert int(trap_for(CertificateExpiring("old", -2, -2 * 86400, row=1))[1][1][1]) == 0  # expired: 0, not negative
    assert trap_for(CertificateAdded("new", 86400 * 365, 3))[1][0][0] == mib.KEY_EXPIRATION_ENTRY + (2, 3)


@pytest.mark.parametrize("extension, net_snmp", [("reeder", "AES-256-C"), ("blumenthal", "AES-256"),
                                                 ("reeder", "AES-192-C"), ("blumenthal", "AES-192")])
def test_aes_192_and_256_with_sha1_interoperate_with_net_snmp(datadir, tmp_path, extension, net_snmp):
    """SHA-1 gives 20 bytes, AES-256 needs 32: the key extension decides, and must be net-snmp's choice too."""
    require_peer("snmpget")
    port = free_port()
    protocol = net_snmp.removesuffix("-C")
    for name, text in (("a", "sha1authpass"), ("p", "aesprivpass1")):
        (tmp_path / name).write_text(text + "\n")
    _cli(datadir, f"snmpconfig setup --enabled=yes --port={port} --v3-level=authPriv --auth-protocol=SHA "
                  f"--auth-passphrase-file={tmp_path / 'a'} --priv-protocol={protocol} --key-extension={extension} "
                  f"--priv-passphrase-file={tmp_path / 'p'} --location=Rack9; commit snmp")
    assert ("Reeder's" if extension == "reeder" else "Blumenthal's") in _cli(datadir, "snmpconfig print").stdout
    d = DaemonProcess(datadir)
    try:
        def get(x: str):
            return _net_snmp(tmp_path, "snmpget", "-v3", "-l", "authPriv", "-u", "v3get", "-a", "SHA", "-A",
                             "sha1authpass", "-x", x, "-X", "aesprivpass1", "-Oqv", "-t", "2", "-r", "0",
                             f"127.0.0.1:{port}", "1.3.6.1.2.1.1.6.0")

        assert wait_for(lambda: get(net_snmp).stdout.strip() == '"Rack9"', 15), get(net_snmp).stderr
        other = f"{protocol}-C" if extension == "blumenthal" else protocol
        assert get(other).stdout.strip() != '"Rack9"'  # the other extension gives another key: no answer
    finally:
        d.stop()


def test_walks_at_every_security_level_and_protocol_pair(datadir, tmp_path):
    """net-snmp's snmpwalk and snmpbulkwalk against one agent, re-committed for each level and protocol pair."""
    require_peer("snmpwalk", "snmpbulkwalk")
    port = free_port()
    for name, text in (("a", "walkauthpass1"), ("p", "walkprivpass1")):
        (tmp_path / name).write_text(text + "\n")
    pairs = [("noAuthNoPriv", None, None)]
    pairs += [("authNoPriv", a, None) for a in ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")]
    pairs += [("authPriv", a, p) for a in ("MD5", "SHA", "SHA-256", "SHA-512") for p in ("DES", "AES", "AES-192",
                                                                                          "AES-256")]
    _cli(datadir, f"snmpconfig setup --enabled=yes --port={port} --v3-level=noAuthNoPriv; commit snmp")
    d = DaemonProcess(datadir)
    failures = []
    try:
        for level, auth, priv in pairs:
            options = f"--v3-level={level}"
            argv = ["-v3", "-l", level, "-u", "v3get"]
            if auth:
                options += f" --auth-protocol={auth} --auth-passphrase-file={tmp_path / 'a'}"
                argv += ["-a", auth, "-A", "walkauthpass1"]
            if priv:
                options += f" --priv-protocol={priv} --priv-passphrase-file={tmp_path / 'p'}"
                argv += ["-x", priv + ("-C" if priv in ("AES-192", "AES-256") else ""), "-X", "walkprivpass1"]
            _cli(datadir, f"snmpconfig setup {options}; commit {level} {auth} {priv}")
            for tool in ("snmpwalk", "snmpbulkwalk"):
                def walked():
                    r = _net_snmp(tmp_path, tool, *argv, "-On", "-t", "1", "-r", "1", f"127.0.0.1:{port}",
                                  "1.3.6.1.2.1.1")
                    return r.returncode == 0 and ".1.3.6.1.2.1.1.5.0 = STRING" in r.stdout

                if not wait_for(walked, 10):
                    failures.append((tool, level, auth, priv))
        assert failures == [], failures
    finally:
        d.stop()


def test_features_smart_licensing_adds_or_ends_are_key_expiration_traps():
    """A feature the licensing server adds, and (daily) one within 30 days of its end, become keyExpiration traps
    naming their row after the certificates' rows (#26)."""
    import types

    from asyncos_cli.components.base import Every
    from asyncos_cli.components.monitoring import Monitoring
    from asyncos_cli.services.licensing import Feature
    from asyncos_cli.services.snmp import mib
    from asyncos_cli.services.snmp.traps import trap_for

    now = time.time()
    licensed = [Feature("Email Security Appliance Mail Handling", "In Compliance", None)]
    emitted = []
    m = Monitoring.__new__(Monitoring)
    m._certificates = types.SimpleNamespace(seconds_left=lambda: [("Certificate: demonstration", 10**7)])
    m._licensed, m._bus = (lambda: licensed), types.SimpleNamespace(emit=emitted.append)
    m._features_seen, m._feature_warned = None, Every(86400)
    m.watch_features(now)
    assert emitted == []  # what is there at start is not "added"
    licensed.append(Feature("Email Security Appliance Data Loss Prevention", "In Compliance", now + 5 * 86400))
    m.watch_features(now + 60)
    assert [(e.name, e.seconds_left, e.row, e.expiring) for e in emitted] == [
        ("Email Security Appliance Data Loss Prevention", 5 * 86400 - 60, 3, False)]
    m._feature_warned = Every(86400)  # the next day
    m.watch_features(now + 120)
    assert emitted[-1].expiring and emitted[-1].row == 3
    name, varbinds = trap_for(emitted[-1])
    assert name == "keyExpiration"
    assert [tuple(oid) for oid, _ in varbinds] == [mib.KEY_EXPIRATION_ENTRY + (2, 3), mib.KEY_EXPIRATION_ENTRY + (4, 3)]
    assert str(varbinds[0][1]) == "Feature: Email Security Appliance Data Loss Prevention"


def test_a_cluster_machine_losing_its_store_is_a_connectivity_failure_naming_the_store_not_its_password():
    from asyncos_cli.config.cluster import Membership
    from asyncos_cli.events.system import ConfigStoreUnreachable
    from asyncos_cli.services.snmp import mib
    from asyncos_cli.services.snmp.traps import trap_for

    place = Membership("Lab", "gw1", "postgresql://asyncos:s3cret@db.example.com:5433/cluster").place()
    assert place == "postgresql://db.example.com:5433/cluster"
    name, varbinds = trap_for(ConfigStoreUnreachable(7, "connection refused", place))
    assert name == "connectivityFailure"
    assert [(tuple(oid), str(value)) for oid, value in varbinds] == [(mib.CONNECTION_URL, place)]
