"""Search & remediate: delete, forward, or forward and delete delivered messages in the recipients' mailboxes.

Mailboxes are reached through a remediation profile (remediationconfig):
Office 365 / Hybrid through Microsoft Graph with the OAuth client-credentials
grant, or an on-premises IMAP server (Dovecot and the like) through an account
that may log in as any user. Jobs are state: `remediate` queues one (who asked, what, which messages
and recipients); the daemon runs queued jobs in the background and records a
status per recipient (pending, in progress, done, not found, failed).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from urllib.parse import quote

from asyncos_cli.config.statestores import RemediationJobs

ACTIONS = ("delete", "forward", "forward-delete")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS remediation_jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    forward_to TEXT NOT NULL,
    status TEXT NOT NULL,
    items TEXT NOT NULL,
    finished REAL
);
"""


class RemediationError(Exception):
    """What failed, precisely enough for the administrator to fix it."""


# ---------------------------------------------------------------- what a job may act on (the shell's and the API's rules)


def job_items(history, mids: list[int], action: str, forward_to: str, profile: str | None, config) -> list[dict]:
    """The mailboxes a job acts on, one item per (message, recipient); RemediationError says what is wrong.

    ``history(mid)`` is message tracking's record of a finished message (None when it is not tracked)."""
    from asyncos_cli.config.addresses import address_problem

    if action not in ACTIONS:
        raise RemediationError(f"the action is one of {', '.join(ACTIONS)}, not {action!r}")
    if action != "delete":
        problem = address_problem(forward_to) if forward_to else "forward needs --to=ADDRESS"
        if problem:
            raise RemediationError(f"--to: {problem}")
    if profile is not None and config.remediation.get(profile) is None:
        raise RemediationError(f"No remediation profile named {profile} ('remediationconfig print').")
    if not mids:
        raise RemediationError("Give the messages: --mids=MID,... (findevent shows them).")
    items = []
    for mid in mids:
        rec = history(mid)
        if rec is None:
            raise RemediationError(f"MID {mid} is not in message tracking (or still in flight).")
        if rec.get("final_action") != "DELIVERED":
            raise RemediationError(f"MID {mid} was not delivered ({rec.get('final_action') or 'in flight'}): "
                                   "nothing to remediate in the mailboxes.")
        if not rec.get("message_id"):
            raise RemediationError(f"MID {mid} has no Message-ID to find it by in the mailboxes.")
        for rcpt in rec["recipients"]:
            items.append({"mid": mid, "message_id": rec["message_id"], "recipient": rcpt, "profile": profile or ""})
    return items


def counts(job: dict) -> dict[str, int]:
    """How many of a job's mailboxes are in each state (pending, in progress, done, not found, failed)."""
    out: dict[str, int] = {}
    for i in job["items"]:
        out[i["status"]] = out.get(i["status"], 0) + 1
    return out


# ---------------------------------------------------------------- jobs (state)


def queue_job(conn: sqlite3.Connection, user: str, action: str, forward_to: str, items: list[dict]) -> int:
    conn.executescript(_SCHEMA)
    with conn:
        cur = conn.execute("INSERT INTO remediation_jobs (created, user, action, forward_to, status, items) "
                           "VALUES (?, ?, ?, ?, 'pending', ?)",
                           (time.time(), user, action, forward_to,
                            json.dumps([{**i, "status": "pending", "detail": ""} for i in items])))
    return int(cur.lastrowid)


def jobs(conn: sqlite3.Connection, job_id: int | None = None, limit: int = 20) -> list[dict]:
    conn.executescript(_SCHEMA)
    sql = "SELECT id, created, user, action, forward_to, status, items, finished FROM remediation_jobs"
    rows = conn.execute(sql + (" WHERE id = ?" if job_id else " ORDER BY id DESC LIMIT ?"),
                        (job_id,) if job_id else (limit,)).fetchall()
    keys = ("id", "created", "user", "action", "forward_to", "status", "items", "finished")
    return [{**dict(zip(keys, r)), "items": json.loads(r[6])} for r in rows]


def claim_pending(conn: sqlite3.Connection) -> list[dict]:
    """The pending jobs, now marked in progress (the daemon runs them)."""
    conn.executescript(_SCHEMA)
    with conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM remediation_jobs WHERE status = 'pending' ORDER BY id")]
        for i in ids:
            conn.execute("UPDATE remediation_jobs SET status = 'in progress' WHERE id = ?", (i,))
    return [j for i in ids for j in jobs(conn, i)]


def requeue_interrupted(conn: sqlite3.Connection) -> int:
    """Jobs a stopped daemon left in progress go back to the queue; their finished items are not redone."""
    conn.executescript(_SCHEMA)
    with conn:
        return conn.execute("UPDATE remediation_jobs SET status = 'pending' WHERE status = 'in progress'").rowcount


def save_job(conn: sqlite3.Connection, job: dict) -> None:
    with conn:
        conn.execute("UPDATE remediation_jobs SET status = ?, items = ?, finished = ? WHERE id = ?",
                     (job["status"], json.dumps(job["items"]), job.get("finished"), job["id"]))


class SQLiteRemediationJobs(RemediationJobs):
    """The embedded backend of the remediation job queue."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def queue(self, user: str, action: str, forward_to: str, items: list[dict]) -> int:
        return queue_job(self._conn, user, action, forward_to, items)

    def jobs(self, job_id: int | None = None, limit: int = 20) -> list[dict]:
        return jobs(self._conn, job_id, limit)

    def claim_pending(self) -> list[dict]:
        return claim_pending(self._conn)

    def requeue_interrupted(self) -> int:
        return requeue_interrupted(self._conn)

    def save(self, job: dict) -> None:
        save_job(self._conn, job)


# ---------------------------------------------------------------- Microsoft Graph


@dataclass
class GraphMailboxes:
    profile: object
    secret: str
    session: object
    timeout: float = 30.0
    #: Where each exchange is reported (the Cloud Connector log's CloudExchange events).
    emit: object = None

    def __post_init__(self):
        self._token = None

    def token(self) -> str:
        if self._token:
            return self._token
        p = self.profile
        if not p.client_id or not p.tenant:
            raise RemediationError(f"profile {p.name}: the tenant and the client ID must be set")
        if not self.secret:
            raise RemediationError(f"profile {p.name}: no client secret is set (certificate credentials are "
                                   "not supported yet)")
        url = f"{p.token_url.rstrip('/')}/{quote(p.tenant)}/oauth2/v2.0/token"
        r = self._request("POST", url, data={"client_id": p.client_id, "client_secret": self.secret,
                                             "grant_type": "client_credentials",
                                             "scope": p.graph_url.rstrip("/") + "/.default"}, auth=False)
        data = _json(r)
        if r.status_code != 200 or not data.get("access_token"):
            raise RemediationError(_token_problem(p, r.status_code, data))
        self._token = data["access_token"]
        return self._token

    def _request(self, method, url, auth=True, **kw):
        import requests

        headers = kw.pop("headers", {})
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        start = time.monotonic()
        try:
            r = self.session.request(method, url, headers=headers, timeout=self.timeout, **kw)
        except requests.exceptions.RequestException as e:
            from .failures import describe

            why = describe(e, url, self.timeout)
            self._log(method, url, f"failed: {why}", start)
            raise RemediationError(f"cannot reach {url.split('?')[0]}: {why}") from None
        self._log(method, url, f"HTTP {r.status_code}", start)
        return r

    def _log(self, method: str, url: str, outcome: str, start: float) -> None:
        if self.emit is not None:
            from asyncos_cli.events.cloud import CloudExchange

            self.emit(CloudExchange(f"Graph ({self.profile.name})", method, url.split("?")[0], outcome,
                                    int((time.monotonic() - start) * 1000)))

    def _api(self, path: str) -> str:
        return f"{self.profile.graph_url.rstrip('/')}/v1.0/{path}"

    def validate(self) -> str:
        self.token()
        r = self._request("GET", self._api("organization?$select=id,displayName"))
        if r.status_code == 403:
            raise RemediationError(f"the token was issued, but the application may not read the directory "
                                   f"(HTTP 403: {_graph_error(r)}); grant it Mail.ReadWrite and Mail.Send")
        if r.status_code != 200:
            raise RemediationError(f"the test call failed: HTTP {r.status_code}: {_graph_error(r)}")
        names = [o.get("displayName", "") for o in _json(r).get("value", [])]
        return f"token issued and the test call answered (organization {', '.join(names) or 'unnamed'})"

    def find(self, mailbox: str, message_id: str) -> list[str]:
        flt = quote(f"internetMessageId eq '{message_id}'")
        r = self._request("GET", self._api(f"users/{quote(mailbox)}/messages?$filter={flt}&$select=id"))
        if r.status_code == 404:
            raise RemediationError(f"no mailbox {mailbox} in the tenant")
        if r.status_code != 200:
            raise RemediationError(f"the search failed: HTTP {r.status_code}: {_graph_error(r)}")
        return [m["id"] for m in _json(r).get("value", []) if m.get("id")]

    def delete(self, mailbox: str, item: str) -> None:
        r = self._request("DELETE", self._api(f"users/{quote(mailbox)}/messages/{quote(item)}"))
        if r.status_code not in (200, 204):
            raise RemediationError(f"the delete failed: HTTP {r.status_code}: {_graph_error(r)}")

    def forward(self, mailbox: str, item: str, to: str, comment: str) -> None:
        r = self._request("POST", self._api(f"users/{quote(mailbox)}/messages/{quote(item)}/forward"),
                          json={"comment": comment, "toRecipients": [{"emailAddress": {"address": to}}]})
        if r.status_code not in (200, 202, 204):
            raise RemediationError(f"the forward failed: HTTP {r.status_code}: {_graph_error(r)}")


def _json(r) -> dict:
    try:
        data = r.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _graph_error(r) -> str:
    err = _json(r).get("error")
    if isinstance(err, dict):
        return f"{err.get('code', '')}: {err.get('message', '')}".strip(": ")
    return r.reason or ""


def _token_problem(p, status: int, data: dict) -> str:
    code, text = str(data.get("error", "")), str(data.get("error_description", "")).split("\r\n")[0]
    why = f"({code}: {text})" if code else f"(HTTP {status})"
    if "AADSTS7000215" in text or "AADSTS7000222" in text or (code == "invalid_client" and "secret" in text.lower()):
        return f"profile {p.name}: the client secret was refused by the token endpoint {why}"
    if "AADSTS700016" in text or code == "unauthorized_client":
        return f"profile {p.name}: the client ID {p.client_id} is not known in tenant {p.tenant} {why}"
    if "AADSTS90002" in text or "tenant" in text.lower() and status == 400:
        return f"profile {p.name}: the tenant {p.tenant} was not found {why}"
    return f"profile {p.name}: the token request failed {why}"


# ---------------------------------------------------------------- IMAP (on premises)


@dataclass
class ImapMailboxes:
    profile: object
    passphrase: str
    timeout: float = 30.0
    #: Where each login is reported (the Cloud Connector log's CloudExchange events).
    emit: object = None

    def _log(self, login: str, outcome: str, start: float) -> None:
        if self.emit is not None:
            from asyncos_cli.events.cloud import CloudExchange

            p = self.profile
            self.emit(CloudExchange(f"IMAP ({p.name})", "LOGIN", f"imap://{login}@{p.host}:{p.port}", outcome,
                                    int((time.monotonic() - start) * 1000)))

    def open(self, mailbox: str | None):
        import imaplib
        import ssl

        p = self.profile
        if not p.host or not p.username:
            raise RemediationError(f"profile {p.name}: the IMAP host and the administrative account must be set")
        login = f"{mailbox}{p.login_separator}{p.username}" if mailbox else p.username
        start = time.monotonic()
        try:
            if p.tls == "implicit":
                conn = imaplib.IMAP4_SSL(p.host, p.port, ssl_context=ssl.create_default_context(),
                                         timeout=self.timeout)
            else:
                conn = imaplib.IMAP4(p.host, p.port, timeout=self.timeout)
                if p.tls == "starttls":
                    conn.starttls(ssl.create_default_context())
        except (OSError, imaplib.IMAP4.error) as e:
            from .failures import describe

            why = describe(e, f"imap://{p.host}:{p.port}", self.timeout) if isinstance(e, OSError) else str(e)
            self._log(login, f"failed: {why}", start)
            raise RemediationError(f"cannot reach the IMAP server {p.host}:{p.port}: {why}") from None
        try:
            conn.login(login, self.passphrase)
        except imaplib.IMAP4.error as e:
            conn.shutdown()
            self._log(login, f"refused: {e}", start)
            raise RemediationError(f"the IMAP server refused the login {login}: {e}") from None
        self._log(login, "OK", start)
        return conn

    def validate(self, mailbox: str | None = None) -> str:
        conn = self.open(mailbox)
        try:
            typ, data = conn.select("INBOX", readonly=True)
            if typ != "OK":
                raise RemediationError(f"INBOX cannot be opened: {data}")
            return f"logged in as {'the administrative account' if not mailbox else mailbox} and opened INBOX " \
                   f"({int(data[0])} messages)"
        finally:
            conn.logout()

    def find(self, conn, message_id: str) -> list[bytes]:
        conn.select("INBOX")
        typ, data = conn.uid("SEARCH", None, "HEADER", "Message-ID", f'"{message_id}"')
        if typ != "OK":
            raise RemediationError(f"the search failed: {data}")
        return data[0].split() if data and data[0] else []

    def fetch(self, conn, uid: bytes) -> bytes:
        typ, data = conn.uid("FETCH", uid, "(BODY.PEEK[])")
        if typ != "OK" or not data or not isinstance(data[0], tuple):
            raise RemediationError(f"the message cannot be read: {data}")
        return data[0][1]

    def delete(self, conn, uid: bytes) -> None:
        conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
        typ, data = conn.expunge()
        if typ != "OK":
            raise RemediationError(f"the delete failed: {data}")


def forward_copy(original: bytes, to: str, hostname: str, job_id: int, user: str) -> bytes:
    """A new message to ``to`` with the original attached (message/rfc822), as an administrator forwards it."""
    import datetime
    import email
    import email.policy
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    parsed = email.message_from_bytes(original, policy=email.policy.default)
    out = EmailMessage(policy=email.policy.SMTP)
    out["From"] = f"Search and Remediate <remediation@{hostname}>"
    out["To"] = to
    out["Subject"] = f"Fwd: {parsed.get('Subject', '')}"[:200]
    out["Date"] = format_datetime(datetime.datetime.now(datetime.timezone.utc))
    out["Message-ID"] = make_msgid(domain=hostname)
    out.set_content(f"Forwarded by search and remediate job {job_id} on {hostname} (requested by {user}).\n")
    out.add_attachment(parsed)  # message/rfc822: the original, whole
    return out.as_bytes()


def secret_of(keyring, secret) -> str:
    return keyring.reveal(secret) if secret is not None else ""


# ---------------------------------------------------------------- running a job (in the daemon)


async def run_job(job: dict, config, keyring, session_for, send, emit, save=None) -> dict:
    """Carry out every item of a job; each gets its status and detail. ``session_for()`` gives an HTTP session
    with the outbound settings; ``send(sender, rcpts, bytes)`` mails through the gateway's routing."""
    import asyncio

    from asyncos_cli.events.cloud import RemediationDone

    graphs: dict[str, GraphMailboxes] = {}
    for item in job["items"]:
        if item["status"] in ("done", "not found"):
            continue  # done before the daemon was stopped: a forward is never sent twice
        item["status"], item["detail"] = "in progress", ""
        profile = config.remediation.get(item.get("profile") or "") if item.get("profile") else \
            config.remediation.for_address(item["recipient"])
        try:
            if profile is None:
                raise RemediationError(f"no remediation profile serves {item['recipient']}")
            item["profile"] = profile.name
            if profile.kind == "graph":
                graph = graphs.get(profile.name)
                if graph is None:
                    graph = graphs[profile.name] = GraphMailboxes(profile, secret_of(keyring, profile.client_secret),
                                                                  session_for(), emit=emit)
                found = await asyncio.to_thread(_graph_item, graph, job, item)
            else:
                imap = ImapMailboxes(profile, secret_of(keyring, profile.passphrase), emit=emit)
                found = await _imap_item(imap, job, item, config, send)
            item["status"] = "done" if found else "not found"
            if not found:
                item["detail"] = f"no message {item['message_id']} in the mailbox of {item['recipient']}"
        except RemediationError as e:
            item["status"], item["detail"] = "failed", str(e)
        except Exception as e:  # one item's surprise is that item's failure; the job goes on
            item["status"], item["detail"] = "failed", f"{type(e).__name__}: {e}"
        emit(RemediationDone(job["id"], job["user"], job["action"], item["mid"], item["recipient"], item["status"],
                             item["detail"]))
        if save is not None:
            save(job)  # each mailbox's outcome is kept as soon as it is known
    states = {i["status"] for i in job["items"]}
    job["status"] = "failed" if states == {"failed"} else "done" if states <= {"done"} else "done with problems"
    job["finished"] = time.time()
    return job


def _graph_item(graph: GraphMailboxes, job: dict, item: dict) -> bool:
    ids = graph.find(item["recipient"], item["message_id"])
    for i in ids:
        if job["action"] in ("forward", "forward-delete"):
            graph.forward(item["recipient"], i, job["forward_to"], f"Forwarded by search and remediate job "
                                                                   f"{job['id']} (requested by {job['user']})")
        if job["action"] in ("delete", "forward-delete"):
            graph.delete(item["recipient"], i)
    return bool(ids)


async def _imap_item(imap: ImapMailboxes, job: dict, item: dict, config, send) -> bool:
    import asyncio

    conn = await asyncio.to_thread(imap.open, item["recipient"])
    try:
        uids = await asyncio.to_thread(imap.find, conn, item["message_id"])
        for uid in uids:
            if job["action"] in ("forward", "forward-delete"):
                original = await asyncio.to_thread(imap.fetch, conn, uid)
                copy = forward_copy(original, job["forward_to"], config.system.hostname, job["id"], job["user"])
                await send(f"remediation@{config.system.hostname}", [job["forward_to"]], copy)
            if job["action"] in ("delete", "forward-delete"):
                await asyncio.to_thread(imap.delete, conn, uid)
        return bool(uids)
    finally:
        await asyncio.to_thread(conn.logout)
