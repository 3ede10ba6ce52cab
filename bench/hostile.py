"""Each hostile sample's cost: seconds and peak memory above a warmed-up worker's baseline, and its verdict.

    python bench/hostile.py

The bounds the engine promises: at most 1 s and 256 MB per sample (scanconfig's
timeout and sizes). Each sample runs in a fresh process, as a worker would
meet it. Prints figures; asserts nothing (tests/test_hostile_bounds.py checks
the verdicts and the memory bound).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hostile import measure, samples  # noqa: E402


def main() -> None:
    print(f"{'sample':34} {'seconds':>8} {'MB':>7}  verdict")
    for label, raw in samples(Path(tempfile.mkdtemp(prefix="bench-hostile-"))).items():
        r = measure(raw)
        verdict = "; ".join(f"{s[0]} {s[1]}: {s[2][:70]}" for s in r["stages"]) or "(no verdict)"
        print(f"{label:34} {r['seconds']:8.3f} {r['mb']:7.1f}  {verdict}")


if __name__ == "__main__":
    main()
