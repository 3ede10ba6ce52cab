"""The SNMP agent and traps beside net-snmp's own snmpd and snmptrap, same client, same run.

    python bench/snmp.py [WALKS]

Agents: this gateway's (pysnmp, answered from the daemon's live readings)
and net-snmp's snmpd on a private configuration. The client is net-snmp's
snmpwalk (GETNEXT) and snmpbulkwalk (GETBULK) over the standard system group,
which both agents serve, in v2c and in SNMPv3 authPriv (SHA-256/AES-256);
WALKS walks each (default 100), milliseconds per walk, process start
included for both. Traps: 200 v3 authPriv traps from the gateway's
TrapSender to snmptrapd, against 200 from net-snmp's snmptrap command.
Needs `make bench-peers` (snmpd, snmp, snmptrapd). Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ENGINE = "0x8000000001020304"
OTHER_ENGINE = "0x8000000001020305"
AUTH, PRIV = "benchauthpass", "benchprivpass"


def free_port(kind=socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(env, line):
    r = subprocess.run([sys.executable, "-m", "asyncos_cli", "-c", line], env=env, cwd=ROOT, capture_output=True,
                       text=True)
    if r.returncode:
        raise SystemExit(f"{line}: {r.stderr}")


def walk_ms(env, tool, auth, port, walks) -> float:
    times = []
    for _ in range(walks):
        t = time.perf_counter()
        r = subprocess.run([tool, *auth, "-On", f"127.0.0.1:{port}", "1.3.6.1.2.1.1"], env=env, capture_output=True,
                           text=True)
        times.append((time.perf_counter() - t) * 1000)
        if r.returncode or r.stdout.count("\n") < 7:
            raise SystemExit(f"{tool} on port {port} failed: {r.stdout} {r.stderr}")
    return statistics.median(times)


def main() -> None:
    walks = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    work = Path(tempfile.mkdtemp(prefix="bench-snmp-"))
    net_env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(work / "client")}
    env = {**os.environ, "ASYNCOS_DATA": str(work / "var"), "PYTHONPATH": str(ROOT)}
    (work / "pw").write_text("Bench-Pass-9x\n")
    (work / "a").write_text(AUTH + "\n")
    (work / "p").write_text(PRIV + "\n")
    ours, theirs, trap_port = free_port(), free_port(), free_port()
    subprocess.run([sys.executable, "-m", "asyncos_cli", "init", f"--admin-passphrase-file={work / 'pw'}"], env=env,
                   cwd=ROOT, check=True, capture_output=True)
    cli(env, f"sshconfig setup --enabled=no; listenerconfig edit IncomingMail --port={free_port(socket.SOCK_STREAM)}; "
             f"listenerconfig edit OutgoingMail --port={free_port(socket.SOCK_STREAM)}; "
             f"snmpconfig setup --enabled=yes --port={ours} --v3-user=benchuser --v3-level=authPriv "
             f"--auth-protocol=SHA-256 --auth-passphrase-file={work / 'a'} --priv-protocol=AES-256 "
             f"--priv-passphrase-file={work / 'p'} --engine-id={ENGINE} --v2c=yes --community=public; commit")
    gateway = subprocess.Popen([sys.executable, "-m", "asyncos_cli", "serve"], env=env, cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (work / "snmpd").mkdir()
    (work / "snmpd.conf").write_text(
        f"[snmp] persistentDir {work / 'snmpd'}\nrocommunity public 127.0.0.1\n"
        f"createUser benchuser SHA-256 {AUTH} AES-256 {PRIV}\nrouser benchuser priv\n")
    snmpd = subprocess.Popen(["snmpd", "-f", "-C", "-c", str(work / "snmpd.conf"), "-Lf", str(work / "snmpd.log"),
                              f"udp:127.0.0.1:{theirs}"], env=net_env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    (work / "trapd").mkdir()
    (work / "trapd.conf").write_text(
        f"[snmp] persistentDir {work / 'trapd'}\ncreateUser -e {ENGINE} benchuser SHA-256 {AUTH} AES-256 {PRIV}\n"
        # snmptrap gets its own engine ID: the receiver keeps each engine's boots and time, and a second
        # sender under the gateway's ID would fall outside that time window.
        f"createUser -e {OTHER_ENGINE} benchuser SHA-256 {AUTH} AES-256 {PRIV}\n"
        "authUser log benchuser priv\n")
    trapd = subprocess.Popen(["snmptrapd", "-f", "-C", "-c", str(work / "trapd.conf"), "-Lf", str(work / "trapd.log"),
                              "-n", "-On", f"udp:127.0.0.1:{trap_port}"], env=net_env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)
        v2c = ["-v2c", "-c", "public"]
        v3 = ["-v3", "-l", "authPriv", "-u", "benchuser", "-a", "SHA-256", "-A", AUTH, "-x", "AES-256", "-X", PRIV]
        print(f"median ms per walk of the system group ({walks} walks each; process start included):")
        for tool in ("snmpwalk", "snmpbulkwalk"):
            for name, auth in (("v2c", v2c), ("v3 authPriv", v3)):
                a, b = walk_ms(net_env, tool, auth, ours, walks), walk_ms(net_env, tool, auth, theirs, walks)
                print(f"  {tool:<13}{name:<13} gateway {a:6.2f}   net-snmp snmpd {b:6.2f}   ratio {a / b:4.2f}x")
        traps(work, net_env, trap_port)
    finally:
        for p in (gateway, snmpd, trapd):
            p.terminate()
            p.wait(10)


def traps(work, net_env, port, count=200) -> None:
    from pysnmp.proto.api import v2c

    from asyncos_cli.config.schema import SnmpSection
    from asyncos_cli.config.secrets import Keyring
    from asyncos_cli.services.snmp import mib
    from asyncos_cli.services.snmp.traps import TrapSender

    keyring = Keyring.create(work / "bench.key")
    s = SnmpSection(enabled=True, v3_user="benchuser", v3_level="authPriv", auth_protocol="SHA-256",
                    auth_passphrase=keyring.seal(AUTH), priv_protocol="AES-256", priv_passphrase=keyring.seal(PRIV),
                    engine_id=ENGINE, trap_targets=(f"127.0.0.1:{port}",))

    async def ours():
        sender = TrapSender(s, keyring, "")
        times = []
        for i in range(count):
            t = time.perf_counter()
            await sender.send("CPUUtilizationExceeded", [(mib.scalar("perCentCPUUtilization"), v2c.Gauge32(i))])
            times.append((time.perf_counter() - t) * 1000)
        sender.close()
        return times

    times = asyncio.run(ours())
    theirs = []
    for i in range(count):
        t = time.perf_counter()
        subprocess.run(["snmptrap", "-v3", "-e", OTHER_ENGINE, "-u", "benchuser", "-l", "authPriv", "-a", "SHA-256", "-A",
                        AUTH, "-x", "AES-256", "-X", PRIV, f"udp:127.0.0.1:{port}", "",
                        ".1.3.6.1.4.1.15497.1.1.2.10", "1.3.6.1.4.1.15497.1.1.1.2.0", "u", str(1000 + i)],
                       env=net_env, capture_output=True)
        theirs.append((time.perf_counter() - t) * 1000)
    time.sleep(1)
    log = (work / "trapd.log").read_text()
    import re

    values = [int(v) for v in re.findall(r"15497\.1\.1\.1\.2\.0 = \w+: (\d+)", log)]
    got_ours = sum(v < count for v in values)
    got_theirs = sum(1000 <= v < 1000 + count for v in values)
    print(f"v3 authPriv traps, {count} each: gateway sender p50 {statistics.median(times):.2f} ms "
          f"(first {times[0]:.1f} ms), p99 {sorted(times)[int(count * 0.99) - 1]:.2f} ms, received {got_ours}; "
          f"net-snmp snmptrap command p50 {statistics.median(theirs):.2f} ms (process start included), "
          f"received {got_theirs}")


if __name__ == "__main__":
    main()
