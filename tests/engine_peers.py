"""The threat engines' real peers for tests and benchmarks: clamd, Rspamd, tinyproxy, an HTTPS reputation service.

Each binds 127.0.0.1 on a free port, lives in its own folder and is stopped by
its owner. The reputation service speaks the protocol ampconfig(1) documents.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ports import free_port

#: The file the clamd database knows by its SHA-256 (a hash signature), and the string it knows in any content.
EVIL_FILE = b"This harmless file is known to the test signature database by its hash.\n" * 3
EVIL_STRING = b"GATEWAY-TEST-VIRUS-BODY-STRING-7731"


def wait_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


class Clamd:
    """ClamAV's clamd with a database the test writes: a SHA-256 signature of EVIL_FILE, a body signature of
    EVIL_STRING. Nothing else (no official signatures: the machine has no internet)."""

    def __init__(self, folder: Path | None = None, port: int | None = None):
        self.folder = Path(folder or tempfile.mkdtemp(prefix="clamd-"))
        db = self.folder / "db"
        db.mkdir(parents=True, exist_ok=True)
        (db / "gateway-test.hsb").write_text(f"{hashlib.sha256(EVIL_FILE).hexdigest()}:{len(EVIL_FILE)}:"
                                             "Gateway.Test.HashFile\n")
        (db / "gateway-test.ndb").write_text(f"Gateway.Test.BodyString:0:*:{EVIL_STRING.hex()}\n")
        self.port = port or free_port()
        self.log = self.folder / "clamd.log"
        self.conf = self.folder / "clamd.conf"
        self.conf.write_text(f"DatabaseDirectory {db}\nTCPSocket {self.port}\nTCPAddr 127.0.0.1\nForeground yes\n"
                             f"LogFile {self.log}\nStreamMaxLength 25M\nMaxThreads 8\n")
        self.proc = None
        self.start()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(["clamd", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port, 60, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


#: Rspamd rules of the tests: fixed scores on marker strings and on a URL host, so verdicts do not depend on
#: Rspamd's stock rules (which mostly need DNS, absent here).
RSPAMD_RULES = """
local function body_has(task, marker)
  for _, part in ipairs(task:get_text_parts() or {}) do
    local content = part:get_content()
    if content and tostring(content):find(marker, 1, true) then return true end
  end
  return false
end
rspamd_config:register_symbol{name = 'GW_TEST_POSITIVE', score = 30.0, group = 'gateway',
  callback = function(task) return body_has(task, 'GW-SPAM-POSITIVE-MARKER') end}
rspamd_config:register_symbol{name = 'GW_TEST_SUSPECT', score = 9.0, group = 'gateway',
  callback = function(task) return body_has(task, 'GW-SPAM-SUSPECT-MARKER') end}
rspamd_config:register_symbol{name = 'GW_TEST_SPAM_URL', score = 30.0, group = 'gateway',
  callback = function(task)
    for _, u in ipairs(task:get_urls() or {}) do
      if u:get_host() == 'spam-offer.example.com' then return true end
    end
    return false
  end}
"""


def _hyperscan_cache() -> str:
    """Rspamd compiles its hyperscan databases at every start (most of its 10 s): one cache, kept between runs."""
    folder = Path(tempfile.gettempdir()) / "asyncos-rspamd-hs-cache"
    try:
        folder.mkdir(mode=0o755, exist_ok=True)
        shutil.chown(folder, "_rspamd", "_rspamd")
    except (OSError, LookupError):
        return ""  # no rspamd user yet: each start compiles, as before
    return f'hs_cache_dir = "{folder}/";\n'


class Rspamd:
    """Debian's rspamd with a private local configuration, a resolver that answers NXDOMAIN at once (dnsmasq),
    free ports (test-tools.md section 7). ``clamd`` (HOST:PORT): its antivirus module asks that clamd too,
    with the whole message (a milter baseline doing what the gateway's anti-virus does)."""

    def __init__(self, rules: str = RSPAMD_RULES, clamd: str | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="rspamd-"))
        os.chmod(self.dir, 0o755)
        self.normal, self.controller, self.milter, dns = free_port(), free_port(), free_port(), free_port()
        self.dnsmasq = subprocess.Popen(["dnsmasq", "--no-resolv", "--no-hosts", "--keep-in-foreground",
                                         f"--port={dns}", "--listen-address=127.0.0.1", "--bind-interfaces",
                                         "--address=/#/", "--user=root", f"--pid-file={self.dir / 'dnsmasq.pid'}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        local = self.dir / "local.d"
        local.mkdir()
        for sub in ("run", "db", "log"):
            (self.dir / sub).mkdir()
            shutil.chown(self.dir / sub, "_rspamd", "_rspamd")
        (local / "options.inc").write_text(f'dns {{ nameserver = ["127.0.0.1:{dns}"]; timeout = 1s; '
                                           'retransmits = 1; }\n' + _hyperscan_cache())
        (local / "logging.inc").write_text(f'type = "file"; filename = "{self.dir}/log/rspamd.log"; '
                                           'level = "error";\n')
        (local / "worker-normal.inc").write_text(f'bind_socket = "127.0.0.1:{self.normal}";\n')
        (local / "worker-controller.inc").write_text(f'bind_socket = "127.0.0.1:{self.controller}";\n')
        (local / "worker-proxy.inc").write_text(f'bind_socket = "127.0.0.1:{self.milter}";\nmilter = yes;\n'
                                                'upstream "local" { default = yes; self_scan = yes; }\n')
        (local / "worker-fuzzy.inc").write_text(f'bind_socket = "127.0.0.1:{free_port()}";\ncount = 0;\n')
        (self.dir / "rspamd.local.lua").write_text(rules)
        if clamd:
            (local / "antivirus.conf").write_text(
                f'clamav {{ type = "clamav"; servers = "{clamd}"; scan_mime_parts = false; symbol = "CLAM_VIRUS"; '
                'action = "reject"; timeout = 10; }\n')
        self.proc = None
        try:
            self.proc = subprocess.Popen(
                ["rspamd", "-f", "-u", "_rspamd", "-g", "_rspamd", "-c", "/etc/rspamd/rspamd.conf",
                 f"--var=LOCAL_CONFDIR={self.dir}", f"--var=DBDIR={self.dir / 'db'}",
                 f"--var=RUNDIR={self.dir / 'run'}", f"--var=LOGDIR={self.dir / 'log'}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            wait_port(self.normal, 90, self.proc)
            wait_port(self.milter, 30, self.proc)
        except BaseException:
            self.close()  # a start that fails leaves neither rspamd nor dnsmasq behind
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.normal}"

    def close(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
            self.proc.wait(30)
        self.dnsmasq.terminate()
        self.dnsmasq.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Tinyproxy:
    """A real forward proxy; its log shows every CONNECT. ``user``/``passphrase``: Basic authentication."""

    def __init__(self, folder: Path, user: str = "", passphrase: str = ""):
        self.port = free_port()
        self.log = folder / "tinyproxy.log"
        conf = folder / "tinyproxy.conf"
        text = (f"Port {self.port}\nListen 127.0.0.1\nTimeout 60\nAllow 127.0.0.1\nLogFile \"{self.log}\"\n"
                "LogLevel Info\nMaxClients 50\n")
        if user:
            text += f"BasicAuth {user} {passphrase}\n"
        conf.write_text(text)
        self.proc = subprocess.Popen(["tinyproxy", "-d", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port, 10, self.proc)

    def connects(self) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if "CONNECT" in line]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class ReputationService:
    """An HTTPS file reputation service (ampconfig(1)'s protocol) with a certificate from the test CA.

    ``verdicts``: SHA-256 -> (verdict, threat). ``silent``: accept connections and never answer.
    ``lookups`` and ``uploads`` record what arrived; ``connections`` counts accepted connections.
    """

    def __init__(self, issued, folder: Path, api_key: str = "", silent: bool = False):
        self.verdicts: dict[str, tuple[str, str]] = {}
        self.lookups: list[list[str]] = []
        self.uploads: list[tuple[str, str, int]] = []
        self.connections = 0
        self.api_key, self.silent = api_key, silent
        cert, key = issued.write(folder, "reputation")
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            if self.silent:
                self._held.append(conn)  # never a byte back, not even the TLS handshake
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # headers and body in one send: no Nagle/delayed-ACK pause between them

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if service.api_key and self.headers.get("Authorization") != f"Bearer {service.api_key}":
                    return self._answer(401, {"error": "unauthorised"})
                if self.path == "/v1/lookup":
                    hashes = json.loads(body)["sha256"]
                    service.lookups.append(hashes)
                    results = {}
                    for h in hashes:
                        verdict, threat = service.verdicts.get(h, ("unknown", ""))
                        results[h] = {"verdict": verdict, "threat": threat}
                    return self._answer(200, {"results": results})
                if self.path == "/v1/analysis":
                    service.uploads.append((self.headers.get("X-SHA256"), self.headers.get("X-File-Name"), length))
                    return self._answer(202, {"status": "queued"})
                return self._answer(404, {"error": "no such endpoint"})

            def _answer(self, code, data):
                out = json.dumps(data).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        try:
            tls = self.context.wrap_socket(conn, server_side=True)
            Handler(tls, ("127.0.0.1", 0), None)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        for conn in self._held:
            conn.close()
