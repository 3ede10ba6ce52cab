"""Logging in, what a role may call, and the appliance's health."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.control.client import ControlError, DaemonUnavailable, request

from .app import B64_PATTERN, b64_field
from .routes import EVERYONE, HEALTH, ApiError, allowed, route

_TEXT = {"type": "string"}
LOGIN_BODY = {"type": "object", "required": ["data"], "properties": {"data": {
    "type": "object", "required": ["userName", "passphrase"],
    "properties": {"userName": {"type": "string", "description": "base64", "pattern": B64_PATTERN},
                   "passphrase": {"type": "string", "description": "base64", "pattern": B64_PATTERN}}}}}
LOGIN_DATA = {"type": "object", "properties": {"userName": _TEXT, "is2FactorRedirectRequired": _TEXT,
                                               "role": _TEXT, "email": {"type": "array", "items": _TEXT},
                                               "jwtToken": _TEXT}}


@route("POST", "/login", "Log in: a token for the jwtToken header.", EVERYONE, data=LOGIN_DATA, public=True,
       body=LOGIN_BODY, tag="Authentication")
async def login(call):
    body = call.body
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise ApiError(400, "Missing attribute.", 'The login takes {"data": {"userName": ..., "passphrase": ...}} '
                       "with both values in base64.")
    user, passphrase = b64_field(body["data"], "userName"), b64_field(body["data"], "passphrase")
    api = call.api
    principal = await api.login(user, passphrase, call.origin, call.via)
    minutes = api.access.config.admin_access.timeout_minutes
    return {"userName": user, "is2FactorRedirectRequired": "false",
            "role": R.KEYWORD_OF.get(principal.role, principal.role), "email": [],
            "jwtToken": api.tokens.issue(user, principal.role, minutes)}, None


PRIVILEGES = {"type": "array", "items": {"type": "object", "properties": {"method": _TEXT, "path": _TEXT,
                                                                          "summary": _TEXT}}}


@route("GET", "/login/privileges", "What the caller's role may call.", EVERYONE, data=PRIVILEGES,
       tag="Authentication")
async def privileges(call):
    return [{"method": r.method, "path": f"/esa/api/v2.0{r.path}", "summary": r.summary}
            for r in allowed(call.principal.role)], None


HEALTH_DATA = {"type": "object", "properties": {
    "percentage_cpu_load": _TEXT, "percentage_ram_utilization": _TEXT, "percentage_swap_utilization": _TEXT,
    "percentage_diskio": _TEXT, "percentage_queue_utilization": _TEXT,
    "messages_in_queue": {"type": "integer"}, "oldest_message_seconds": {"type": "integer"},
    "engines": {"type": "object"}, "status": _TEXT}}


@route("GET", "/health", "The appliance's health: queue, CPU, memory, disk, engines.", HEALTH, data=HEALTH_DATA,
       tag="Health")
async def health(call):
    status = await call.query(_daemon_status, call.api.access.datadir.control_socket)
    if status is None:
        raise ApiError(503, "Service unavailable.", "The gateway daemon is not running.")
    g = status.get("gauges", {})
    engines = {name: {"enabled": e.get("enabled"), "state": e.get("state", "")}
               for name, e in (status.get("engines") or {}).items()}
    return {
        "percentage_cpu_load": str(round(g.get("cpu_percent", 0))),
        "percentage_ram_utilization": str(round(g.get("memory_percent", 0))),
        "percentage_swap_utilization": str(_swap_percent()),
        "percentage_diskio": str(round(g.get("disk_io_percent", 0))),
        "percentage_queue_utilization": str(round(g.get("queue_percent", 0))),
        "messages_in_queue": int(status.get("queued", 0)),
        "oldest_message_seconds": int(g.get("oldest_message_age", 0)),
        "engines": engines, "status": "online",
    }, None


def _daemon_status(_conn, socket_path):
    try:
        return request(socket_path, "status", timeout=3)
    except (DaemonUnavailable, ControlError):
        return None


def _swap_percent() -> int:
    try:
        info = dict(line.split(":", 1) for line in open("/proc/meminfo"))
        total, free = int(info["SwapTotal"].split()[0]), int(info["SwapFree"].split()[0])
    except (OSError, KeyError, ValueError):
        return 0
    return round(100 * (total - free) / total) if total else 0
