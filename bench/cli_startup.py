"""Median wall time of `asyncos-cli -c version` beside `python3 -c pass`, cold runs.

Each run is a new process (the same interpreter the CLI is installed in);
the file cache is warm after the first, which is how an administrator's
second command runs too. Prints both medians and the difference; the
target is at most 150 ms above bare Python.

    python bench/cli_startup.py [RUNS]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd, env) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    data = Path(tempfile.mkdtemp(prefix="asyncos-bench-"))
    env = {**os.environ, "ASYNCOS_DATA": str(data / "var"), "PYTHONPATH": str(ROOT)}
    pw = data / "pw"
    pw.write_text("Bench-passphrase-1\n")
    subprocess.run([sys.executable, "-m", "asyncos_cli", "init", f"--admin-passphrase-file={pw}"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    cli = shutil.which("asyncos-cli", path=str(Path(sys.executable).parent)) or None
    cmd = [cli, "-c", "version"] if cli else [sys.executable, "-m", "asyncos_cli", "-c", "version"]
    bare = [sys.executable, "-c", "pass"]
    # An installed appliance runs from compiled bytecode (pip compiles on install);
    # PYTHONDONTWRITEBYTECODE in a developer's shell would otherwise hide that.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "asyncos_cli"), str(ROOT / "commands")],
                   check=True, stdout=subprocess.DEVNULL)
    timed(cmd, env)  # warm the file cache once
    ours, base = [], []
    for _ in range(runs):
        base.append(timed(bare, env))
        ours.append(timed(cmd, env))
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    print(f"runs: {runs}")
    print(f"python3 -c pass:            median {m_base * 1000:7.1f} ms")
    print(f"asyncos-cli -c version:     median {m_ours * 1000:7.1f} ms")
    print(f"difference:                 {(m_ours - m_base) * 1000:7.1f} ms (target <= 150 ms)")
    shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
