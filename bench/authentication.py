"""Relay rate with SPF, DKIM and DMARC verification on, beside the same gateway with them off, in one run.

    python bench/authentication.py [MESSAGES] [SESSIONS] [--rounds=N]

Both gateways run side by side and relay to one smtp-sink; the loads alternate between them, N rounds (5 by
default, the order swapped each round), and the medians are reported with each round's ratio: one round's rate
moves by 10-25% on this shared machine, which a single off/on pair cannot tell from a difference.

The "on" gateway's ACCEPTED policy has --spf=on --dkim-verify=yes --dmarc-verify=yes and its resolver is a
dnsmasq serving the sender domain's SPF, DKIM key and DMARC records (answers cached by the gateway for their TTL, as in production). Two loads, both from smtp-source: its own
unsigned messages (SPF and DMARC on every one, DKIM finds no signature), and one message DKIM-signed with
RSA 2048 sent with -F (every signature verified). Prints both rates and the ratio; asserts nothing. Issue #30 asks
for at least 0.9x.

Beside the rates it prints where each gateway's CPU went per message (its event loop's thread, its other threads,
its child processes: the DKIM verifier), and the whole machine's busy time per message: on this shared machine
those move far less from run to run than the rates do.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import relay as base  # noqa: E402

from scanning import dkim  # noqa: E402


def dnsmasq(records: dict[str, str], folder: Path) -> tuple[subprocess.Popen, int]:
    port = base.free_port()
    args = ["dnsmasq", "--no-resolv", "--no-hosts", "--keep-in-foreground", f"--port={port}",
            "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root", "--local=/example/",
            "--local-ttl=300",  # as published records carry a TTL (dnsmasq's own default is 0)
            f"--pid-file={folder / 'dnsmasq.pid'}"]
    for name, text in records.items():
        args.append(f"--txt-record={name}," + ",".join(text[i:i + 250] for i in range(0, len(text), 250)))
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    return proc, port


def signed_rate(port: int, sink: base.Sink, message: bytes, messages: int, sessions: int) -> float:
    """smtp-source sending ``message`` (its -F file: lines end in LF there, CRLF on the wire) end to end."""
    folder = Path(base.tempfile.mkdtemp(prefix="bench-auth-msg-"))
    try:
        path = folder / "signed.eml"
        path.write_bytes(message.replace(b"\r\n", b"\n"))
        sink.clear()
        start = time.perf_counter()
        subprocess.run(["smtp-source", "-s", str(sessions), "-m", str(messages), "-F", str(path),
                        "-f", "bench@example.org", "-t", "user@example.com", f"127.0.0.1:{port}"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while sink.count() < messages and time.perf_counter() - start < 600:
            time.sleep(0.01)
        if sink.count() < messages:
            raise RuntimeError(f"only {sink.count()} of {messages} signed messages reached the sink")
        return messages / (time.perf_counter() - start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def prepared(sink, verify: bool, dns_port: int):
    """A gateway (verification on or off), warmed up: (port, process, data folder)."""
    port, env, data = base.prepare_gateway(sink)
    if verify:
        subprocess.run([*base.CLI, "-c", f"dnsconfig setup --servers=127.0.0.1:{dns_port}; listenerconfig hostaccess "
                        "policy ACCEPTED --spf=on --dkim-verify=yes --dmarc-verify=yes; commit verify"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
    proc = base.start_gateway(port, env)
    base.run_source(port, 100, 10)  # warm up (and fill the DNS cache)
    return port, proc, data


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(stat_path: str) -> float:
    fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def cpu_snapshot(pid: int) -> tuple[float, float, float, float]:
    """(the loop's thread, the whole process, its children, the machine's busy time), in CPU seconds."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    kids = 0.0
    for child in children:
        try:
            kids += _cpu_seconds(f"/proc/{child}/stat")
        except (FileNotFoundError, ProcessLookupError):
            pass  # it ended between the two reads
    total = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = (sum(total) - total[3] - total[4]) / _TICK  # all but idle and iowait
    return _cpu_seconds(f"/proc/{pid}/task/{pid}/stat"), _cpu_seconds(f"/proc/{pid}/stat"), kids, busy


def checks(data: Path) -> dict:
    log = "".join(p.read_text(errors="replace") for p in (data / "var" / "logs" / "mail_logs").glob("mail.*"))
    return {"spf": log.count("SPF: mailfrom identity bench@example.org Pass"),
            "dkim": log.count("DKIM: pass signature verified"), "dmarc": log.count("DMARC pass")}


def main() -> None:
    argv = [a for a in sys.argv[1:] if not a.startswith("--")]
    rounds = next((int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--rounds=")), 5)
    messages = int(argv[0]) if argv else 2000
    sessions = int(argv[1]) if len(argv) > 1 else 20
    for tool in ("smtp-source", "smtp-sink", "dnsmasq"):
        if shutil.which(tool) is None:
            sys.exit(f"bench/authentication.py needs {tool}")
    key = dkim.generate("rsa", 2048)
    body = ("From: Bench <bench@example.org>\r\nTo: user@example.com\r\nSubject: signed\r\n"
            "Date: Sat, 05 Dec 2026 10:00:00 +0000\r\nMessage-ID: <bench@example.org>\r\n\r\n"
            + ("x" * 78 + "\r\n") * 25).encode()
    signed = dkim.sign(body, "example.org", "bench", "rsa", key, ("From", "To", "Subject", "Date", "Message-ID"),
                       "relaxed/relaxed") + body
    folder = Path(base.tempfile.mkdtemp(prefix="bench-auth-"))
    records = {"example.org": "v=spf1 ip4:127.0.0.0/8 -all",
               "bench._domainkey.example.org": dkim.public_record("rsa", key),
               "_dmarc.example.org": "v=DMARC1; p=reject"}
    dns, dns_port = dnsmasq(records, folder)
    sink = base.Sink()
    gateways = {}
    rates: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[tuple[float, ...]]] = {}
    try:  # every peer stops, also when a run fails
        for name, verify in (("off", False), ("on", True)):
            gateways[name] = prepared(sink, verify, dns_port)
        for r in range(rounds):
            for load in ("unsigned", "signed"):
                for name in (("off", "on") if r % 2 == 0 else ("on", "off")):
                    port, proc = gateways[name][0], gateways[name][1]
                    before = cpu_snapshot(proc.pid)
                    rate = base.end_to_end(port, sink, messages, sessions) if load == "unsigned" else \
                        signed_rate(port, sink, signed, messages, sessions)
                    after = cpu_snapshot(proc.pid)
                    main_, process, kids, busy = ((b - a) * 1000 / messages for a, b in zip(before, after))
                    cpu.setdefault((name, load), []).append((main_, process - main_, kids, busy))
                    rates.setdefault((name, load), []).append(rate)
        logged = checks(gateways["on"][2])
    finally:
        for port, proc, data in gateways.values():
            proc.terminate()
            proc.wait()
            shutil.rmtree(data, ignore_errors=True)
        sink.stop()
        dns.terminate()
        dns.wait()
        shutil.rmtree(folder, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in rates.items()}
    each = {load: [on / off for on, off in zip(rates[("on", load)], rates[("off", load)])]
            for load in ("unsigned", "signed")}
    ratios = {load: statistics.median(values) for load, values in each.items()}
    print(f"{messages} messages, {sessions} sessions, {rounds} rounds alternating, to one smtp-sink; "
          "DNS answers from dnsmasq, cached by the gateway")
    for name in ("off", "on"):
        print(f"verification {name + ':':4} unsigned {med[(name, 'unsigned')]:8.1f} msg/s   DKIM-signed "
              f"{med[(name, 'signed')]:8.1f} msg/s   (medians; each round: "
              + ", ".join(f"{a:.0f}/{b:.0f}" for a, b in zip(rates[(name, "unsigned")], rates[(name, "signed")])) + ")")
    print("CPU per message, ms (medians): the loop's thread + other threads + child processes; whole machine busy")
    for load in ("unsigned", "signed"):
        for name in ("off", "on"):
            m = [statistics.median(row[i] for row in cpu[(name, load)]) for i in range(4)]
            print(f"  {load:8} verification {name + ':':4} {m[0]:.3f} + {m[1]:.3f} + {m[2]:.3f}; machine {m[3]:.3f}")
    print(f"log of the 'on' gateway: {logged['spf']} SPF pass, {logged['dkim']} DKIM pass, "
          f"{logged['dmarc']} DMARC pass")
    print(f"ratio on/off (median of the rounds): unsigned {ratios['unsigned']:.2f}x, DKIM-signed "
          f"{ratios['signed']:.2f}x (issue #30: >= 0.9x); each round: unsigned "
          + " ".join(f"{x:.2f}" for x in each["unsigned"]) + ", signed " + " ".join(f"{x:.2f}" for x in each["signed"]))


if __name__ == "__main__":
    main()
