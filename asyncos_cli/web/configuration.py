"""Configuration over the API: every section readable as JSON, and writes to the lists the appliance's API writes.

Reads come from the same declarations the shell uses (``to_data``); secrets stay sealed for administrators and
are masked for every other role, as ``showconfig`` does. Writes (URL lists, file hash lists, message filters)
build the new section through its declared rules, so a bad value gets the shell's message (a filter script is
checked by the scanning engine in the daemon, as ``filters import`` checks it), and commit at once as the
calling user with the request's ``comment``; a ``version`` given in the body (the section's ``changedIn`` the
client read) that is no longer current, or a commit that races another, is a 409. Content dictionaries do not
exist in this gateway yet, so neither do their routes.
"""

from __future__ import annotations

import os

from asyncos_cli.auth import roles as R
from asyncos_cli.config.cluster import open_store
from asyncos_cli.config.fields import ConfigError, to_data
from asyncos_cli.config.schema import SECTION_BY_NAME, HashList
from asyncos_cli.config.session import Session
from asyncos_cli.config.store import CommitConflict, NothingToCommit
from asyncos_cli.control.client import nudge
from asyncos_cli.events.system import ConfigCommitted

from .routes import ApiError, Param, route

READ = frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY})
WRITE = frozenset({R.ADMINISTRATORS, R.OPERATORS})
MASK = "*****"
URL_LISTS = {"blocked": "url_blocked", "allowed": "url_allowed"}

_WRITE_BODY = {"type": "object", "properties": {
    "data": {"type": "object"}, "comment": {"type": "string"},
    "version": {"type": "integer", "description": "The section's changedIn when the client read it."}}}
_URLS_BODY = {"type": "object", "required": ["data"], "properties": {
    **_WRITE_BODY["properties"], "data": {"type": "object", "required": ["urls"], "properties": {
        "urls": {"type": "array", "items": {"type": "string"}}}}}}
_HASHES_BODY = {"type": "object", "required": ["data"], "properties": {
    **_WRITE_BODY["properties"], "data": {"type": "object", "required": ["hashes"], "properties": {
        "hashes": {"type": "array", "items": {"type": "string"}}, "description": {"type": "string"}}}}}
_COMMITTED = {"type": "object", "properties": {"section": {"type": "string"}, "configVersion": {"type": "integer"},
                                               "comment": {"type": "string"}, "changed": {"type": "boolean"}}}


def _visible(value, admin: bool):
    """Sealed secrets for administrators, masked for the others."""
    if isinstance(value, dict):
        if set(value) == {"$secret"}:
            return value if admin else MASK
        return {k: _visible(v, admin) for k, v in value.items()}
    if isinstance(value, list):
        return [_visible(v, admin) for v in value]
    return value


@route("GET", "/config/sections", "Every configuration section: name, title, the version it last changed in.",
       READ, data={"type": "array"}, tag="Configuration")
async def sections(call):
    snap = call.api.access.snapshot
    return [{"name": s.name, "title": s.title, "changedIn": snap.changed_in.get(s.name, 0)}
            for s in snap.config.sections()], {"totalCount": len(SECTION_BY_NAME), "configVersion": snap.version.id}


@route("GET", "/config/sections/{section}", "One configuration section as JSON, as the shell declares it.", READ,
       (Param("section", "choice", "The section.", choices=tuple(SECTION_BY_NAME), in_path=True),),
       {"type": "object"}, tag="Configuration")
async def section(call):
    snap = call.api.access.snapshot
    name = call.params["section"]
    admin = call.principal.role == R.ADMINISTRATORS
    return {"name": name, "title": SECTION_BY_NAME[name].title, "changedIn": snap.changed_in.get(name, 0),
            "configVersion": snap.version.id, "settings": _visible(to_data(snap.config[name]), admin)}, None


# ---------------------------------------------------------------- writes


def _body(call) -> dict:
    if not isinstance(call.body, dict):
        raise ApiError(400, "Missing attribute.", 'The body takes {"data": {...}, "comment": "...", "version": N}.')
    return call.body


async def _commit(call, section_name: str, change) -> dict:
    """Stage ``change(current section)`` and commit it as the caller; 409 on a conflict."""
    body = _body(call)
    comment = body.get("comment", "")
    if not isinstance(comment, str) or len(comment) > 1024:
        raise ApiError(400, "Invalid value.", "comment must be text (1024 characters at most).")
    base = body.get("version")
    if "version" in body and (not isinstance(base, int) or isinstance(base, bool)):
        raise ApiError(400, "Invalid value.", "version must be the section's changedIn (a number).")
    user = call.principal.user

    def commit(_conn):
        store = open_store(call.api.access.datadir, editing=True)
        try:
            session = Session(store, user)
            current = session.snapshot.changed_in.get(section_name, 0)
            if base is not None and base != current:
                raise ApiError(409, "Conflict.", f"The section '{section_name}' changed in version {current} after "
                               f"version {base} that you read: read it again.")
            try:
                session.stage(change(session.config[section_name]))
                info = session.commit(comment or f"API: {section_name}")
            except NothingToCommit:
                return {"section": section_name, "configVersion": session.snapshot.version.id,
                        "comment": comment, "changed": False}
            except CommitConflict as e:
                raise ApiError(409, "Conflict.", str(e)) from None
            except ConfigError as e:
                raise ApiError(400, "Invalid value.", str(e)) from None
            return {"section": section_name, "configVersion": info.id, "comment": comment, "changed": True}
        finally:
            store.close()

    done = await call.query(commit)
    if done["changed"]:
        call.api.access.bus.emit(ConfigCommitted(os.getpid(), user, comment, done["configVersion"]))
        nudge(call.api.access.datadir.control_socket)  # the daemon applies it now, not at its next poll
    return done


def _urls(call) -> list[str]:
    urls = _body(call).get("data", {}).get("urls") if isinstance(_body(call).get("data"), dict) else None
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ApiError(400, "Invalid value.", "data.urls must be a list of domains or URL prefixes.")
    return [u.strip() for u in urls if u.strip()]


LIST = Param("list", "choice", "blocked or allowed.", choices=tuple(URL_LISTS), in_path=True)


@route("GET", "/config/url_lists", "The local URL blocked and allowed lists.", READ, data={"type": "object"},
       tag="Configuration")
async def url_lists(call):
    rep = call.api.access.config.reputation
    return {name: list(getattr(rep, field)) for name, field in URL_LISTS.items()}, None


@route("PUT", "/config/url_lists/{list}", "Replace a URL list.", WRITE, (LIST,), _COMMITTED, body=_URLS_BODY,
       tag="Configuration")
async def url_list_replace(call):
    field, urls = URL_LISTS[call.params["list"]], _urls(call)
    return await _commit(call, "reputation", lambda rep: rep.replace(**{field: tuple(dict.fromkeys(urls))})), None


@route("POST", "/config/url_lists/{list}", "Add entries to a URL list.", WRITE, (LIST,), _COMMITTED,
       body=_URLS_BODY, tag="Configuration")
async def url_list_add(call):
    field, urls = URL_LISTS[call.params["list"]], _urls(call)

    def add(rep):
        current = list(getattr(rep, field))
        known = {u.lower() for u in current}
        return rep.replace(**{field: tuple(current + [u for u in dict.fromkeys(urls) if u.lower() not in known])})

    return await _commit(call, "reputation", add), None


@route("DELETE", "/config/url_lists/{list}", "Remove entries from a URL list.", WRITE, (LIST,), _COMMITTED,
       body=_URLS_BODY, tag="Configuration")
async def url_list_remove(call):
    field, urls = URL_LISTS[call.params["list"]], {u.lower() for u in _urls(call)}
    return await _commit(call, "reputation", lambda rep: rep.replace(
        **{field: tuple(u for u in getattr(rep, field) if u.lower() not in urls)})), None


NAME = Param("name", description="The hash list's name.", in_path=True, pattern="^[A-Za-z0-9_.-]{1,64}$")


@route("GET", "/config/file_hash_lists", "The file hash lists.", READ, data={"type": "array"}, tag="Configuration")
async def hash_lists(call):
    lists = call.api.access.config.hash_lists.lists
    return [{"name": h.name, "description": h.description, "hashes": list(h.hashes)} for h in lists], \
        {"totalCount": len(lists)}


@route("POST", "/config/file_hash_lists/{name}", "Create or replace a file hash list.", WRITE, (NAME,), _COMMITTED,
       body=_HASHES_BODY, tag="Configuration")
async def hash_list_put(call):
    data = _body(call).get("data")
    hashes = data.get("hashes") if isinstance(data, dict) else None
    if not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
        raise ApiError(400, "Invalid value.", "data.hashes must be a list of SHA-256 values.")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ApiError(400, "Invalid value.", "data.description must be text.")
    name = call.params["name"]

    def put(section):
        try:
            new = HashList(name, tuple(dict.fromkeys(h.strip().lower() for h in hashes)), description)
        except ConfigError as e:
            raise ApiError(400, "Invalid value.", f"Hash list {name}: {e}") from None
        kept = [h for h in section.lists if h.name.lower() != name.lower()]
        return section.replace(lists=tuple(kept + [new]))

    return await _commit(call, "hash_lists", put), None


@route("DELETE", "/config/file_hash_lists/{name}", "Delete a file hash list.", WRITE, (NAME,), _COMMITTED,
       body=_WRITE_BODY, tag="Configuration")
async def hash_list_delete(call):
    name = call.params["name"]
    if call.api.access.config.hash_lists.get(name) is None:
        raise ApiError(404, "Resource not found.", f"There is no file hash list named {name}.")
    if call.body is None and not call.body_given:
        call.body = {}  # no body at all: a deletion needs no comment
    return await _commit(call, "hash_lists", lambda section: section.replace(
        lists=tuple(h for h in section.lists if h.name.lower() != name.lower()))), None


# ---------------------------------------------------------------- message filters


FILTER = Param("name", description="The filter's name.", in_path=True, pattern="^[A-Za-z_$][A-Za-z0-9_-]{0,63}$")
_FILTER_BODY = {"type": "object", "required": ["data"], "properties": {
    **_WRITE_BODY["properties"], "data": {"type": "object", "properties": {
        "rules_and_actions": {"type": "string", "description": "The filter's body in the filter language."},
        "active": {"type": "string", "enum": ["true", "false"]},
        "order": {"type": "integer", "minimum": 1, "description": "Its place in the list, from 1."}}}}}


def _filter_view(f, position: int) -> dict:
    return {"name": f.name, "active": f.active, "order": position, "rules_and_actions": f.script}


@route("GET", "/config/message_filters", "The message filters, in the order they run.", READ,
       data={"type": "array"}, tag="Configuration")
async def message_filters(call):
    filters = call.api.access.config.message_filters.filters
    return [_filter_view(f, n) for n, f in enumerate(filters, 1)], {"totalCount": len(filters)}


@route("GET", "/config/message_filters/{name}", "One message filter.", READ, (FILTER,), {"type": "object"},
       tag="Configuration")
async def message_filter(call):
    filters = call.api.access.config.message_filters.filters
    for n, f in enumerate(filters, 1):
        if f.name == call.params["name"]:
            return _filter_view(f, n), None
    raise ApiError(404, "Resource not found.", f"There is no message filter named {call.params['name']}.")


def _filter_data(call) -> dict:
    data = _body(call).get("data")
    if not isinstance(data, dict):
        raise ApiError(400, "Missing attribute.", 'The body takes {"data": {"rules_and_actions": ..., "active": '
                       '"true", "order": N}}.')
    if "active" in data and data["active"] not in ("true", "false", True, False):
        raise ApiError(400, "Invalid value.", 'data.active is "true" or "false".')
    if "order" in data and (not isinstance(data["order"], int) or isinstance(data["order"], bool)
                            or data["order"] < 1):
        raise ApiError(400, "Invalid value.", "data.order is a position from 1.")
    return data


def _placed(filters: list, new, order: int | None) -> tuple:
    kept = [f for f in filters if f.name != new.name]
    at = len(kept) if order is None else min(order - 1, len(kept))
    return tuple(kept[:at] + [new] + kept[at:])


@route("POST", "/config/message_filters/{name}", "Create a message filter (checked by the scanning engine).", WRITE,
       (FILTER,), _COMMITTED, body=_FILTER_BODY, tag="Configuration")
async def message_filter_create(call):
    from asyncos_cli.config.schema import MessageFilter

    name, data = call.params["name"], _filter_data(call)
    if any(f.name == name for f in call.api.access.config.message_filters.filters):
        raise ApiError(409, "Conflict.", f"A message filter named {name} exists: PUT changes it.")
    body = data.get("rules_and_actions")
    if not isinstance(body, str) or not body.strip():
        raise ApiError(400, "Missing attribute.", "data.rules_and_actions holds the filter's rules and actions.")
    script = body.strip() if body.strip().startswith(f"{name}:") else f"{name}: {body.strip()}"
    checked = await call.query(lambda _c: _control_compile(call, script))
    if "error" in checked:
        raise ApiError(400, "Invalid value.", checked["error"])
    if [f["name"] for f in checked["filters"]] != [name]:
        raise ApiError(400, "Invalid value.", f"data.rules_and_actions must hold exactly the filter {name}.")
    active = data.get("active", "true") in ("true", True)
    new = MessageFilter(name, checked["filters"][0]["source"] or script, active)
    return await _commit(call, "message_filters", lambda section: section.replace(
        filters=_placed(list(section.filters), new, data.get("order")))), None


@route("PUT", "/config/message_filters/{name}", "Turn a message filter on or off, or move it.", WRITE, (FILTER,),
       _COMMITTED, body=_FILTER_BODY, tag="Configuration")
async def message_filter_update(call):
    name, data = call.params["name"], _filter_data(call)
    if "active" not in data and "order" not in data:
        raise ApiError(400, "Missing attribute.", "Give data.active or data.order.")

    def update(section):
        current = next((f for f in section.filters if f.name == name), None)
        if current is None:
            raise ApiError(404, "Resource not found.", f"There is no message filter named {name}.")
        new = current.replace(active=data["active"] in ("true", True)) if "active" in data else current
        order = data.get("order", list(section.filters).index(current) + 1)
        return section.replace(filters=_placed(list(section.filters), new, order))

    return await _commit(call, "message_filters", update), None


@route("DELETE", "/config/message_filters/{name}", "Delete a message filter.", WRITE, (FILTER,), _COMMITTED,
       body=_WRITE_BODY, tag="Configuration")
async def message_filter_delete(call):
    name = call.params["name"]
    if not any(f.name == name for f in call.api.access.config.message_filters.filters):
        raise ApiError(404, "Resource not found.", f"There is no message filter named {name}.")
    if call.body is None and not call.body_given:
        call.body = {}
    return await _commit(call, "message_filters", lambda section: section.replace(
        filters=tuple(f for f in section.filters if f.name != name))), None


def _control_compile(call, script: str) -> dict:
    """The scanning engine lives in the daemon: the API asks it to check a script."""
    from asyncos_cli.control.client import ControlError, DaemonUnavailable, request

    try:
        return request(call.api.access.datadir.control_socket, "compile_filters", timeout=10, script=script)
    except (DaemonUnavailable, ControlError) as e:
        raise ApiError(503, "Service unavailable.", f"The gateway daemon could not check the filter: {e}") from None
