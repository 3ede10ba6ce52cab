"""Search & remediate from message tracking, and the Remediation Report Status widget.

Administrators tick messages in the tracking results, pick delete / forward / forward and delete and a remediation
profile; the job goes through the API's own handler (same rules, same table as ``remediate``), and the widget
shows each job's total, succeeded, failed and in progress, and every mailbox's status. The widget's page refreshes
its numbers from the API while a job runs (app.js); without JavaScript, reloading the page shows the same.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from .. import remediation
from ..routes import ApiError
from . import forms
from .html import csrf_field, esc, table

PATH = "/remediation"
TITLE = "Remediation Report Status"


def controls(s, config) -> str:
    """The remediation choices under the tracking results (inside the results' form)."""
    profiles = [("", "By the recipient's domain")] + [(p.name, p.name) for p in config.remediation.profiles]
    return (f'<fieldset class="remediate"><legend>Remediate the selected messages</legend>{csrf_field(s)}'
            + forms.select("action", "Remediation action", list(remediation.ACTION_NAMES.items()), "delete")
            + forms.select("profile", "Remediation profile", profiles, "")
            + forms.text_field("forwardAddress", "Forward to (forward actions)", "", forms.Problems(), kind="email")
            + '<button type="submit" class="danger">Remediate</button></fieldset>')


def selector(mid: int) -> str:
    return f'<input type="checkbox" name="mids" value="{mid}" aria-label="Select message {mid}">'


class Remediation:
    def __init__(self, pages):
        self.pages = pages

    async def start(self, request) -> web.Response:
        s = request["ui_session"]
        if s.role not in remediation.START:
            return self.pages._refused(request, ApiError(403, "Not allowed.", "Only administrators start search & "
                                                         "remediate jobs."))
        form = request["form"]
        mids = [int(m) for m in form.getall("mids", []) if str(m).isdigit()]
        if not mids:
            return await self.status(request, "Select the messages to remediate in the tracking results.", 400)
        body = {"data": {"mids": mids, "action": str(form.get("action", "")),
                         "forwardAddress": str(form.get("forwardAddress", "")).strip(),
                         "profile": str(form.get("profile", ""))}}
        try:
            job, _ = await remediation.start(self.pages._call(request, {}, body))
        except ApiError as e:
            return await self.status(request, e.explanation, e.status)
        job_id = job["batch_details"]["batch_id"]
        raise web.HTTPSeeOther(PATH + "?" + urlencode({"done": f"Job {job_id} queued for {len(mids)} message{'s' if len(mids) != 1 else ''}."}))

    async def status(self, request, error: str = "", code: int = 200) -> web.Response:
        try:
            found, _ = await remediation.jobs(self.pages._call(request, {"limit": 20}))
        except ApiError as e:
            return self.pages._refused(request, e)
        body = f'<p class="error" role="alert">{esc(error)}</p>' if error else ""
        if not found:
            body += "<p>No search &amp; remediate jobs yet: start one from the Message Tracking results.</p>"
        rows, details = [], ""
        for j in found:
            b, n = j["batch_details"], j["summary"]
            jid = b["batch_id"]
            rows.append([f'<a href="#job-{jid}">{jid}</a>', esc(b["mor_action"]), esc(b["b_init_username"]),
                         *(f'<span data-job="{jid}" data-count="{k}">{n[k]}</span>'
                           for k in ("total", "succeeded", "failed", "in_progress")),
                         f'<span data-job="{jid}" data-count="status">{esc(_state(j))}</span>'])
            mailboxes = [[esc(m["mid"]), esc(m["recipient_email"]), esc(m["profile"]),
                          f'<span data-job="{jid}" data-item="{i}">{esc(m["mor_status"])}</span>',
                          esc(m["detail"])] for i, m in enumerate(j["message_details"])]
            details += (f'<details id="job-{jid}"><summary>Job {jid}: {esc(b["mor_action"])}'
                        f'{" to " + esc(b["forward_address"]) if b["forward_address"] != "N/A" else ""}</summary>'
                        + table(["MID", "Mailbox", "Profile", "Status", "Detail"], mailboxes, f"Job {jid} mailboxes")
                        + "</details>")
        if rows:
            body += ('<section data-remediation="1" aria-label="Remediation Report Status" class="widget">'
                     + table(["Batch", "Action", "Initiated by", "Total", "Succeeded", "Failed", "In progress",
                              "Status"], rows, "Jobs, newest first")
                     + '<p class="small"><span id="remediation-refreshed" aria-live="polite"></span></p></section>'
                     + details)
        return self.pages._page(request, TITLE, body, code, notice=request.query.get("done", ""))


def _state(job: dict) -> str:
    return "Completed" if job["summary"]["in_progress"] == 0 else "In Progress"
