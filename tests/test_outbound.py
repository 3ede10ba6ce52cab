"""The shared outbound-client settings, exercised against real local HTTP servers."""

from __future__ import annotations

import base64
import http.server
import socket
import socketserver
import ssl
import threading

import pytest

from asyncos_cli.config.schema import HttpProxy, OutboundSection
from asyncos_cli.services.outbound import http_session, proxy_url, tls_client_context


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        type(self).seen.append((self.path, self.headers.get("Proxy-Authorization")))
        body = b"via proxy"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def proxy_server():
    class Handler(_Recorder):
        seen = []

    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv, Handler
    srv.shutdown()
    srv.server_close()


def test_requests_go_through_the_configured_proxy_with_its_credentials(proxy_server, keyring):
    srv, handler = proxy_server
    port = srv.server_address[1]
    section = OutboundSection(proxy=HttpProxy("127.0.0.1", port, "svc", keyring.seal("p@ss word")), timeout_seconds=5)
    assert proxy_url(section, keyring) == f"http://svc:p%40ss%20word@127.0.0.1:{port}"
    s = http_session(section, keyring)
    r = s.get("http://reputation.invalid/lookup?x=1", timeout=section.timeout_seconds)
    assert r.text == "via proxy"
    path, auth = handler.seen[-1]
    assert path == "http://reputation.invalid/lookup?x=1"  # absolute URI: the proxy form
    assert base64.b64decode(auth.split()[1]).decode() == "svc:p@ss word"


def test_no_proxy_means_a_direct_connection(proxy_server, keyring):
    srv, handler = proxy_server
    s = http_session(OutboundSection(), keyring)
    r = s.get(f"http://127.0.0.1:{srv.server_address[1]}/direct", timeout=5)
    assert r.status_code == 200 and handler.seen[-1] == ("/direct", None)


def _tls_server(ctx):
    srv = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (ssl.SSLError, OSError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    return srv


def test_tls_validation_follows_the_settings(tmp_path, keyring):
    from asyncos_cli.services.certificates import DemoCertificate

    demo = DemoCertificate.at(tmp_path)
    demo.ensure(keyring, "gw.example.com")
    srv = _tls_server(demo.server_context(keyring))
    port = srv.getsockname()[1]

    def connect(section, name, cafile=str(demo.cert)):
        ctx = tls_client_context(section, cafile=cafile)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as tls:
                return tls.version()

    assert connect(OutboundSection(), "gw.example.com").startswith("TLS")
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        connect(OutboundSection(), "other.example.com")
    assert connect(OutboundSection(verify_peer_fqdn=False), "other.example.com")
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(OutboundSection(), "gw.example.com", cafile=None)  # not a trusted issuer
    assert connect(OutboundSection(verify_peer_x509=False), "other.example.com", cafile=None)
    srv.close()
