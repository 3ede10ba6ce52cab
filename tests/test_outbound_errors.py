"""Outbound clients that fail say what failed and what to check, never Python internals.

Each failure is real: a closed port, a name that does not resolve, a server
whose certificate no configured authority signed, a server that accepts and
never answers, and one that answers HTTP 500.
"""

from __future__ import annotations

import http.server
import re
import socket

import pki
import pytest
from conftest import batch_ok, free_port, run_cli

INTERNALS = re.compile(r"Traceback|HTTPSConnectionPool|Max retries|\w+Error\(|\w+Exception|<\w+[ .]\w+ object")


class _Http500(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST

    def log_message(self, *args):
        pass


@pytest.fixture
def peers(tmp_path):
    root = pki.ca()
    (tmp_path / "root.pem").write_text(root.cert_pem)
    good, good_url = pki.serve_https(_Http500, pki.leaf(root, cn="127.0.0.1", sans=("127.0.0.1",)), tmp_path, "ok")
    untrusted, bad_url = pki.serve_https(_Http500, pki.leaf(pki.ca("Other CA"), cn="127.0.0.1",
                                                            sans=("127.0.0.1",)), tmp_path, "bad")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts (the kernel does) and never answers
    yield {
        "refused": (f"https://127.0.0.1:{free_port()}", "refused the connection"),
        "nxdomain": ("https://no-such-host.invalid", "does not resolve"),
        "tls": (bad_url, "TLS connection to 127.0.0.1 failed"),
        "timeout": (f"https://127.0.0.1:{silent.getsockname()[1]}", "did not answer"),
        "http500": (good_url, "500"),
    }, tmp_path / "root.pem"
    good.shutdown()
    untrusted.shutdown()
    silent.close()


@pytest.mark.parametrize("case", ["refused", "nxdomain", "tls", "timeout", "http500"])
def test_failing_servers_give_a_reason_not_internals(datadir, peers, case):
    urls, root = peers
    url, expected = urls[case]
    batch_ok(datadir, f"certconfig certauthority custom import root {root}; license_smart enable; "
                      f"license_smart setup --url={url} --timeout=2; cloudserviceconfig setup --talos-url={url} --timeout=2; "
                      "commit endpoints")
    for line in ("license_smart register --token=some-token", "cloudserviceconfig fetchcertificate"):
        r = run_cli(datadir, "-c", line)
        assert r.returncode != 0
        assert expected in r.stderr, (case, line, r.stderr)
        assert not INTERNALS.search(r.stderr), (case, line, r.stderr)


@pytest.mark.parametrize("case", ["refused", "nxdomain", "tls"])  # (their timeout is a fixed 30 s)
def test_remediation_profiles_that_cannot_connect_say_why(datadir, peers, case):
    urls, root = peers
    url, expected = urls[case]
    host, _, port = url.split("://")[1].partition(":")
    batch_ok(datadir, f"certconfig certauthority custom import root {root}; "
                      f"remediationconfig new g --kind=graph --tenant=t --client-id=c --client-secret=s "
                      f"--token-url={url} --graph-url={url}; "
                      f"remediationconfig new i --kind=imap --host={host} --port={port or 993} --username=a "
                      "--passphrase=p; commit profiles")
    for name in ("g", "i"):
        r = run_cli(datadir, "-c", f"remediationconfig validate {name}", timeout=120)
        assert r.returncode != 0, (case, name, r.stdout)
        assert not INTERNALS.search(r.stderr), (case, name, r.stderr)
        if name == "g" or case in ("refused", "nxdomain"):
            assert expected in r.stderr, (case, name, r.stderr)
