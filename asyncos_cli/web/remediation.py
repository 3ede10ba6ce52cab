"""Search & remediate over the API: start a delete / forward / forward-and-delete job on tracked messages, and
read each job's status. The jobs are the ones ``remediate`` queues and the daemon runs: same rules, same table,
same status."""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.config.store import connect
from asyncos_cli.services import remediation as rm
from asyncos_cli.services import tracking_search

from .params import appliance_time
from .routes import ApiError, Param, route

START = frozenset({R.ADMINISTRATORS})  # as remediate in the shell
STATUS = frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY, R.HELP_DESK})
#: The appliance's names for the actions (mor_action), and the shell's.
ACTION_NAMES = {"delete": "Delete", "forward": "Forward", "forward-delete": "Forward and Delete"}
_ALIASES = {"delete": "delete", "forward": "forward", "forward-delete": "forward-delete",
            "forward_and_delete": "forward-delete", "fwd_delete": "forward-delete",
            "forward and delete": "forward-delete"}
_STATUS_NAMES = {"done": "Success", "failed": "Failed", "not found": "Not Found", "pending": "Pending",
                 "in progress": "In Progress"}

START_BODY = {"type": "object", "required": ["data"], "properties": {"data": {
    "type": "object", "required": ["mids", "action"], "properties": {
        "mids": {"type": "array", "items": {"type": "integer"}},
        "action": {"type": "string", "enum": sorted(_ALIASES)},
        "forwardAddress": {"type": "string"}, "profile": {"type": "string"},
        "batchName": {"type": "string"}, "batchDescription": {"type": "string"}}}}}
_JOB = {"type": "object", "properties": {"batch_details": {"type": "object"}, "message_details": {"type": "array"},
                                         "summary": {"type": "object"}}}


@route("POST", "/remediation", "Start a search & remediate job on tracked messages.", START, data=_JOB,
       body=START_BODY, tag="Search and Remediate")
async def start(call):
    body = call.body.get("data") if isinstance(call.body, dict) else None
    if not isinstance(body, dict):
        raise ApiError(400, "Missing attribute.", 'The body takes {"data": {"mids": [...], "action": "delete", '
                       '"forwardAddress": ..., "profile": ...}}.')
    mids = body.get("mids")
    if not isinstance(mids, list) or not all(isinstance(m, int) and not isinstance(m, bool) for m in mids):
        raise ApiError(400, "Invalid value.", "data.mids must be a list of MIDs (numbers).")
    action = _ALIASES.get(str(body.get("action", "")).lower())
    if action is None:
        raise ApiError(400, "Invalid value.", f"data.action is one of {', '.join(sorted(_ALIASES))}.")
    to, profile = str(body.get("forwardAddress") or ""), body.get("profile")

    def queue(conn):
        try:
            items = rm.job_items(lambda mid: tracking_search.history(conn, mid), mids, action, to,
                                 None if profile in (None, "") else str(profile), call.api.access.config)
        except rm.RemediationError as e:
            raise ApiError(400, "Invalid value.", str(e)) from None
        writer = connect(call.api.access.datadir.database)  # the readers' connections are read-only
        try:
            job_id = rm.queue_job(writer, call.principal.user, action, to, items)
            return rm.jobs(writer, job_id)[0]
        finally:
            writer.close()

    return _job(await call.query(queue)), None


@route("GET", "/remediation", "The latest search & remediate jobs and their status.", STATUS,
       (Param("limit", "integer", "How many (newest first).", low=1, high=1000),),
       {"type": "array", "items": _JOB}, tag="Search and Remediate")
async def jobs(call):
    found = await call.query(_read_jobs, None, call.params.get("limit", 20))
    return [_job(j) for j in found], {"totalCount": len(found)}


@route("GET", "/remediation/{job}", "One search & remediate job: per mailbox, and counted.", STATUS,
       (Param("job", "integer", "The job's number.", in_path=True, low=1),), _JOB, tag="Search and Remediate")
async def job(call):
    found = await call.query(_read_jobs, call.params["job"], 1)
    if not found:
        raise ApiError(404, "Resource not found.", f"There is no search & remediate job {call.params['job']}.")
    return _job(found[0]), None


def _read_jobs(conn, job_id, limit):
    try:
        return rm.jobs(conn, job_id, limit)
    except Exception as e:  # the table is made by the first job; before it there are none
        if "no such table" in str(e) or "readonly" in str(e):
            return []
        raise


def _job(j: dict) -> dict:
    counts = rm.counts(j)
    return {
        "batch_details": {"batch_id": j["id"], "b_init_username": j["user"], "mor_action": ACTION_NAMES[j["action"]],
                          "b_init_time": int(j["created"]), "forward_address": j["forward_to"] or "N/A",
                          "status": j["status"],
                          "finished": appliance_time(j["finished"]) if j.get("finished") else ""},
        "summary": {"total": len(j["items"]), "succeeded": counts.get("done", 0),
                    "failed": counts.get("failed", 0) + counts.get("not found", 0),
                    "in_progress": counts.get("pending", 0) + counts.get("in progress", 0)},
        "message_details": [{"mid": str(i["mid"]), "recipient_email": i["recipient"], "message_id": i["message_id"],
                             "profile": i["profile"] or "by domain", "mor_status": _STATUS_NAMES.get(i["status"],
                                                                                                    i["status"]),
                             "detail": i.get("detail", "")} for i in j["items"]],
        "generated": appliance_time(time.time()),
    }
