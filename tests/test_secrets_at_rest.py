"""No secret appears in plain text anywhere under the data directory, nor in showconfig."""

from __future__ import annotations

import os

from conftest import PASSPHRASE
from test_xmlio import _set_proxy_secret

KNOWN = ["Proxy-Secret-4711", "Typed-In-Secret-42", "Loaded-Plain-Secret-7"]


def _files_holding(root, needles):
    hits = []
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            try:
                data = open(p, "rb").read()
            except OSError:
                continue
            for n in needles:
                if n.encode() in data or n.encode("utf-16-le") in data:
                    hits.append((p, n))
    return hits


def test_known_secrets_never_stored_in_plain_text(cli, datadir, tmp_path, daemon):
    _set_proxy_secret(datadir, KNOWN[0])
    # A secret typed as an option: it must not reach the audit log, the error or history.
    r = cli("-c", f"sethostname x.example.com --passphrase={KNOWN[1]}", check=False)
    assert r.returncode != 0 and KNOWN[1] not in r.stderr + r.stdout
    # A secret loaded from a plain-text file: sealed on the way in.
    plain = tmp_path / "plain.xml"
    cli("-c", f"saveconfig {plain} --passphrases=plain")
    plain.write_text(plain.read_text().replace(KNOWN[0], KNOWN[2]))
    cli("-c", f"loadconfig {plain}; commit load")
    plain.unlink()
    out = cli("-c", "showconfig").stdout
    assert not any(k in out for k in KNOWN)
    daemon.request("reload")
    daemon.stop()
    hits = _files_holding(datadir, KNOWN + [PASSPHRASE])
    assert hits == []
    # and the audit log did record the command, redacted
    audit = (datadir / "logs" / "cli_logs" / "cli.current").read_text()
    assert "--passphrase=*****" in audit


def test_key_file_is_private(datadir):
    mode = (datadir / "keys" / "config.key").stat().st_mode & 0o777
    assert mode == 0o600
    assert (datadir.stat().st_mode & 0o777) == 0o700
