"""Message tracking over the API: the search, and one message's details, connection, AMP, DLP and URL views.

Answers follow the appliance's attribute names (``mid`` a list, ``messageStatus`` keyed by MID, times ending
in ``(GMT +00:00)``), so clients written for the appliance read them unchanged.
"""

from __future__ import annotations

from asyncos_cli.config.cluster import Membership
from asyncos_cli.control.client import ControlError, DaemonUnavailable, request
from asyncos_cli.services import tracking_search

from .params import appliance_time
from .routes import TRACKING, ApiError, Param, route

STATUS_WORDS = {"DELIVERED": "Delivered", "QUARANTINED": "Quarantined", "BOUNCED": "Hard Bounced",
                "DROPPED": "Dropped", None: "Processing"}

_SEVERITY = "(?:critical|high|medium|low|CRITICAL|HIGH|MEDIUM|LOW)"
SEVERITIES = f"^{_SEVERITY}(?:,{_SEVERITY})*$"
_SCORE = r"-?(?:10(?:\.0+)?|\d(?:\.\d+)?)"
SBRS_RANGE = f"^{_SCORE}:{_SCORE}$"

COMMON = (Param("startDate", "date", "From this minute (2026-12-05T10:00:00.000Z)."),
          Param("endDate", "date", "Until this minute, not included."),
          Param("device_type", "choice", "The appliance type.", choices=("esa",)),
          Param("serialNumber", description="The appliance's serial number."))

SEARCH = (*COMMON,
          Param("searchOption", "choice", "What to search.", choices=("messages",)),
          Param("ciscoHost", description="The appliance to search (All_Hosts: every one)."),
          Param("offset", "integer", "Messages to skip.", high=10**9),
          Param("limit", "integer", "Messages to return (1 to 1000; 20 by default).", low=1, high=1000),
          Param("orderBy", "choice", "The sort key.", choices=("timestamp", "mid")),
          Param("orderDir", "choice", "The sort direction.", choices=("asc", "desc")),
          Param("envelopeSenderfilterOperator", "operator"), Param("envelopeSenderfilterValue"),
          Param("envelopeRecipientfilterOperator", "operator"), Param("envelopeRecipientfilterValue"),
          Param("subjectfilterOperator", "operator"), Param("subjectfilterValue"),
          Param("senderIp", description="The connecting host's address."),
          Param("messageIdHeader", description="The Message-ID header."),
          Param("mailPolicyName", description="A mail policy's name."),
          Param("mailPolicyDirection", "choice", choices=("incoming", "outgoing")),
          Param("mid", "integer", "A MID (repeatable).", repeatable=True),
          Param("icid", "integer", "An ICID (repeatable).", repeatable=True),
          Param("quarantineStatus", description="Quarantined messages: a quarantine's name, or ANY."),
          Param("dlpViolationsSeverities", description="DLP severities, comma-separated (critical,high,medium,low).",
                pattern=SEVERITIES),
          Param("ipReputation", description="An SBRS range, LOW:HIGH (e.g. -10:-3).", pattern=SBRS_RANGE),
          Param("attachmentNameOperator", "operator"), Param("attachmentNameValue"),
          Param("fileSha256", description="An attachment's SHA-256 (64 hex digits).", pattern="^[0-9a-fA-F]{64}$"))

DETAIL = (*COMMON, Param("mid", "integer", "The message's MID.", required=True),
          Param("icid", "integer", "The connection's ICID."))

_TEXT = {"type": "string"}
_STRINGS = {"type": "array", "items": _TEXT}
_INTS = {"type": "array", "items": {"type": "integer"}}
_EVENTS = {"type": "array", "items": {"type": "object", "properties": {
    "timestamp": _TEXT, "description": _TEXT, "lastEvent": {"type": "boolean"}}}}
_MESSAGE = {"type": "object", "properties": {
    "mid": _INTS, "icid": {"type": "integer"}, "allIcid": _INTS, "sender": _TEXT, "recipient": _STRINGS,
    "subject": _TEXT, "timestamp": _TEXT, "direction": _TEXT, "messageStatus": {"type": "object"},
    "mailPolicy": _STRINGS, "senderGroup": _TEXT, "senderIp": _TEXT, "sbrs": _TEXT, "hostName": _TEXT,
    "serialNumber": _TEXT, "senderDomain": _TEXT, "messageID": {"type": "object"}, "replyTo": _TEXT,
    "isCompleteData": {"type": "boolean"}, "verdictChart": _TEXT}}
SEARCH_DATA = {"type": "array", "items": {"type": "object", "properties": {"attributes": _MESSAGE}}}
_HOST = {"type": "object", "properties": {"ipAddress": _TEXT, "reverseDnsHostname": _TEXT, "sbrsScore": _TEXT}}
_DETAIL = {"type": "object", "properties": {
    "mid": _INTS, "sender": _TEXT, "recipient": _STRINGS, "subject": _TEXT, "timestamp": _TEXT,
    "direction": _TEXT, "hostName": _TEXT, "messageSize": _TEXT, "midHeader": _TEXT, "mailPolicy": _STRINGS,
    "senderGroup": _TEXT, "attachments": _STRINGS, "sendingHostSummary": _HOST, "messageStatus": {"type": "object"},
    "summary": _EVENTS, "ampDetails": _EVENTS, "urlDetails": _EVENTS, "dlpDetails": {"type": "object"},
    "smtpAuthId": _TEXT, "isCompleteData": {"type": "boolean"}}}
DETAIL_DATA = {"type": "object", "properties": {"messages": _DETAIL}}


# ---------------------------------------------------------------- the search


@route("GET", "/message-tracking/messages", "Search tracked messages.", TRACKING, SEARCH, SEARCH_DATA,
       tag="Message Tracking")
async def messages(call):
    p = call.params
    criteria = _criteria(p)
    limit, offset = p.get("limit", 20), p.get("offset", 0)
    newest_first = p.get("orderDir", "desc") == "desc"
    member = Membership.load(call.api.access.datadir)
    if member is None:
        _check_serial(call, p)
        rows, total = await call.query(tracking_search.api_search, criteria, offset, limit, newest_first)
        return [{"attributes": _attributes(r, _host(call), call.api.access.serial)} for r in rows], \
            {"totalCount": total}
    rows, total, machines = await call.query(_everywhere, member, _host_wanted(call, p), criteria, offset, limit,
                                             newest_first)
    own = (_host(call), call.api.access.serial)
    return [{"attributes": _attributes(r, *(own if r["machine"] == member.machine else (
        machines[r["machine"]]["hostname"], machines[r["machine"]]["serial"])))} for r in rows], {"totalCount": total}


def _host_wanted(call, p: dict) -> str | None:
    """The one machine a search in a cluster is limited to (by its serial number, or the SMA's ciscoHost: its
    machine or host name), or None for every machine."""
    serial, host = p.get("serialNumber"), p.get("ciscoHost")
    if serial:
        return "serial:" + serial
    return None if not host or host == "All_Hosts" else "host:" + host


def _everywhere(conn, member, wanted: str | None, criteria: dict, offset: int, limit: int, newest_first: bool):
    """This machine's records and the other machines' shipped ones, merged: (page, total, machines by name)."""
    import psycopg

    from asyncos_cli.config.cluster import ClusterTables
    from asyncos_cli.services.cluster_tracking import ClusterTracking

    try:
        with member.connect() as pg:
            machines = {m["name"]: m for m in ClusterTables(pg).machines()}
            chosen = [name for name, m in machines.items()
                      if wanted is None or wanted in (f"serial:{m['serial']}", f"host:{name}", f"host:{m['hostname']}")]
            if wanted is not None and not chosen:
                raise ApiError(404, "Resource not found.", f"No machine of the cluster {member.cluster} is "
                                                           f"{wanted.split(':', 1)[1]}.")
            others = [name for name in chosen if name != member.machine]
            found, total = ClusterTracking(pg).api_search(criteria, 0, offset + limit, newest_first, others) \
                if others else ([], 0)
    except psycopg.OperationalError:  # the cluster's store is away: this machine's messages are still here
        machines, chosen, found, total = {}, [member.machine], [], 0
    if member.machine in chosen:
        local, n = tracking_search.api_search(conn, criteria, 0, offset + limit, newest_first)
        found += [{**r, "machine": member.machine} for r in local]
        total += n
    found.sort(key=lambda r: (r.get("received") or 0, r["mid"]), reverse=newest_first)
    return found[offset:offset + limit], total, machines


def _host(call) -> str:
    """``esa.example.com (192.0.2.10)``: the appliance names itself with its first interface's address."""
    config = call.api.access.config
    interfaces = config.interfaces.interfaces
    return f"{config.system.hostname} ({interfaces[0].address})" if interfaces else config.system.hostname


def _criteria(p: dict) -> dict:
    c: dict = {}
    if "startDate" in p:
        c["since"] = p["startDate"]
    if "endDate" in p:
        c["until"] = p["endDate"]
    if "startDate" in p and "endDate" in p and p["endDate"] < p["startDate"]:
        raise ApiError(400, "Invalid date.", "endDate must not come before startDate.")
    for key, stem in (("sender", "envelopeSender"), ("recipient", "envelopeRecipient"), ("subject", "subject")):
        op, value = p.get(f"{stem}filterOperator"), p.get(f"{stem}filterValue")
        if value:  # an operator alone filters nothing (forms send one with an empty value)
            c[key] = (op or "is", value)
    if p.get("attachmentNameValue"):
        c["attachment"] = (p.get("attachmentNameOperator") or "is", p["attachmentNameValue"])
    if p.get("fileSha256"):
        c["sha256"] = p["fileSha256"].lower()
    for key, name in (("ip", "senderIp"), ("message_id", "messageIdHeader"), ("policy", "mailPolicyName"),
                      ("direction", "mailPolicyDirection")):
        if p.get(name):
            c[key] = p[name]
    if "message_id" in c and not c["message_id"].startswith("<"):
        c["message_id"] = f"<{c['message_id']}>"
    c["mids"], c["icids"] = p.get("mid", []), p.get("icid", [])
    if "quarantineStatus" in p:
        c["quarantined"] = "" if p["quarantineStatus"].upper() in ("ANY", "ALL", "") else p["quarantineStatus"]
    if p.get("dlpViolationsSeverities"):
        c["dlp_severities"] = p["dlpViolationsSeverities"].split(",")
    if "ipReputation" in p:
        low, high = (float(x) for x in p["ipReputation"].split(":"))
        c["sbrs_range"] = (low, high)  # LOW above HIGH matches nothing
    return c


def _check_serial(call, p: dict) -> None:
    if p.get("serialNumber") and p["serialNumber"] != call.api.access.serial:
        raise ApiError(404, "Resource not found.", f"This appliance's serial number is not {p['serialNumber']}.")


def _status(r: dict) -> str:
    return STATUS_WORDS.get(r.get("final_action"), str(r.get("final_action")).title())


def _policies(r: dict) -> list[str]:
    return [p.split(" ", 1)[-1] for p in r.get("policies", [])]


def _attributes(r: dict, hostname: str, serial: str) -> dict:
    mid = r["mid"]
    sender = r.get("sender", "")
    return {
        "mid": [mid], "icid": r.get("icid"), "allIcid": [r.get("icid")], "sender": sender,
        "recipient": list(r.get("recipients", [])), "subject": r.get("subject", ""),
        "timestamp": appliance_time(r.get("received")), "direction": r.get("direction", "incoming"),
        "messageStatus": {str(mid): _status(r)}, "mailPolicy": _policies(r), "senderGroup": r.get("sender_group", ""),
        "senderIp": r.get("remote_ip", ""), "sbrs": str(r.get("sbrs", "None")), "hostName": hostname,
        "serialNumber": serial, "senderDomain": sender.rpartition("@")[2], "messageID": {str(mid): r.get(
            "message_id", "")}, "replyTo": "N/A", "isCompleteData": r.get("finished") is not None,
        "verdictChart": _verdict_chart(r),
    }


def _verdict_chart(r: dict) -> str:
    """The stages a message went through and what each said, compactly (the appliance draws it)."""
    return ", ".join(f"{stage}: {v.get('verdict')}" for stage, v in r.get("verdicts", {}).items())


# ---------------------------------------------------------------- one message


async def _one(call) -> dict:
    p = call.params
    member = Membership.load(call.api.access.datadir)
    if member is not None and p.get("serialNumber") and p["serialNumber"] != call.api.access.serial:
        record = await call.query(_record_of, member, p["serialNumber"], p["mid"])
    else:
        _check_serial(call, p)
        record = await call.query(_record, call.api.access.datadir.control_socket, p["mid"])
    if record is None or ("icid" in p and record.get("icid") != p["icid"]):
        raise ApiError(404, "Resource not found.", f"No tracked message has MID {p['mid']}"
                       + (f" and ICID {p['icid']}." if "icid" in p else "."))
    return record


def _record_of(conn, member, serial: str, mid: int) -> dict | None:
    """A finished message of another machine of the cluster, named by its serial number (MIDs are each
    machine's own: the appliance's serialNumber says whose)."""
    from asyncos_cli.config.cluster import ClusterTables
    from asyncos_cli.services.cluster_tracking import ClusterTracking

    with member.connect() as pg:
        names = [m["name"] for m in ClusterTables(pg).machines() if m["serial"] == serial]
        if not names:
            raise ApiError(404, "Resource not found.", f"No machine of the cluster {member.cluster} has the serial "
                                                       f"number {serial}.")
        rows, _ = ClusterTracking(pg).api_search({"mids": [mid]}, 0, 1, True, names)
    return rows[0] if rows else None


def _record(conn, socket_path, mid: int) -> dict | None:
    """A finished message from the database, or one still in flight from the daemon."""
    found = tracking_search.history(conn, mid)
    if found is not None:
        direction = conn.execute("SELECT direction FROM tracking_meta WHERE mid = ?", (mid,)).fetchone()
        found["direction"] = direction[0] if direction else "incoming"
        return found
    try:
        live = request(socket_path, "tracking", timeout=2, mid=mid)
    except (DaemonUnavailable, ControlError):
        return None
    if live is not None:
        live["direction"] = "outgoing" if any(x.startswith("outgoing") for x in live.get("policies", [])) \
            else "incoming"
    return live


def _base(r: dict, hostname: str) -> dict:
    return {
        "mid": [r["mid"]], "sender": r.get("sender", ""), "recipient": list(r.get("recipients", [])),
        "subject": r.get("subject", ""), "timestamp": appliance_time(r.get("received")),
        "direction": r.get("direction", "incoming"), "hostName": hostname, "messageSize": f"{r.get('size', 0)} (B)",
        "midHeader": r.get("message_id", ""), "mailPolicy": _policies(r), "senderGroup": r.get("sender_group", ""),
        "attachments": [a[0] for a in r.get("attachments", [])], "smtpAuthId": "",
        "sendingHostSummary": {"ipAddress": r.get("remote_ip", ""), "reverseDnsHostname": "(unverified)",
                               "sbrsScore": str(r.get("sbrs", "None"))},
        "messageStatus": {str(r["mid"]): _status(r)}, "isCompleteData": r.get("finished") is not None,
    }


def _events(pairs: list[tuple[float | None, str]]) -> list[dict]:
    return [{"timestamp": appliance_time(at), "description": text, "lastEvent": i == len(pairs) - 1}
            for i, (at, text) in enumerate(pairs)]


def _summary(r: dict) -> list[dict]:
    mid, at = r["mid"], r.get("received")
    pairs = [(at, f"Incoming connection (ICID {r.get('icid')}) from {r.get('remote_ip') or 'unknown'}, sender group "
                  f"{r.get('sender_group') or 'none'}, SBRS {r.get('sbrs', 'None')}"),
             (at, f"Message {mid} Sender Group {r.get('sender_group') or 'none'}"),
             (at, f"Message {mid} on incoming connection (ICID {r.get('icid')})."),
             (at, f"Message {mid} enqueued on incoming connection (ICID {r.get('icid')}) from {r.get('sender')}.")]
    pairs += [(at, f"Message {mid} to: {rcpt}") for rcpt in r.get("recipients", [])]
    if r.get("subject"):
        pairs.append((at, f"Message {mid} Subject '{r['subject']}'"))
    pairs += [(at, f"Message {mid} matched per-recipient policy {p.split(' ', 1)[-1]} for {p.split(' ', 1)[0]} "
                   "mail policies.") for p in r.get("policies", [])]
    pairs += [(at, f"Message {mid} scanned by {stage}. Verdict: {v.get('verdict')}"
                   + (f" ({v['detail']})" if v.get("detail") else "")) for stage, v in r.get("verdicts", {}).items()]
    if r.get("final_action"):
        detail = f": {r['final_detail']}" if r.get("final_detail") else ""
        pairs.append((r.get("finished"), f"Message {mid} {_status(r).lower()}{detail}"))
    for a in r.get("quarantine_actions", []):
        new = f" as MID {a['new_mid']}" if a.get("new_mid") else ""
        by = f" by {a['by']}" if a.get("by") else ""
        pairs.append((a.get("at"), f"Message {mid} {a.get('action')} from quarantine {a.get('quarantine')}{new}{by}"))
    return _events(pairs)


@route("GET", "/message-tracking/details", "One message: envelope, policies, each stage's verdict, delivery.",
       TRACKING, DETAIL, DETAIL_DATA, tag="Message Tracking")
async def details(call):
    r = await _one(call)
    return {"messages": {**_base(r, _host(call)), "summary": _summary(r),
                         "showAMP": bool(r.get("amp")), "showDLP": bool(r.get("dlp")),
                         "showURL": bool(r.get("urls")), "showSummaryTimeBox": True}}, None


@route("GET", "/message-tracking/connection-details", "The connection a message came on.", TRACKING, DETAIL,
       DETAIL_DATA, tag="Message Tracking")
async def connection_details(call):
    r = await _one(call)
    at = r.get("received")
    events = _events([(at, f"Incoming connection (ICID {r.get('icid')}) successfully accepted from "
                           f"{r.get('remote_ip') or 'unknown'}."),
                      (at, f"ICID {r.get('icid')} sender group {r.get('sender_group') or 'none'}, SBRS "
                           f"{r.get('sbrs', 'None')}."),
                      (at, f"Message {r['mid']} on incoming connection (ICID {r.get('icid')}).")])
    return {"messages": {**_base(r, _host(call)), "icid": r.get("icid"),
                         "summary": events}}, None


@route("GET", "/message-tracking/amp-details", "File reputation (AMP) answers for a message's attachments.",
       TRACKING, DETAIL, DETAIL_DATA, tag="Message Tracking")
async def amp_details(call):
    r = await _one(call)
    at = r.get("received")
    pairs = []
    for a in r.get("amp", []):
        pairs.append((at, f"File reputation query initiating. File Name = '{a.get('file')}', SHA256 = "
                          f"{a.get('sha256')}"))
        pairs.append((at, f"Response received for file reputation query from Cloud. File Name = '{a.get('file')}', "
                          f"Disposition = {a.get('verdict')}, Malware = {a.get('threat') or 'None'}"))
    return {"messages": {**_base(r, _host(call)), "ampDetails": _events(pairs),
                         "showAMPDetails": bool(pairs)}}, None


@route("GET", "/message-tracking/dlp-details", "DLP incidents of a message, with matches masked.", TRACKING,
       DETAIL, DETAIL_DATA, tag="Message Tracking")
async def dlp_details(call):
    r = await _one(call)
    incidents = r.get("dlp", [])
    first = incidents[0] if incidents else {}
    parts: dict[str, list] = {}
    for incident in incidents:
        for m in incident.get("matches", []):
            parts.setdefault(m.get("where", "body"), []).append(
                {"classifier": m.get("classifier"), "classifierMatch": [m.get("masked")]})
    dlp = {"dlpPolicy": first.get("policy", ""), "violationSeverity": first.get("severity", ""),
           "riskFactor": first.get("risk_factor", 0), "mid": r["mid"],
           "dlpMatchedContent": [{"messagePart": part, "messagePartMatch": matches} for part, matches in parts.items()]}
    return {"messages": {**_base(r, _host(call)), "dlpDetails": dlp,
                         "showDLPDetails": bool(incidents)}}, None


@route("GET", "/message-tracking/url-details", "URLs found in a message and what each was judged.", TRACKING,
       DETAIL, DETAIL_DATA, tag="Message Tracking")
async def url_details(call):
    r = await _one(call)
    at = r.get("received")
    pairs = [(at, f"Message {r['mid']} URL {u.get('url')} in {u.get('attachment') or 'the body'}: "
                  f"{u.get('verdict')} ({u.get('source')})") for u in r.get("urls", [])]
    pairs += [(c.get("at"), f"Message {r['mid']} URL {c.get('url')} clicked by {c.get('recipient')}: "
                            f"{c.get('action')}") for c in r.get("clicks", [])]
    return {"messages": {**_base(r, _host(call)), "urlDetails": _events(pairs),
                         "showURLDetails": bool(pairs)}}, None
