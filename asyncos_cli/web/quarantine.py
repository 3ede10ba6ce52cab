"""Policy quarantines over the API (``quarantineType=pvo``): search, one message, release and delete.

Reads come from the quarantine store; release and delete go through the daemon (the queue manager is the only
writer of queue and quarantine state), which logs them in mail_logs and adds them to the message's tracking
record. The spam quarantine (``quarantineType=spam``, the appliance's ISQ) is not supported yet.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.control.client import ControlError, DaemonUnavailable, request
from asyncos_cli.services.quarantine import QuarantineStore

from .params import appliance_time
from .routes import ApiError, Param, route

READ = frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY, R.HELP_DESK})
ACT = frozenset({R.ADMINISTRATORS, R.OPERATORS, R.HELP_DESK})
TYPE = Param("quarantineType", "choice", "pvo: the policy, virus and outbreak quarantines (the spam quarantine, "
             "spam, is not supported yet).", choices=("pvo",), required=True)
FILTERS = (("envelopeSender", "sender"), ("envelopeRecipient", "recipient"), ("subject", "subject"))

SEARCH = (TYPE, Param("quarantines", description="Quarantine names, comma-separated (all when absent)."),
          Param("startDate", "date"), Param("endDate", "date"),
          Param("offset", "integer", high=10**9), Param("limit", "integer", low=1, high=1000),
          Param("orderBy", "choice", choices=("received", "sender", "subject", "size")),
          Param("orderDir", "choice", choices=("asc", "desc")), Param("device_type", "choice", choices=("esa",)),
          *(p for stem, _ in FILTERS for p in (Param(f"{stem}FilterOperator", "operator"),
                                               Param(f"{stem}FilterValue"))))
ONE = (TYPE, Param("mid", "integer", required=True), Param("quarantineName"),
       Param("device_type", "choice", choices=("esa",)))
DELETE = (TYPE, Param("mids", "integer", "The messages (repeatable).", repeatable=True, required=True),
          Param("quarantineName", required=True), Param("device_type", "choice", choices=("esa",)))
ACTION_BODY = {"type": "object", "required": ["action", "mids", "quarantineType"], "properties": {
    "action": {"type": "string", "enum": ["release"]}, "mids": {"type": "array", "items": {"type": "integer"}},
    "quarantineName": {"type": "string"}, "quarantineType": {"type": "string", "enum": ["pvo"]}}}

_TEXT = {"type": "string"}
_HELD = {"type": "object", "properties": {"mid": {"type": "integer"}, "attributes": {"type": "object", "properties": {
    "received": _TEXT, "sender": _TEXT, "recipient": {"type": "array", "items": _TEXT}, "subject": _TEXT,
    "size": _TEXT, "inQuarantines": _TEXT, "reason": _TEXT, "policy": _TEXT}}}}


def _pvo_only(p: dict) -> None:
    if p["quarantineType"] != "pvo":
        raise ApiError(400, "Not supported yet.", "The spam quarantine (quarantineType=spam) is not supported yet; "
                       "policy quarantines are quarantineType=pvo.")


def _store(call) -> QuarantineStore:
    return QuarantineStore(call.api.access.datadir.quarantine)


def _names(call, wanted: str | None) -> list[str]:
    configured = [q.name for q in call.api.access.config.quarantines.quarantines]
    if not wanted:
        return configured
    names = [n.strip() for n in wanted.split(",") if n.strip()]
    unknown = [n for n in names if n not in configured]
    if unknown:
        raise ApiError(404, "Resource not found.", f"No quarantine is named {', '.join(unknown)}.")
    return names


def _attributes(h) -> dict:
    return {"received": appliance_time(h.held_at), "sender": h.sender, "recipient": list(h.recipients),
            "subject": h.subject, "size": f"{h.size / 1024:.2f}K", "inQuarantines": h.quarantine, "reason": h.reason,
            "policy": h.policy}


def _matches(h, p: dict) -> bool:
    for stem, field in FILTERS:
        value = p.get(f"{stem}FilterValue")
        if not value:
            continue
        op = p.get(f"{stem}FilterOperator") or "is"
        texts = [a.lower() for a in h.recipients] if field == "recipient" else [str(getattr(h, field)).lower()]
        v = value.lower()
        hit = {"is": lambda t: t == v, "begins_with": lambda t: t.startswith(v), "contains": lambda t: v in t,
               "does_not_contain": lambda t: v in t}[op]
        found = any(hit(t) for t in texts)
        if found == (op == "does_not_contain"):
            return False
    if "startDate" in p and h.held_at < p["startDate"]:
        return False
    return not ("endDate" in p and h.held_at >= p["endDate"])


@route("GET", "/quarantine/messages", "Search policy quarantines.", READ, SEARCH,
       {"type": "array", "items": _HELD}, tag="Quarantines")
async def search(call):
    p = call.params
    _pvo_only(p)
    names = _names(call, p.get("quarantines"))

    def held(_conn):
        store = _store(call)
        return [h for n in names for h in store.held(n) if _matches(h, p)]

    found = await call.query(held)
    key = {"received": lambda h: h.held_at, "sender": lambda h: h.sender.lower(),
           "subject": lambda h: h.subject.lower(), "size": lambda h: h.size}[p.get("orderBy", "received")]
    found.sort(key=key, reverse=p.get("orderDir", "desc") == "desc")
    offset, limit = p.get("offset", 0), p.get("limit", 100)
    return [{"mid": h.mid, "attributes": _attributes(h)} for h in found[offset:offset + limit]], \
        {"totalCount": len(found)}


@route("GET", "/quarantine/messages/details", "One held message, with its headers.", READ, ONE, _HELD,
       tag="Quarantines")
async def details(call):
    p = call.params
    _pvo_only(p)
    names = _names(call, p.get("quarantineName"))

    def find(_conn):
        store = _store(call)
        for n in names:
            h = store.get(n, p["mid"])
            if h is not None:
                return h, store.content(n, p["mid"])
        return None

    found = await call.query(find)
    if found is None:
        raise ApiError(404, "Resource not found.", f"No quarantine holds message {p['mid']}.")
    h, content = found
    headers = content.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace")
    return {"mid": h.mid, "attributes": {**_attributes(h), "headers": headers}}, None


def _control(call, op: str, **params) -> dict:
    try:
        return request(call.api.access.datadir.control_socket, op, timeout=30, **params)
    except DaemonUnavailable:
        raise ApiError(503, "Service unavailable.", "The gateway daemon is not running.") from None
    except ControlError as e:
        raise ApiError(404, "Resource not found.", str(e)) from None


def _held_in(call, name: str | None, mids: list[int]) -> str:
    """The quarantine holding the messages: the one named, or the one that holds them all."""
    names = _names(call, name)
    store = _store(call)
    holders = {n for n in names for m in mids if store.get(n, m) is not None}
    missing = [m for m in mids if not any(store.get(n, m) for n in names)]
    if missing:
        raise ApiError(404, "Resource not found.", f"Not held in {name or 'any quarantine'}: "
                       f"{', '.join(map(str, missing))}.")
    if len(holders) != 1:
        raise ApiError(400, "Missing attribute.", "The messages are in several quarantines: name one "
                       "(quarantineName).")
    return holders.pop()


@route("POST", "/quarantine/messages", "Release held messages: they are delivered.", ACT,
       data={"type": "object"}, body=ACTION_BODY, tag="Quarantines")
async def release(call):
    body = call.body if isinstance(call.body, dict) else {}
    if body.get("action") != "release":
        raise ApiError(400, "Invalid value.", 'The body takes {"action": "release", "mids": [...], '
                       '"quarantineType": "pvo", "quarantineName": ...}.')
    _pvo_only({"quarantineType": body.get("quarantineType")})
    mids = body.get("mids")
    if not isinstance(mids, list) or not mids or not all(isinstance(m, int) and m >= 0 for m in mids):
        raise ApiError(400, "Invalid value.", "mids must be a list of message IDs.")
    name = await call.query(lambda _c: _held_in(call, body.get("quarantineName"), mids))
    done = await call.query(lambda _c: _control(call, "quarantine_release", name=name, mids=mids,
                                                user=call.principal.user))
    return {"action": "release", "quarantineName": name, "totalCount": len(done["released"]),
            "released": {m: int(n) for m, n in done["released"].items()}}, None


@route("DELETE", "/quarantine/messages", "Delete held messages for good.", ACT, DELETE, {"type": "object"},
       tag="Quarantines", body_is_params=True)
async def delete(call):
    p = call.params
    _pvo_only(p)
    name = await call.query(lambda _c: _held_in(call, p["quarantineName"], p["mids"]))
    done = await call.query(lambda _c: _control(call, "quarantine_delete", name=name, mids=p["mids"],
                                                user=call.principal.user))
    return {"action": "delete", "quarantineName": name, "totalCount": len(done["deleted"]),
            "deleted": done["deleted"]}, None
