"""SMTP accept throughput with Sender Domain Reputation on (cached, uncached) against SDR off, in one run.

    python bench/reputation.py [MESSAGES] [SESSIONS]

The gateway asks a real DNS list (dnsmasq on a free port, serving a DBL-style
zone) for every envelope sender's domain at MAIL FROM. "Uncached" sets the
verdict cache to 0 s, so every MAIL FROM makes a DNS query; "cached" keeps
verdicts 300 s. The rate is smtp-source's: MESSAGES messages over SESSIONS
sessions, accepted (250 after DATA) per second. Prints figures; asserts nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from relay import CLI, Sink, free_port, prepare_gateway, run_source, start_gateway  # noqa: E402


def accept_rate(port: int, messages: int, sessions: int) -> float:
    start = time.perf_counter()
    run_source(port, messages, sessions)
    return messages / (time.perf_counter() - start)


def main() -> None:
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    sessions = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    for tool in ("smtp-source", "smtp-sink", "dnsmasq"):
        if shutil.which(tool) is None:
            sys.exit(f"bench/reputation.py needs {tool} (make peers)")
    folder = Path(tempfile.mkdtemp(prefix="bench-rep-"))
    dns_port = free_port()
    dns = subprocess.Popen(["dnsmasq", "--no-resolv", "--no-hosts", "--keep-in-foreground", f"--port={dns_port}",
                            "--listen-address=127.0.0.1", "--bind-interfaces", "--user=root", "--local=/dbl.test/",
                            "--address=/awful.example.dbl.test/127.0.1.4", f"--pid-file={folder / 'dns.pid'}"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sink = Sink()
    port, env, data = prepare_gateway(sink)
    subprocess.run([*CLI, "-c", f"reputationconfig provider new dbl --kind=domain --type=dns --zone=dbl.test "
                                f"--resolver=127.0.0.1:{dns_port}; commit dbl"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    results = {}
    try:
        for label, line in (("SDR off", "sdrconfig domainreputation disable"),
                            ("SDR on, uncached", "sdrconfig domainreputation enable; sdrconfig advanced --cache=0"),
                            ("SDR on, cached", "sdrconfig advanced --cache=300")):
            subprocess.run([*CLI, "-c", f"{line}; commit {label}"], env=env, check=True, stdout=subprocess.DEVNULL)
            proc = start_gateway(port, env)
            try:
                run_source(port, 200, 10)  # warm up (and fill the cache when it keeps verdicts)
                results[label] = accept_rate(port, messages, sessions)
            finally:
                proc.terminate()
                proc.wait()
    finally:
        dns.terminate()
        dns.wait()
        sink.stop()
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    base = results["SDR off"]
    print(f"smtp-source: {messages} messages of 2 KB over {sessions} sessions, sender bench@example.org; "
          "SDR asks a DNS list served by dnsmasq")
    for label, rate in results.items():
        print(f"  {label:18} {rate:8.1f} msg/s accepted   {rate / base:5.2f}x of SDR off")
    print(f"cost of cached SDR: {100 * (1 - results['SDR on, cached'] / base):.1f}% (target <= 10%)")


if __name__ == "__main__":
    main()
