"""The hostile set, and a measurement of one sample in a fresh process (used by a test and bench/hostile.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import corpus

HERE = Path(__file__).parent


def samples(tmp: Path) -> dict[str, bytes]:
    """name -> a whole message carrying one hostile attachment (or being hostile itself)."""
    att = {
        "overlapping zip bomb": ("bomb.zip", corpus.overlapping_bomb()),
        "ratio zip bomb": ("ratio.zip", corpus.plain_zip({"zeros.bin": b"\x00" * 20_000_000})),
        "recursive nesting (12 levels)": ("deep.zip", corpus.nested_zip(12)),
        "zip-slip names": ("slip.zip", corpus.plain_zip({"../../etc/cron.d/evil": b"x", "/abs/path": b"y"})),
        "many members": ("many.zip", corpus.plain_zip({f"f{i}.txt": b"x" for i in range(5000)})),
        "truncated PDF": ("cut.pdf", corpus.pdf_with_link("cut", "http://a.example/")[:300]),
        "truncated docx": ("cut.docx", (corpus.OFFICE / "example_password.docx").read_bytes()[:5000]),
        "truncated xls": ("cut.xls", (corpus.OFFICE / "rc4cryptoapi_password.xls").read_bytes()[:3000]),
        "Office, ten million spins": ("spins.docx", corpus.many_spins_docx()),
        "8 MB of text": ("big.txt", ("é" * 4_000_000).encode("utf-8")),
        "42.zip-style layers (128 MB)": ("layers.zip", layered_bomb()),
        "gzip bomb": ("zeros.gz", __import__("gzip").compress(bytes(200_000_000), 9)),
        "RAR archive": ("invoice.rar", b"Rar!\x1a\x07\x01\x00" + bytes(64)),
    }
    out = {label: corpus.mail((name, data, "application/octet-stream")) for label, (name, data) in att.items()}
    out["malformed MIME"] = (b"From: a@b\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"q\"\r\n\r\n"
                             + b"--q\r\nContent-Type: multipart/mixed; boundary=\"q\"\r\n\r\n" * 2000)
    return out


def layered_bomb() -> bytes:
    """42.zip's trick within the per-archive bounds: a 5 MB archive of two archives, each of sixteen 4 MB members
    that compress 27:1 (under the ratio bound), each archive expanding to exactly 64 MB (the default bound):
    128 MB in all if the bound were per archive."""
    import io
    import random
    import zipfile

    rng = random.Random(1)
    member = b"".join(rng.randbytes(3) + bytes(125) for _ in range(8192)) * 4

    def zipped(members: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in members.items():
                z.writestr(name, data)
        return buf.getvalue()

    level1 = zipped({f"part{i}.bin": member for i in range(16)})
    return zipped({f"l1-{i}.zip": level1 for i in range(2)})


def measure(raw: bytes, **scanning) -> dict:
    """Parse and scan one message in a fresh Python process: seconds, peak memory above the baseline, verdicts.

    ``scanning``: scanconfig settings other than the defaults (ScanningSection's fields)."""
    code = r"""
import json, resource, sys, time
from asyncos_cli.config.schema import Config, ProtectedAttachmentsSection, ScanningSection
from scanning.pipeline import Clients, Envelope
from scanning.worker import scan_message
config = Config.default().with_section(ProtectedAttachmentsSection(inbound=True))
config = config.with_section(ScanningSection(**json.loads(sys.argv[1])))
clients = Clients((("priority 0", "Password1234_"),))
env = Envelope("a@example.org", ("b@example.com",))
warm = b"From: a@b\r\nSubject: w\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n"
scan_message(warm, env, config, clients)
raw = sys.stdin.buffer.read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
out = scan_message(raw, env, config, clients)
elapsed = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
stages = [(s.stage, s.verdict, s.detail) for s in out[0].stages if s.verdict in ("UNSCANNABLE", "MALFORMED",
                                                                                  "FLAGGED")]
print(json.dumps({"seconds": elapsed, "mb": (peak - base) / 1024, "stages": stages}))
"""
    r = subprocess.run([sys.executable, "-c", code, json.dumps(scanning)], input=raw, capture_output=True, timeout=120,
                       cwd=HERE.parent)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.decode()[-2000:])
    return json.loads(r.stdout)
