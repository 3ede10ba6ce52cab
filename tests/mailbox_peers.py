"""Mailbox servers for search & remediate tests: a real Dovecot (IMAP) and a Microsoft Graph stand-in over HTTPS.

Dovecot runs from a private configuration on a free port, mail in Maildirs
under the test's folder, one administrative account allowed to log in as any
user ("user*remediator"). The Graph server implements the endpoints the
gateway uses: the OAuth client-credentials token, organization (the test
call), message search by internetMessageId, delete and forward.
"""

from __future__ import annotations

import http.server
import imaplib
import json
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from engine_peers import free_port, wait_port
from pki import serve_https

ACCOUNT, ACCOUNT_PASSPHRASE = "remediator", "remediate-pass-1"


class Dovecot:
    def __init__(self, users: dict[str, str]):
        # Dovecot's auth and mail processes run as other users: pytest's private tmp_path is closed to them.
        folder = self.dir = Path(tempfile.mkdtemp(prefix="dovecot-"))
        self.port = free_port()
        for sub in ("run", "state", "mail"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(folder / "mail", "nobody", "nogroup")
        folder.chmod(0o755)
        (folder / "accounts").write_text(f"{ACCOUNT}:{{PLAIN}}{ACCOUNT_PASSPHRASE}\n")
        (folder / "users").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in users.items()))
        self.users = users
        (folder / "dovecot.conf").write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
mail_location = maildir:{folder}/mail/%u
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = passwd-file
  args = {folder}/accounts
  master = yes
}}
passdb {{
  driver = passwd-file
  args = {folder}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={folder}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
""")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(folder / "dovecot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, 20, self.proc)

    def _as(self, user: str) -> tuple[imaplib.IMAP4, int]:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(user, self.users[user])
        return conn, int(conn.select("INBOX")[1][0])

    def deliver(self, user: str, message: bytes) -> None:
        conn, _ = self._as(user)
        conn.append("INBOX", None, None, message)
        conn.logout()

    def message_ids(self, user: str) -> list[str]:
        conn, count = self._as(user)
        ids = []
        if count:
            _, data = conn.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            ids = [part[1].decode().split(":", 1)[1].strip() for part in data if isinstance(part, tuple)]
        conn.logout()
        return ids

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


class GraphServer:
    """The Graph endpoints the gateway calls, over HTTPS with a test-CA certificate."""

    def __init__(self, issued, folder: Path, tenant: str, client_id: str, secret: str):
        self.tenant, self.client_id, self.secret = tenant, client_id, secret
        self.token = "token-" + uuid.uuid4().hex
        #: mailbox -> {graph id: internetMessageId}
        self.mailboxes: dict[str, dict[str, str]] = {}
        self.forwards: list[tuple[str, str, list[str]]] = []
        self.calls: list[tuple[str, str]] = []
        graph = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, code, data=None):
                body = json.dumps(data).encode() if data is not None else b""
                self.send_response(code)
                if body:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {graph.token}":
                    self._answer(401, {"error": {"code": "InvalidAuthenticationToken", "message": "bad token"}})
                    return False
                return True

            def _mailbox(self, parts):
                return graph.mailboxes.get(unquote(parts[3]))

            def do_POST(self):
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                graph.calls.append(("POST", url.path))
                if url.path == f"/{graph.tenant}/oauth2/v2.0/token":
                    form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                    if form.get("client_id") != graph.client_id:
                        return self._answer(400, {"error": "unauthorized_client", "error_description":
                                                  f"AADSTS700016: Application with identifier "
                                                  f"'{form.get('client_id')}' was not found in the directory."})
                    if form.get("client_secret") != graph.secret:
                        return self._answer(401, {"error": "invalid_client", "error_description":
                                                  "AADSTS7000215: Invalid client secret provided."})
                    return self._answer(200, {"token_type": "Bearer", "expires_in": 3599,
                                              "access_token": graph.token})
                if url.path.startswith("/v1.0/users/") and url.path.endswith("/forward"):
                    if not self._authorised():
                        return None
                    parts = url.path.split("/")
                    box = self._mailbox(parts)
                    if box is None or unquote(parts[5]) not in box:
                        return self._answer(404, {"error": {"code": "ErrorItemNotFound", "message": "not found"}})
                    to = [r["emailAddress"]["address"] for r in json.loads(body)["toRecipients"]]
                    graph.forwards.append((unquote(parts[3]), box[unquote(parts[5])], to))
                    return self._answer(202)
                return self._answer(404, {"error": {"code": "NotFound", "message": self.path}})

            def do_GET(self):
                url = urlsplit(self.path)
                graph.calls.append(("GET", url.path))
                if not self._authorised():
                    return None
                if url.path == "/v1.0/organization":
                    return self._answer(200, {"value": [{"id": "org-1", "displayName": "Contoso"}]})
                parts = url.path.split("/")
                if len(parts) == 5 and parts[4] == "messages":
                    box = self._mailbox(parts)
                    if box is None:
                        return self._answer(404, {"error": {"code": "ResourceNotFound", "message": "no user"}})
                    wanted = parse_qs(url.query)["$filter"][0].split("'")[1]
                    return self._answer(200, {"value": [{"id": i} for i, m in box.items() if m == wanted]})
                return self._answer(404, {"error": {"code": "NotFound", "message": self.path}})

            def do_DELETE(self):
                url = urlsplit(self.path)
                graph.calls.append(("DELETE", url.path))
                if not self._authorised():
                    return None
                parts = url.path.split("/")
                box = self._mailbox(parts)
                if box is None or box.pop(unquote(parts[5]), None) is None:
                    return self._answer(404, {"error": {"code": "ErrorItemNotFound", "message": "not found"}})
                return self._answer(204)

            def log_message(self, *args):
                pass

        self.server, self.url = serve_https(Handler, issued, folder, "graph")

    def deliver(self, mailbox: str, message_id: str) -> str:
        item = "AAMk" + uuid.uuid4().hex
        self.mailboxes.setdefault(mailbox, {})[item] = message_id
        return item

    def close(self) -> None:
        self.server.shutdown()
