"""The web interface's pages: each one reads through the API's own handlers (same parameters, same rules, same
roles), so whatever a page shows a script can fetch too.

Changes made on a page are pending for the user, as in the shell, until Commit or Abandon; the API's own writes
stay immediate.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
from urllib.parse import urlencode

from aiohttp import web

from asyncos_cli.auth import roles as R
from asyncos_cli.config.cluster import Membership
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.session import Session
from asyncos_cli.config.store import CommitConflict, NothingToCommit
from asyncos_cli.control.client import ControlError, DaemonUnavailable
from asyncos_cli.control.client import request as control
from asyncos_cli.events.auth import GuiLoggedOut
from asyncos_cli.events.system import ConfigCommitted

from .. import params as api_params
from .. import quarantine, remediation, tracking
from ..app import Call, Principal
from ..routes import ApiError, find
from . import remediate
from .html import csrf_field, esc, layout, table
from .sessions import COOKIE

PAGE_ROLES = {
    "/status": R.ALL - {R.HELP_DESK},
    "/tracking": tracking.TRACKING,
    "/quarantines": quarantine.READ,
    "/urllists": frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY}),
    "/reports": frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY}),
    "/remediation": remediation.STATUS,
    "/settings": frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY}),
}
CHANGE_ROLES = frozenset({R.ADMINISTRATORS, R.OPERATORS})


class Pages:
    def __init__(self, api, sessions):
        self.api = api
        self.sessions = sessions

    # ------------------------------------------------------------ frame

    def _page(self, request, title: str, body: str, status: int = 200, notice: str = "") -> web.Response:
        s = request.get("ui_session")
        pending = self._pending_names(s.user) if s else []
        # Commit and Abandon come back here; a page drawn for a POST goes back to the page the form was on.
        back = request.path if request.method == "GET" else request.path.rsplit("/", 1)[0]
        html = layout(title, body, s, self.api.access.config.system.hostname, pending, notice, back)
        return web.Response(text=html, status=status, content_type="text/html")

    def _pending_names(self, user: str) -> list[str]:
        session = self.sessions.pending.get(user)
        return session.pending_names() if session is not None else []

    def _call(self, request, params: dict, body=None) -> Call:
        s = request["ui_session"]
        return Call(self.api, Principal(s.user, s.role), params, body, request.remote or "unknown", "HTTPS", {})

    def _api_params(self, method: str, path: str, values: dict) -> dict:
        """The form's values read exactly as the API reads its query string."""
        route, _, _ = find(method, path)
        return api_params.read(route, {k: [v] if not isinstance(v, list) else v for k, v in values.items() if v})

    def _refused(self, request, err: ApiError) -> web.Response:
        return self._page(request, "Not Available", f"<p>{esc(err.explanation)}</p>", err.status)

    # ------------------------------------------------------------ login and logout

    async def login_form(self, request, error: str = "", status: int = 200) -> web.Response:
        body = ((f'<p class="error" role="alert">{esc(error)}</p>' if error else "")
                + '<form method="post" action="/login" class="login">'
                '<label for="username">Username</label><input id="username" name="username" autocomplete="username" '
                'required autofocus>'
                '<label for="password">Passphrase</label><input id="password" name="password" type="password" '
                'autocomplete="current-password" required>'
                '<button type="submit">Login</button></form>')
        return self._page(request, "Log In", body, status)

    async def login(self, request) -> web.Response:
        form = await request.post()
        user, passphrase = str(form.get("username", "")), str(form.get("password", ""))
        try:
            principal = await self.api.login(user, passphrase, request.remote or "unknown", "HTTPS")
        except ApiError as e:
            return await self.login_form(request, e.message if e.status != 401 else "Invalid username or "
                                         "passphrase.", 401)
        s = self.sessions.open(principal.user, principal.role, request.remote or "unknown")
        landing = "/tracking" if principal.role == R.HELP_DESK else "/status"
        response = web.HTTPSeeOther(landing)
        response.set_cookie(COOKIE, s.id, secure=True, httponly=True, samesite="Strict", path="/")
        return response

    async def logout(self, request) -> web.Response:
        s = request["ui_session"]
        self.sessions.close(s)
        self.api.access.bus.emit(GuiLoggedOut(s.user, self.sessions.short(s), address=s.address))
        response = web.HTTPSeeOther("/login")
        response.del_cookie(COOKIE, path="/")
        return response

    # ------------------------------------------------------------ system status

    async def status(self, request) -> web.Response:
        status = await self.api.read(lambda _c: _daemon(self.api, "status"))
        if status is None:
            return self._page(request, "System Status", "<p>The gateway daemon is not running.</p>", 503)
        g = status.get("gauges", {})
        gauges = [("CPU", f"{g.get('cpu_percent', 0):.0f}%", "percentage_cpu_load"),
                  ("Memory", f"{g.get('memory_percent', 0):.0f}%", "percentage_ram_utilization"),
                  ("Disk I/O", f"{g.get('disk_io_percent', 0):.0f}%", "percentage_diskio"),
                  ("Queue", f"{g.get('queue_percent', 0):.0f}%", "percentage_queue_utilization"),
                  ("Messages in the work queue", str(status.get("queued", 0)), "messages_in_queue"),
                  ("Oldest message (seconds)", str(g.get("oldest_message_age", 0)), "oldest_message_seconds")]
        cards = "".join(f'<div class="gauge"><span>{esc(label)}</span><strong data-health="{key}">{esc(value)}'
                        f"</strong></div>" for label, value, key in gauges)
        counters = status.get("mail_counters", {})
        rows = [[esc(k.replace("_", " ")), esc(v)] for k, v in sorted(counters.items())]
        components = [[esc(name), esc(state)] for name, state in status.get("components", [])]
        body = (f'<section aria-label="Gauges" class="gauges" id="gauges">{cards}</section>'
                f'<p class="small">Version {esc(status.get("product_version"))}, configuration version '
                f'{esc(status.get("config_version"))}, up {int(status.get("uptime", 0))} s. '
                '<span id="refreshed" aria-live="polite"></span></p>'
                + table(["Counter", "Since start"], rows, "Mail counters")
                + table(["Component", "State"], components, "Components and engines"))
        return self._page(request, "System Status", body)

    # ------------------------------------------------------------ message tracking

    async def tracking_search(self, request) -> web.Response:
        q = request.query
        values = {k: q.get(k, "") for k in ("envelopeSenderfilterOperator", "envelopeSenderfilterValue",
                                            "envelopeRecipientfilterOperator", "envelopeRecipientfilterValue",
                                            "subjectfilterOperator", "subjectfilterValue", "messageIdHeader",
                                            "senderIp", "mailPolicyName", "mailPolicyDirection", "quarantineStatus",
                                            "dlpViolationsSeverities")}
        values["mid"] = q.get("mid", "")
        for key in ("since", "until"):
            if q.get(key):
                values["startDate" if key == "since" else "endDate"] = _minute(q[key])
        offset = int(q.get("offset", "0")) if q.get("offset", "0").isdigit() else 0
        values["offset"], values["limit"] = str(offset), "20"
        form = _tracking_form(q)
        if not q.get("search"):
            return self._page(request, "Message Tracking", form)
        try:
            params = self._api_params("GET", "/message-tracking/messages", values)
            rows, meta = await tracking.messages(self._call(request, params))
        except ApiError as e:
            return self._page(request, "Message Tracking", f'<p class="error" role="alert">{esc(e.explanation)}</p>'
                              + form, e.status)
        total = meta["totalCount"]
        s = request["ui_session"]
        may_remediate = s.role in remediation.START
        # In a cluster the search covers every machine: a row names its machine, another machine's message
        # is opened by its serial number (MIDs are each machine's own) and remediated on that machine.
        in_cluster = Membership.load(self.api.access.datadir) is not None
        own = self.api.access.serial
        cells = []
        for item in rows:
            a = item["attributes"]
            mid, here = a["mid"][0], a["serialNumber"] == own
            link = f"/tracking/{mid}" + ("" if here else "?" + urlencode({"serialNumber": a["serialNumber"]}))
            cells.append(([remediate.selector(mid) if here else ""] if may_remediate else [])
                         + [f'<a href="{esc(link)}">{mid}</a>'] + ([esc(a["hostName"])] if in_cluster else [])
                         + [esc(a["timestamp"]), esc(a["sender"]),
                            esc(", ".join(a["recipient"])), esc(a["subject"]), esc(", ".join(a["mailPolicy"])),
                            esc(a["messageStatus"][str(mid)])])
        paging = ""
        base = {k: v for k, v in q.items() if k != "offset"}
        if offset > 0:
            paging += f'<a href="/tracking?{esc(urlencode({**base, "offset": max(0, offset - 20)}))}">Previous</a> '
        if offset + 20 < total:
            paging += f'<a href="/tracking?{esc(urlencode({**base, "offset": offset + 20}))}">Next</a>'
        found = table((["Select"] if may_remediate else []) + ["MID"] + (["Host"] if in_cluster else [])
                      + ["Received", "Sender", "Recipients", "Subject", "Policy", "Status"], cells, "Search results")
        if may_remediate and cells:
            found = (f'<form method="post" action="/tracking/remediate" class="remediate">{found}'
                     f'{remediate.controls(s, self.api.access.config)}</form>')
        results = (f"<p>{total} messages found; showing {offset + 1 if total else 0} to "
                   f"{min(offset + 20, total)}.</p>" + found + f'<nav aria-label="Pages" class="paging">{paging}</nav>')
        return self._page(request, "Message Tracking", form + results)

    async def tracking_message(self, request) -> web.Response:
        mid = request.match_info["mid"]
        try:
            serial = request.query.get("serialNumber")
            call = self._call(request, {"mid": int(mid), **({"serialNumber": serial} if serial else {})})
            details = (await tracking.details(call))[0]["messages"]
            dlp = (await tracking.dlp_details(call))[0]["messages"]["dlpDetails"]
            urls = (await tracking.url_details(call))[0]["messages"]["urlDetails"]
            amp = (await tracking.amp_details(call))[0]["messages"]["ampDetails"]
        except (ApiError, ValueError) as e:
            return self._refused(request, e if isinstance(e, ApiError) else ApiError(404, "Not found.", str(e)))
        facts = [("MID", mid), ("Received", details["timestamp"]), ("Sender", details["sender"]),
                 ("Recipients", ", ".join(details["recipient"])), ("Subject", details["subject"]),
                 ("Message-ID", details["midHeader"]), ("Size", details["messageSize"]),
                 ("Mail policies", ", ".join(details["mailPolicy"])), ("Sender group", details["senderGroup"]),
                 ("Sending host", details["sendingHostSummary"]["ipAddress"]),
                 ("Attachments", ", ".join(details["attachments"]) or "none"),
                 ("Status", details["messageStatus"][mid])]
        dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
        events = table(["Time", "Event"], [[esc(e["timestamp"]), esc(e["description"])] for e in details["summary"]],
                       "Processing details")
        extra = ""
        if dlp.get("dlpPolicy"):
            matches = [[esc(part["messagePart"]), esc(m["classifier"]), esc(", ".join(map(str, m["classifierMatch"])))]
                       for part in dlp["dlpMatchedContent"] for m in part["messagePartMatch"]]
            extra += (f'<h3>DLP: {esc(dlp["dlpPolicy"])} ({esc(dlp["violationSeverity"])}, risk '
                      f'{esc(dlp["riskFactor"])})</h3>' + table(["Where", "Classifier", "Matches (masked)"], matches))
        for title, items in (("URLs", urls), ("File reputation", amp)):
            if items:
                extra += f"<h3>{esc(title)}</h3>" + table(["Time", "Event"], [[esc(e["timestamp"]),
                                                                              esc(e["description"])] for e in items])
        return self._page(request, f"Message {mid}", f'<dl class="facts">{dl}</dl>{events}{extra}'
                          '<p><a href="/tracking">Back to the search</a></p>')

    # ------------------------------------------------------------ quarantines

    async def quarantines(self, request) -> web.Response:
        q = request.query
        values = {"quarantineType": "pvo", "envelopeSenderFilterOperator": "contains" if q.get("sender") else "",
                  "envelopeSenderFilterValue": q.get("sender", ""),
                  "subjectFilterOperator": "contains" if q.get("subject") else "",
                  "subjectFilterValue": q.get("subject", ""), "limit": "100"}
        try:
            params = self._api_params("GET", "/quarantine/messages", values)
            rows, meta = await quarantine.search(self._call(request, params))
        except ApiError as e:
            return self._refused(request, e)
        cells = [[f'<a href="/quarantines/{esc(r["attributes"]["inQuarantines"])}/{r["mid"]}">{r["mid"]}</a>',
                  esc(r["attributes"]["inQuarantines"]), esc(r["attributes"]["received"]),
                  esc(r["attributes"]["sender"]), esc(", ".join(r["attributes"]["recipient"])),
                  esc(r["attributes"]["subject"]), esc(r["attributes"]["reason"])] for r in rows]
        form = ('<form method="get" action="/quarantines" class="search">'
                f'<label for="qs">Sender contains</label><input id="qs" name="sender" value="{esc(q.get("sender"))}">'
                f'<label for="qj">Subject contains</label><input id="qj" name="subject" '
                f'value="{esc(q.get("subject"))}"><button type="submit">Search</button></form>')
        return self._page(request, "Quarantines", form + f"<p>{meta['totalCount']} messages held.</p>"
                          + table(["MID", "Quarantine", "Held since", "Sender", "Recipients", "Subject", "Reason"],
                                  cells, "Held messages"), notice=q.get("done", ""))

    async def quarantine_message(self, request) -> web.Response:
        name, mid = request.match_info["name"], request.match_info["mid"]
        if not mid.isdigit():
            return self._refused(request, ApiError(404, "Not found.", "No such message."))
        try:
            call = self._call(request, {"quarantineType": "pvo", "mid": int(mid), "quarantineName": name})
            held = (await quarantine.details(call))[0]
            content = await self.api.read(lambda _c: quarantine._store(call).content(name, int(mid)))
        except ApiError as e:
            return self._refused(request, e)
        a = held["attributes"]
        facts = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in (
            ("Quarantine", a["inQuarantines"]), ("Held since", a["received"]), ("Sender", a["sender"]),
            ("Recipients", ", ".join(a["recipient"])), ("Subject", a["subject"]), ("Reason", a["reason"]),
            ("Size", a["size"])))
        actions = ""
        s = request["ui_session"]
        if s.role in quarantine.ACT:
            hidden = f'{csrf_field(s)}<input type="hidden" name="quarantine" value="{esc(name)}">' \
                     f'<input type="hidden" name="mid" value="{esc(mid)}">'
            actions = (f'<form method="post" action="/quarantines/release" class="inline">{hidden}'
                       '<button type="submit">Release</button></form>'
                       f'<form method="post" action="/quarantines/delete" class="inline">{hidden}'
                       '<button type="submit" class="danger">Delete</button></form>')
        body = (f'<dl class="facts">{facts}</dl>{actions}<h3>Headers</h3><pre>{esc(a["headers"])}</pre>'
                f'<h3>Message text</h3><pre class="text">{esc(safe_text(content))}</pre>')
        return self._page(request, f"Held message {mid}", body)

    async def quarantine_action(self, request) -> web.Response:
        form = request["form"]
        action = request.match_info["action"]
        name, mid = str(form.get("quarantine", "")), str(form.get("mid", ""))
        if not mid.isdigit():
            return self._refused(request, ApiError(400, "Invalid value.", "No message was named."))
        try:
            if action == "release":
                call = self._call(request, {}, {"action": "release", "mids": [int(mid)], "quarantineName": name,
                                                "quarantineType": "pvo"})
                await quarantine.release(call)
                done = f"Message {mid} released from {name}."
            else:
                call = self._call(request, {"quarantineType": "pvo", "mids": [int(mid)], "quarantineName": name})
                await quarantine.delete(call)
                done = f"Message {mid} deleted from {name}."
        except ApiError as e:
            return self._refused(request, e)
        raise web.HTTPSeeOther("/quarantines?" + urlencode({"done": done}))

    # ------------------------------------------------------------ URL lists: a change that waits for Commit

    def _user_session(self, user: str) -> Session:
        return self.sessions.changes_of(user, self.api.access.datadir)

    def _drop_pending(self, user: str) -> None:
        self.sessions.drop_changes(user)

    def config_for(self, request):
        """What a page shows: the user's pending changes over the committed configuration."""
        session = self.sessions.pending.get(request["ui_session"].user)
        return session.config if session is not None else self.api.access.config

    async def urllists(self, request) -> web.Response:
        s = request["ui_session"]
        session = self.sessions.pending.get(s.user)
        rep = (session.config if session is not None else self.api.access.config).reputation
        can_change = s.role in CHANGE_ROLES
        body = ""
        for which, label in (("url_blocked", "Blocked"), ("url_allowed", "Allowed")):
            entries = getattr(rep, which)
            body += f"<h3>{label}</h3><ul>" + "".join(f"<li>{esc(e)}</li>" for e in entries) + "</ul>"
        if can_change:
            body += (f'<form method="post" action="/urllists" class="search">{csrf_field(s)}'
                     '<label for="which">List</label><select id="which" name="which">'
                     '<option value="url_blocked">Blocked</option><option value="url_allowed">Allowed</option>'
                     '</select><label for="entry">Domain or URL</label><input id="entry" name="entry" required>'
                     '<label for="op">Change</label><select id="op" name="op"><option value="add">Add</option>'
                     '<option value="remove">Remove</option></select><button type="submit">Submit</button></form>')
        return self._page(request, "URL Lists", body, notice=request.query.get("done", ""))

    async def urllists_change(self, request) -> web.Response:
        form = request["form"]
        s = request["ui_session"]
        which, entry, op = str(form.get("which", "")), str(form.get("entry", "")).strip(), str(form.get("op", ""))
        if which not in ("url_blocked", "url_allowed") or op not in ("add", "remove") or not entry:
            return self._refused(request, ApiError(400, "Invalid value.", "Choose a list, a change and an entry."))
        session = self._user_session(s.user)
        rep = session.config.reputation
        current = list(getattr(rep, which))
        new = current + [entry] if op == "add" and entry.lower() not in {e.lower() for e in current} else \
            [e for e in current if e.lower() != entry.lower()]
        try:
            session.stage(rep.replace(**{which: tuple(new)}))
        except ConfigError as e:
            return self._page(request, "URL Lists", f'<p class="error" role="alert">{esc(str(e))}</p>'
                              '<p><a href="/urllists">Back</a></p>', 400)
        raise web.HTTPSeeOther("/urllists?" + urlencode({"done": f"{entry}: {op} is pending; commit to apply."}))

    async def commit(self, request) -> web.Response:
        s = request["ui_session"]
        session = self.sessions.pending.get(s.user)
        comment = str(request["form"].get("comment", ""))[:1024]
        if session is None or not session.has_pending:
            raise web.HTTPSeeOther("/status")
        try:
            info = await self.api.read(lambda _c: session.commit(comment or "web interface"))
        except CommitConflict as e:
            return self._page(request, "Commit Refused", f"<p>Commit refused: {esc(str(e))}. Your changes are still "
                              "pending: abandon them and make them again on the new version.</p>", 409)
        except (NothingToCommit, ConfigError) as e:
            return self._page(request, "Commit Refused", f"<p>{esc(str(e))}</p>", 400)
        self._drop_pending(s.user)
        self.api.access.bus.emit(ConfigCommitted(os.getpid(), s.user, comment, info.id))
        await self.api.read(lambda _c: _daemon(self.api, "reload"))
        raise web.HTTPSeeOther(_back(request) + "?" + urlencode({"done": f"Changes committed (version {info.id})."}))

    async def abandon(self, request) -> web.Response:
        s = request["ui_session"]
        self._drop_pending(s.user)
        raise web.HTTPSeeOther(_back(request) + "?" + urlencode({"done": "Changes abandoned."}))


def _back(request) -> str:
    """The page a Commit or Abandon came from (only this site's own paths)."""
    back = str(request["form"].get("back", ""))
    if not re.fullmatch(r"/[a-z0-9][a-z0-9/_-]*", back) or back.startswith(("/changes", "/login")):
        return "/status"
    return back


def _daemon(api, op: str):
    try:
        return control(api.access.datadir.control_socket, op, timeout=5)
    except (DaemonUnavailable, ControlError):
        return None


def _minute(value: str) -> str:
    """A datetime-local field (2026-12-05T10:15) as the API's whole-minute time."""
    return value.strip() + ":00.000Z" if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", value.strip()) else value


def _tracking_form(q) -> str:
    ops = ("is", "begins_with", "contains", "does_not_contain")

    def op_select(name: str, label: str) -> str:
        chosen = q.get(name, "contains")
        options = "".join(f'<option value="{o}"{" selected" if o == chosen else ""}>{o.replace("_", " ")}</option>'
                          for o in ops)
        return f'<label for="{name}">{esc(label)}</label><select id="{name}" name="{name}">{options}</select>'

    def text(name: str, label: str, kind: str = "text") -> str:
        return (f'<label for="{name}">{esc(label)}</label><input id="{name}" name="{name}" type="{kind}" '
                f'value="{esc(q.get(name))}">')

    direction = q.get("mailPolicyDirection", "")
    dirs = "".join(f'<option value="{d}"{" selected" if d == direction else ""}>{d or "any"}</option>'
                   for d in ("", "incoming", "outgoing"))
    return ('<form method="get" action="/tracking" class="search"><input type="hidden" name="search" value="1">'
            '<fieldset><legend>Basic</legend>'
            + op_select("envelopeSenderfilterOperator", "Sender") + text("envelopeSenderfilterValue", "Sender value")
            + op_select("envelopeRecipientfilterOperator", "Recipient")
            + text("envelopeRecipientfilterValue", "Recipient value")
            + op_select("subjectfilterOperator", "Subject") + text("subjectfilterValue", "Subject value")
            + text("since", "From", "datetime-local") + text("until", "To", "datetime-local")
            + '</fieldset><fieldset><legend>Advanced</legend>'
            + text("messageIdHeader", "Message-ID") + text("mid", "MID") + text("senderIp", "Sender IP")
            + text("mailPolicyName", "Mail policy")
            + f'<label for="mailPolicyDirection">Direction</label><select id="mailPolicyDirection" '
              f'name="mailPolicyDirection">{dirs}</select>'
            + text("quarantineStatus", "Quarantined in (or ANY)")
            + text("dlpViolationsSeverities", "DLP severities (critical,high,...)")
            + '</fieldset><button type="submit">Search</button></form>')


def safe_text(content: bytes, limit: int = 100_000) -> str:
    """A held message's text as plain text: the text/plain parts, or HTML with every tag taken out. It is then
    escaped where it is shown: nothing in it is ever markup."""
    try:
        msg = email.message_from_bytes(content, policy=email.policy.default)
    except Exception:
        return content[:limit].decode("utf-8", "replace")
    plain, html = [], []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        try:
            text = part.get_content() if part.get_content_maintype() == "text" else ""
        except (LookupError, ValueError):
            text = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
        (html if part.get_content_subtype() == "html" else plain).append(str(text))
    if plain:
        return "\n".join(plain)[:limit]
    stripped = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", " ", "\n".join(html))
    return re.sub(r"<[^>]*>", " ", stripped)[:limit]

