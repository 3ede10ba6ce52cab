"""DLP classifiers: precision and recall per classifier on the labelled corpus, throughput per core,
and python-stdnum's validators over the same corpus as the reference for correctness.

    python bench/dlp.py [MEGABYTES]

The corpus is tests/dlp_corpus.py (built from the reference note's rules,
not from the classifiers). Throughput is CPU time on one core for all six
classifiers together, on mail-like text with no IDs (and digit-heavy text),
and on records dense with candidates (an ID-shaped value in every line). Prints figures; asserts nothing.
"""

from __future__ import annotations

import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import dlp_corpus  # noqa: E402

from scanning.dlp.classifiers import KEYS, scan  # noqa: E402
from scanning.dlp.keywords import IMPLEMENTATION  # noqa: E402


def rate(text: str, rounds: int = 1) -> float:
    start = time.process_time()
    for _ in range(rounds):
        scan(text)
    return len(text.encode("utf-8")) * rounds / (time.process_time() - start) / 1e6


def prose(megabytes: float, digit_lines: float) -> str:
    """Mail-like text with no IDs: ``digit_lines`` of the lines carry a date, an amount and a phone number."""
    rng = random.Random(3)
    words = ("the quarterly report is attached please review the figures before the meeting on "
             "invoice order total shipping customer account balance due kind regards thank you "
             "ขอบคุณ terima kasih salamat dokumen laporan").split()
    out, size = [], 0
    while size < megabytes * 1e6:
        line = " ".join(rng.choice(words) for _ in range(12))
        if rng.random() < digit_lines:
            line += f" {rng.randint(1, 28)}/{rng.randint(1, 12)}/2026 total {rng.randint(10, 9999)}.{rng.randint(0, 99):02d}"
            line += f" call +66 8{rng.randint(1, 9)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}."
        out.append(line + "\n")
        size += len(line) + 1
    return "".join(out)


def records(cases, megabytes: float) -> str:
    """CSV-like records, each line with a name, a date, an amount and one ID-shaped value (valid, near miss
    or trap, from the corpus) and its label: text dense with candidates."""
    rng = random.Random(5)
    items = [c.text.split("\n")[1] for c in cases]  # the line holding the item, with its keyword or context
    out, size, i = [], 0, 0
    while size < megabytes * 1e6:
        line = (f"{rng.choice(['Ana', 'Budi', 'Chai', 'Dewi', 'Eko', 'Faridah'])} {rng.randint(1, 28)}/"
                f"{rng.randint(1, 12)}/2026, {rng.randint(10, 999)}.{rng.randint(0, 99):02d}, {items[i % len(items)]}\n")
        out.append(line)
        size += len(line)
        i += 1
    return "".join(out)


def candidates(megabytes: float, per_line: int) -> str:
    """Text dense with candidates: ``per_line`` random ID-shaped values (13, 12 and 16 digits, bare and
    grouped, NRIC-shaped tokens) in every line of mail-like text: shapes the classifiers must examine."""
    rng = random.Random(9)

    def digits(n):
        return "".join(str(rng.randrange(10)) for _ in range(n))

    def candidate():
        t, m = digits(13), digits(12)
        return rng.choice([t, f"{m[:6]}-{m[6:8]}-{m[8:]}", digits(16),
                           f"{rng.choice('STFGM')}{digits(7)}{rng.choice('ABCDEFGHIJKLMNOPQRSTUVWXYZ')}",
                           f"{t[0]}-{t[1:5]}-{t[5:10]}-{t[10:12]}-{t[12]}", f"{m[:4]}-{m[4:11]}-{m[11]}"])

    out, size = [], 0
    while size < megabytes * 1e6:
        words = "please review the record of the customer below before the end of the week".split()
        line = " ".join(rng.sample(words, 9)) + ": " + " | ".join(candidate() for _ in range(per_line)) + "\n"
        out.append(line)
        size += len(line)
    return "".join(out)


def stdnum_scores(cases) -> dict[str, tuple[float, float, int]]:
    """python-stdnum's validators as a reference: run on every corpus item of the right length."""
    from stdnum.id import nik
    from stdnum.my import nric
    from stdnum.th import pin

    validators = {"th-id": (pin.is_valid, 13), "my-mykad": (nric.is_valid, 12), "id-ktp": (nik.is_valid, 16)}
    out = {}
    for key, (valid, length) in validators.items():
        tp = fp = fn = 0
        for case in cases:
            digits = re.sub(r"\D", "", case.item)
            if len(digits) != length:
                continue
            said = valid(digits)
            if case.label == key and said:
                tp += 1
            elif case.label == key:
                fn += 1
            elif said:
                fp += 1
        out[key] = (tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0, tp + fn)
    return out


def main() -> None:
    megabytes = float(sys.argv[1]) if len(sys.argv) > 1 else 20
    cases = dlp_corpus.build()
    stats = dlp_corpus.score(cases, scan)
    reference = stdnum_scores(cases)
    print(f"Corpus: {len(cases)} labelled cases (tests/dlp_corpus.py, seed 1427)")
    print(f"{'classifier':11} {'precision':>9} {'recall':>7} {'tp':>5} {'fp':>4} {'fn':>4}   "
          "python-stdnum validator on the same items: precision recall")
    for key in KEYS:
        s = stats[key]
        ref = reference.get(key)
        ref_text = f"{ref[0]:.4f} {ref[1]:.4f} ({ref[2]} IDs)" if ref else "(no stdnum validator)"
        print(f"{key:11} {s['precision']:9.4f} {s['recall']:7.4f} {s['tp']:5} {s['fp']:4} {s['fn']:4}   {ref_text}")
    mail_text = prose(megabytes, 0.25)
    digit_heavy = prose(megabytes, 1.0)
    busy = records(cases, megabytes / 4)
    one_per_line = candidates(megabytes / 2, 1)
    five_per_line = candidates(megabytes / 4, 5)
    print(f"\nThroughput, all six classifiers (five national IDs, payment cards), one core (CPU time), MB of UTF-8 text per second "
          f"(keyword search: {IMPLEMENTATION}):")
    print(f"  mail-like text, no IDs (a date, amount and phone number in 1 line of 4): {rate(mail_text):7.1f}"
          "   (target >= 100)")
    print(f"  digit-heavy text, no IDs (a date, amount and phone number in every line): {rate(digit_heavy):7.1f}")
    print(f"  text dense with candidates (a random ID-shaped value in every ~70-byte line): "
          f"{rate(one_per_line):7.1f}   (target >= 25)")
    print(f"  text packed with candidates (five random ID-shaped values in every ~130-byte line): "
          f"{rate(five_per_line):7.1f}")
    print(f"  corpus records (a keyword and an ID, near miss or trap in every ~90-byte line): {rate(busy):7.1f}")


if __name__ == "__main__":
    main()
