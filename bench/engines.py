"""The threat engines' cost: per-engine scan latency, and the relay's rate with all engines on beside Postfix.

    python bench/engines.py [MESSAGES]

Peers (the same as the tests): clamd with a test-written signature database,
Rspamd with a private local configuration and a NXDOMAIN resolver, and an
HTTPS file reputation service (tests/engine_peers.py).

1. Per engine: the gateway's own clients (services/engines) over the mixed
   corpus of bench/scan.py, one message at a time: clamd INSTREAM of the
   whole message, Rspamd /checkv2, a file reputation lookup (uncached: every
   lookup has a new SHA-256). p50 and p99 in ms.
2. Relay: smtp-source's 2 KB messages (20 sessions) and the mixed corpus,
   end to end (sender -> MTA -> smtp-sink), for this gateway with anti-virus,
   anti-spam and file reputation on, for Postfix alone and for Postfix with
   Rspamd as a milter doing anti-spam and, through its antivirus module, ClamAV
   (the same clamd), in the same run. The gateway's own p50/p99 per engine
   under that load come from `status`.

Needs `make bench-peers` (postfix, clamav-daemon, rspamd, dnsmasq) and root.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

import pki  # noqa: E402
from engine_peers import Clamd, ReputationService, Rspamd  # noqa: E402
from relay import CLI, Sink, end_to_end, pct, prepare_gateway, run_source, start_gateway  # noqa: E402
from scan import corpus_rate, mixed_corpus, postfix_rates  # noqa: E402

#: The baseline: Postfix with Rspamd as a milter doing anti-spam and, through its antivirus module, ClamAV.
MILTER = "postfix + rspamd milter, AS + AV"


def engine_latencies(messages: list[bytes], clamd: Clamd, rspamd: Rspamd, service: ReputationService,
                     ca: Path) -> dict[str, list[float]]:
    from asyncos_cli.config.schema import Config
    from asyncos_cli.services.engines import clamd as clamd_client
    from asyncos_cli.services.engines import rspamd as rspamd_client
    from asyncos_cli.services.engines.filerep import FileReputationClient

    config = Config.default()
    config = config.with_section(config.file_reputation.replace(enabled=True, url=service.url, cache_seconds=0))
    filerep = FileReputationClient(config, None, str(ca), lambda *a, **k: None)
    out: dict[str, list[float]] = {"antivirus (clamd INSTREAM)": [], "antispam (Rspamd /checkv2)": [],
                                   "file reputation (HTTPS lookup)": []}

    async def run():
        for i, raw in enumerate(messages):
            t = time.perf_counter()
            await clamd_client.scan(clamd.endpoint, raw, 30)
            out["antivirus (clamd INSTREAM)"].append(time.perf_counter() - t)
            t = time.perf_counter()
            await rspamd_client.check(rspamd.url, raw, {"From": "bench@example.org", "Rcpt": ["user@example.com"],
                                                        "IP": "192.0.2.1"}, 30)
            out["antispam (Rspamd /checkv2)"].append(time.perf_counter() - t)
            sha = hashlib.sha256(b"%d" % i + raw[:64]).hexdigest()
            t = time.perf_counter()
            await filerep.lookup(i, [{"name": "f.exe", "sha256": sha, "type": "exe", "size": 10}])
            out["file reputation (HTTPS lookup)"].append(time.perf_counter() - t)

    asyncio.run(run())
    filerep.close()
    return out


def engines_gateway(sink: Sink, clamd: Clamd, rspamd: Rspamd, service: ReputationService, ca: Path):
    port, env, data = prepare_gateway(sink)
    subprocess.run([*CLI, "-c", f"certconfig certauthority custom import benchca {ca}; "
                                f"antivirusconfig setup --enabled=yes --clamd={clamd.endpoint}; "
                                f"antispamconfig setup --enabled=yes --url={rspamd.url}; "
                                f"ampconfig setup --enabled=yes --url={service.url}; commit engines"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return port, env, data


def main() -> None:
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for tool in ("smtp-source", "smtp-sink", "postfix", "clamd", "rspamd", "dnsmasq"):
        if shutil.which(tool) is None:
            sys.exit(f"bench/engines.py needs {tool} (make bench-peers)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-engines-"))
    root = pki.ca()
    ca = tmp / "ca.pem"
    ca.write_text(root.cert_pem)
    clamd, rspamd = Clamd(tmp / "clamd"), Rspamd()
    milter_rspamd = None
    service = ReputationService(pki.leaf(root, cn="127.0.0.1", sans=("127.0.0.1",)), tmp)
    corpus = mixed_corpus(300)
    sink = Sink()
    rates: dict[str, tuple[float, float]] = {}
    try:
        lat = engine_latencies(corpus, clamd, rspamd, service, ca)
        port, env, data = engines_gateway(sink, clamd, rspamd, service, ca)
        proc = start_gateway(port, env)
        try:
            run_source(port, 100, 10)
            time.sleep(1)
            rates["asyncos-cli, AV + AS + AMP on"] = (end_to_end(port, sink, messages, 20),
                                                      corpus_rate(port, sink, corpus))
            from asyncos_cli.control.client import request

            status = request(Path(env["ASYNCOS_DATA"]) / "run" / "control.sock", "status")
        finally:
            proc.terminate()
            proc.wait()
            shutil.rmtree(data, ignore_errors=True)
        # The baseline does what the gateway does: anti-spam, and anti-virus through Rspamd's antivirus module
        # asking the same clamd (its own Rspamd, so the gateway's anti-spam never ran that module).
        milter_rspamd = Rspamd(clamd=clamd.endpoint)
        rates.update(postfix_rates(sink, (("postfix", None),
                                          (MILTER, f"inet:127.0.0.1:{milter_rspamd.milter}")),
                                   messages, corpus))
    finally:
        sink.stop()
        clamd.close()
        rspamd.close()
        if milter_rspamd is not None:
            milter_rspamd.close()
        service.close()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"Per-engine scan latency, the gateway's clients, {len(corpus)} mixed messages one at a time:")
    for name, values in lat.items():
        print(f"  {name:34} p50 {pct(values, 50):7.2f} ms   p99 {pct(values, 99):7.2f} ms")
    engines = status.get("engines", {})
    if engines:
        print("Inside the gateway under the relay load (status):")
        for name, e in engines.items():
            print(f"  {name:34} p50 {e['p50_ms']} ms   p99 {e['p99_ms']} ms   verdicts {e['verdicts']}")
    print(f"\nRelay end to end: {messages} smtp-source messages of 2 KB (20 sessions); "
          f"{len(corpus)} mixed-corpus messages (20 sessions)")
    for name, (plain, mixed) in rates.items():
        print(f"  {name:42} {plain:8.1f} msg/s 2 KB   {mixed:8.1f} msg/s mixed")
    ours = rates["asyncos-cli, AV + AS + AMP on"]
    for peer in ("postfix", MILTER):
        print(f"  ratio to {peer:33} {ours[0] / rates[peer][0]:.2f}x (2 KB)   {ours[1] / rates[peer][1]:.2f}x (mixed)")


if __name__ == "__main__":
    main()
