"""What one DKIM verification costs in CPU after the process slept, against back to back.

    python bench/cold_cpu.py [CALLS]

A helper process (the DKIM verifier, a scanning worker) sleeps between requests; on this 2-vCPU VM the work
right after a sleep takes several times the CPU it takes back to back (the vCPU idled, its caches went cold).
This prints the median and 90th percentile thread CPU time of scanning.dkim.passes() on a small RSA-2048 signed
message after idle gaps of 0 to 10 ms, so a figure measured in a busy gateway can be read against the
microbenchmark. Asserts nothing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanning import dkim  # noqa: E402


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    key = dkim.generate("rsa", 2048)
    body = (b"From: Bench <bench@example.org>\r\nTo: user@example.com\r\nSubject: signed\r\n\r\n"
            + (b"x" * 78 + b"\r\n") * 25)
    message = dkim.sign(body, "example.org", "bench", "rsa", key, ("From", "To", "Subject"), "relaxed/relaxed") + body
    keys = {"bench._domainkey.example.org": dkim.public_record("rsa", key).encode()}
    assert dkim.passes(message, keys)
    print(f"scanning.dkim.passes(), RSA 2048, {len(message)} bytes: thread CPU per call after an idle gap")
    for gap in (0.0, 0.0005, 0.002, 0.01):
        spent = []
        for _ in range(calls):
            if gap:
                time.sleep(gap)
            start = time.thread_time_ns()
            dkim.passes(message, keys)
            spent.append(time.thread_time_ns() - start)
        spent.sort()
        print(f"  gap {gap * 1000:5.1f} ms: median {spent[len(spent) // 2] / 1000:6.0f} us, "
              f"p90 {spent[int(len(spent) * 0.9)] / 1000:6.0f} us")


if __name__ == "__main__":
    main()
