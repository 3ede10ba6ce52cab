"""Batch mode stays lean: no prompt_toolkit, asyncssh, aiosmtpd, asyncio or scanning."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ON_POSTGRES, ROOT, cli_env

HEAVY = ("prompt_toolkit", "asyncssh", "aiosmtpd", "scanning", "pysnmp", "rich", "asyncio", "cryptography")

PROBE = r"""
import atexit, sys
heavy = %r
atexit.register(lambda: print("LOADED:" + ",".join(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))))
from asyncos_cli.main import cli
cli(sys.argv[1:])
"""


def _loaded(datadir, *args):
    r = subprocess.run([sys.executable, "-c", PROBE % (HEAVY,), *args], capture_output=True, text=True,
                       env=cli_env(datadir), cwd=ROOT)
    assert r.returncode == 0, r.stderr
    line = [l for l in r.stdout.splitlines() if l.startswith("LOADED:")][-1]
    return set(filter(None, line[len("LOADED:"):].split(",")))


@pytest.mark.skipif(ON_POSTGRES, reason="in a cluster a batch command opens the store with psycopg")
def test_batch_commands_import_nothing_heavy(datadir, tmp_path):
    assert _loaded(datadir, "-c", "version; help; sethostname a.example.com; commit; rollbackconfig list") == set()
    f = tmp_path / "cmds"
    f.write_text("version\nclear\n")
    assert _loaded(datadir, "batch", str(f)) == set()
