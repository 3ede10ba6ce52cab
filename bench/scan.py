"""The scanning engine's speed: per core, per passphrase trial, and end to end in the relay.

    python bench/scan.py [MESSAGES] [--no-relay]

1. Engine: messages/s on one core over a mixed corpus generated here (plain
   text, HTML with links, PDFs with links, zips of documents, docx, a
   protected zip opened with the second configured passphrase), parsed and
   scanned under a configuration with message filters, URL scanning and
   protected-attachment scanning on.
2. Passphrase trials: the cost of one wrong-passphrase trial per format in
   our engine beside the same trial made with the plain library call
   (msoffcrypto-tool, pyzipper, pikepdf), same files, same run.
3. Relay: end-to-end rate (sender -> MTA -> smtp-sink) of this gateway with
   its default scanning on, Postfix alone, and Postfix with Rspamd as a
   milter (when rspamd is installed: `make bench-peers`), for smtp-source's
   2 KB messages and for the mixed corpus sent by 20 Python sessions.

Needs the test peers (qpdf, zip, 7z, postfix) and root for the Postfix
baseline. Prints figures; asserts nothing.
"""

from __future__ import annotations

import io
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

import corpus  # noqa: E402
from engine_peers import Rspamd  # noqa: E402
from relay import (  # noqa: E402
    POSTFIX_RELAY,
    Sink,
    end_to_end,
    free_port,
    prepare_gateway,
    start_gateway,
)

TMP = Path(tempfile.mkdtemp(prefix="bench-scan-"))


# ---------------------------------------------------------------- the corpus


def mixed_corpus(count: int) -> list[bytes]:
    pdf = corpus.pdf_with_link("Invoice 2026-11: pay at http://pay.example.net/inv", "http://docs.example.net/a")
    docx = corpus.plain_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml":
                             b"<w:document><w:body><w:p><w:r><w:t>Quarterly report, see "
                             b"https://intranet.example.com/q3</w:t></w:r></w:p></w:body></w:document>",
                             "word/_rels/document.xml.rels": b'<Relationships><Relationship Id="r1" '
                             b'Target="https://portal.example.org/x" TargetMode="External"/></Relationships>'})
    archive = corpus.plain_zip({"report.docx": docx, "notes.txt": b"meeting notes " * 50, "scan.pdf": pdf})
    protected = corpus.info_zip({"salary.txt": b"confidential figures " * 20}, "Second-Pass-2", TMP)
    html = ("<html><body><p>Newsletter</p>" + "".join(f'<a href="https://news{i}.example.com/item">item {i}</a>'
                                                       for i in range(10)) + "</body></html>").encode()
    kinds = [
        lambda i: corpus.mail(body="Hello,\n" + "plain text line of a message body\n" * 40,
                              message_id=f"<t{i}@bench>"),
        lambda i: corpus.mail(("news.html", html, "text/html"), message_id=f"<h{i}@bench>"),
        lambda i: corpus.mail(("invoice.pdf", pdf, "application/pdf"), message_id=f"<p{i}@bench>"),
        lambda i: corpus.mail(("bundle.zip", archive, "application/zip"), message_id=f"<z{i}@bench>"),
        lambda i: corpus.mail(("report.docx", docx, "application/octet-stream"), message_id=f"<d{i}@bench>"),
        lambda i: corpus.mail(("salary.zip", protected, "application/zip"), message_id=f"<s{i}@bench>"),
    ]
    weights = [4, 2, 2, 1, 1, 1]  # mostly plain mail, as a real stream is
    order = [k for k, w in zip(kinds, weights) for _ in range(w)]
    return [order[i % len(order)](i) for i in range(count)]


def scanning_config():
    from asyncos_cli.config.schema import (
        Config,
        MessageFilter,
        MessageFiltersSection,
        ProtectedAttachmentsSection,
        ReputationSection,
    )
    from scanning.pipeline import Clients

    config = Config.default()
    config = config.with_section(MessageFiltersSection((
        MessageFilter("sizes", 'sizes: if (attachment-size > 0) { log-entry("$filesizes"); }'),
        MessageFilter("prot", 'prot: if (attachment-protected) { insert-header("X-Protected", "yes"); }'))))
    config = config.with_section(ProtectedAttachmentsSection(inbound=True))
    config = config.with_section(ReputationSection(url_blocked=("evil.example.com",)))
    clients = Clients((("priority 0", "First-Pass-1"), ("priority 1", "Second-Pass-2")))
    return config, clients


def engine_rate(messages: list[bytes]) -> tuple[float, float]:
    from scanning.pipeline import Envelope
    from scanning.worker import scan_message

    config, clients = scanning_config()
    env = Envelope("a@example.org", ("b@example.com",))
    for raw in messages[:20]:
        scan_message(raw, env, config, clients)  # warm the caches (compiled filters, imports)
    start = time.process_time()
    wall = time.perf_counter()
    for raw in messages:
        scan_message(raw, env, config, clients)
    return len(messages) / (time.process_time() - start), len(messages) / (time.perf_counter() - wall)


# ---------------------------------------------------------------- passphrase trials


def per_trial(fn, trials: int) -> float:
    start = time.perf_counter()
    fn(trials)
    return (time.perf_counter() - start) / trials * 1000


def trial_costs() -> list[tuple[str, float, float, str]]:
    import msoffcrypto
    import pikepdf
    import pyzipper
    from msoffcrypto.exceptions import InvalidKeyError

    from scanning.extract import office, pdf
    from scanning.extract.spin import IMPLEMENTATION
    from scanning.extract.unlock import Unlocker
    from scanning.extract.zipfiles import Limits, open_zip

    def wrong(n):
        return Unlocker([(f"priority {i}", f"wrong-{i}") for i in range(n)], 10_000)

    rows = []
    for name, trials in (("example_password.docx", 5), ("ecma376standard_password.docx", 5),
                         ("rc4cryptoapi_password.doc", 200), ("rc4cryptoapi_password.xls", 200),
                         ("rc4cryptoapi_password.ppt", 200)):
        data = (corpus.OFFICE / name).read_bytes()

        def ours(n, data=data):
            try:
                office.unlock(data, wrong(n), 10_000_000)
            except office.OfficeProblem:
                pass

        def library(n, data=data):
            f = msoffcrypto.OfficeFile(io.BytesIO(data))
            for i in range(n):
                try:
                    if getattr(f, "type", None) in ("agile", "standard"):
                        f.load_key(password=f"wrong-{i}", verify_password=True)
                    else:
                        f.load_key(password=f"wrong-{i}")
                except InvalidKeyError:
                    pass

        kind = {"docx": "OOXML agile" if "example" in name else "OOXML standard"}.get(name[-4:], "RC4 CryptoAPI")
        rows.append((f"{name.split('.')[-1]} {kind}", per_trial(ours, trials), per_trial(library, trials),
                     "msoffcrypto-tool" + (f" (our spin loop: {IMPLEMENTATION})" if "agile" in kind else "")))
    for label, data in (("zip ZipCrypto (Info-ZIP)", corpus.info_zip({"a.txt": os.urandom(5000)}, "Right-1", TMP)),
                        ("zip AES-256 (7-Zip)", corpus.seven_zip_aes({"a.txt": os.urandom(5000)}, "Right-1", TMP))):
        def ours(n, data=data):
            open_zip(data, Limits(), wrong(n))

        def library(n, data=data):
            z = pyzipper.AESZipFile(io.BytesIO(data))
            for i in range(n):
                try:
                    z.read("a.txt", pwd=f"wrong-{i}".encode())
                except Exception:  # RuntimeError (bad password), zlib.error or a CRC error
                    pass

        rows.append((label, per_trial(ours, 200), per_trial(library, 200), "pyzipper"))
    plain = corpus.pdf_with_link("text", "http://a.example/")
    for kind in ("aes256", "aes128", "rc4"):
        data = corpus.qpdf_encrypted(plain, "Right-1", kind, TMP)

        def ours(n, data=data):
            try:
                pdf._open(data, wrong(n))
            except pdf.PdfProblem:
                pass

        def library(n, data=data):
            for i in range(n):
                try:
                    pikepdf.open(io.BytesIO(data), password=f"wrong-{i}")
                except pikepdf.PasswordError:
                    pass

        rows.append((f"PDF {kind} (qpdf)", per_trial(ours, 50), per_trial(library, 50), "pikepdf"))
    return rows


# ---------------------------------------------------------------- relay


def send_corpus(port: int, messages: list[bytes], sessions: int = 20) -> None:
    chunks = [messages[i::sessions] for i in range(sessions)]
    errors: list[BaseException] = []

    def client(chunk):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=120) as s:
                for raw in chunk:
                    s.sendmail("bench@example.org", ["user@example.com"], raw)
        except BaseException as e:  # reported after the join
            errors.append(e)

    threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} senders failed; first: {errors[0]!r}")


def corpus_rate(port: int, sink: Sink, messages: list[bytes]) -> float:
    sink.clear()
    start = time.perf_counter()
    send_corpus(port, messages)
    deadline = time.time() + 600
    while sink.count() < len(messages) and time.time() < deadline:
        time.sleep(0.01)
    if sink.count() < len(messages):
        raise RuntimeError(f"only {sink.count()} of {len(messages)} messages reached the sink")
    return len(messages) / (time.perf_counter() - start)


def postfix_rates(sink: Sink, variants, plain_count: int, messages: list[bytes]) -> dict[str, tuple[float, float]]:
    """For each (name, milter or None): a private Postfix relay to the sink, its 2 KB and corpus rates."""
    from relay import run_source

    results = {}
    for name, milter in variants:
        pf_dir = Path(tempfile.mkdtemp(prefix="bench-postfix-"))
        pf_port = free_port()
        subprocess.run(["bash", str(POSTFIX_RELAY), "start", str(pf_dir), str(pf_port), str(sink.port),
                        *([milter] if milter else [])], check=True)
        try:
            run_source(pf_port, 100, 10)
            time.sleep(1)
            results[name] = (end_to_end(pf_port, sink, plain_count, 20), corpus_rate(pf_port, sink, messages))
        finally:
            subprocess.run(["bash", str(POSTFIX_RELAY), "stop", str(pf_dir)], check=False)
            shutil.rmtree(pf_dir, ignore_errors=True)
    return results


def relay_rates(messages: list[bytes], plain_count: int) -> dict[str, tuple[float, float]]:
    from relay import run_source

    sink = Sink()
    results = {}
    port, env, data = prepare_gateway(sink)  # the embedded default: URL scanning of attachments on
    proc = start_gateway(port, env)
    try:
        run_source(port, 100, 10)
        send_corpus(port, messages[:50])
        results["asyncos-cli (default scanning)"] = (end_to_end(port, sink, plain_count, 20),
                                                     corpus_rate(port, sink, messages))
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(data, ignore_errors=True)
    variants = [("postfix", None)]
    rspamd = None
    if shutil.which("rspamd") and shutil.which("dnsmasq"):
        try:
            rspamd = Rspamd()
            variants.append(("postfix + rspamd milter", f"inet:127.0.0.1:{rspamd.milter}"))
        except Exception as e:  # the figure is then missing, and the reason printed
            print(f"rspamd could not start: {e}", file=sys.stderr)
    try:
        results.update(postfix_rates(sink, variants, plain_count, messages))
    finally:
        if rspamd is not None:
            rspamd.close()
        sink.stop()
    return results


def main() -> None:
    argv = [a for a in sys.argv[1:] if not a.startswith("--")]
    count = int(argv[0]) if argv else 600
    messages = mixed_corpus(count)
    cpu, wall = engine_rate(messages)
    kb = sum(map(len, messages)) / len(messages) / 1024
    print(f"Engine: {count} mixed messages (avg {kb:.1f} KB; text, HTML, PDF, zip, docx, protected zip), one core:")
    print(f"  {cpu:8.1f} msg/s per core (CPU time), {wall:8.1f} msg/s wall")
    print("\nOne wrong-passphrase trial, ms (ours vs the plain library call, same file, same run):")
    for label, ours, lib, what in trial_costs():
        print(f"  {label:32} ours {ours:9.3f}   library {lib:9.3f}   ratio {ours / lib:5.2f}x   ({what})")
    if "--no-relay" in sys.argv:
        return
    plain = max(3000, count * 2)  # as bench/relay.py: shorter runs mostly measure the warm-up
    results = relay_rates(messages, plain)
    print(f"\nRelay, end to end to smtp-sink, 20 sessions: {plain} smtp-source 2 KB messages | "
          f"{count} mixed-corpus messages")
    for name, (rate_plain, rate_mixed) in results.items():
        print(f"  {name:32} {rate_plain:8.1f} msg/s | {rate_mixed:8.1f} msg/s")
    ours = results["asyncos-cli (default scanning)"]
    for peer in ("postfix", "postfix + rspamd milter"):
        if peer in results:
            print(f"  ratio to {peer:24} {ours[0] / results[peer][0]:5.2f}x | {ours[1] / results[peer][1]:5.2f}x")
        else:
            print(f"  ratio to {peer:24} not measured (install rspamd and dnsmasq-base: make bench-peers)")
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
