"""The AsyncOS API's request handling: find the route, read the body and the parameters, authenticate, check the
role, answer ``{"data": ..., "meta": ...}``, and turn every failure into the appliance's error shape.

Nothing a client sends reaches it as a traceback: a fault of ours is a 500 with a generic message, and the
details go to the server's own log.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from asyncos_cli.config.store import connect
from asyncos_cli.services.access import AccessPoint

from . import params
from .routes import PREFIXES, ApiError, Route, allowed_methods, find
from .tokens import Tokens

log = logging.getLogger("asyncos.web")

#: Bodies larger than this are refused before they are read (no endpoint takes more than a login).
MAX_BODY = 64 * 1024


@dataclass
class Principal:
    user: str
    role: str


@dataclass
class Call:
    """One request as a handler sees it."""

    api: "Api"
    principal: Principal | None
    params: dict
    body: Any
    origin: str
    via: str
    #: The values of the route's {name} path segments.
    path: dict
    #: Whether the request carried a body at all (a JSON ``null`` is a body, and not an object).
    body_given: bool = False

    async def query(self, fn, *args):
        """Run a read of the databases in the reading threads (a slow search delays no other request)."""
        return await self.api.read(fn, *args)

    async def report(self, fn, *args):
        """Run a report's aggregation in the report threads (two: one per core): reports over weeks of tracking
        wait for each other, never hold the threads that serve searches and pages."""
        return await self.api.read(fn, *args, pool="reports")


class Api:
    def __init__(self, access: AccessPoint, tokens: Tokens, readers: int = 4):
        self.access = access
        self.tokens = tokens
        self._pools = {"reads": ThreadPoolExecutor(readers, thread_name_prefix="api-read"),
                       "reports": ThreadPoolExecutor(2, thread_name_prefix="api-report")}
        self._local = threading.local()

    # ------------------------------------------------------------ reading the databases

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.access.datadir.database)
            conn.execute("PRAGMA query_only = ON")
        return conn

    async def read(self, fn, *args, pool: str = "reads"):
        return await asyncio.get_running_loop().run_in_executor(self._pools[pool],
                                                                lambda: fn(self.connection(), *args))

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------ one request

    async def handle(self, request: web.Request) -> web.Response:
        try:
            route = _route_of(request)
            data, meta = await self._answer(request, route)
        except ApiError as e:
            response = _json(e.status, e.body())
            if e.status == 405:
                response.headers["Allow"] = ", ".join(allowed_methods(request.path))
            return response
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return _json(500, ApiError(500, "Internal server error.",
                                       "The request could not be completed; the server's log has the details."
                                       ).body())
        if route.raw:
            return _json(200, data)
        answer = {"data": data}
        if meta is not None:
            answer["meta"] = meta
        return _json(200, answer)

    async def _answer(self, request: web.Request, route: Route):
        body = await _body(request)
        values = params.gathered(request.query, body if route.method == "GET" or route.body_is_params else None)
        via = "HTTPS" if request.secure else "HTTP"
        origin = request.remote or "unknown"
        # Every request sees the newest commit: a script that commits in the shell and calls the API at once
        # must not get the version before (one indexed query; the half-second poll only rebinds ports).
        self.access.refresh()
        principal = None if route.public else await self._authenticate(request, origin, via)
        if principal is not None and principal.role not in route.roles:
            raise ApiError(403, "Forbidden.", f"The role of {principal.user} may not call {route.method} "
                           f"{route.path}.")
        path_values = request["path_values"]
        call = Call(self, principal, params.read(route, values, path_values), body, origin, via, path_values,
                    body_given=request.get("body_given", False))
        return await route.handler(call)

    async def _authenticate(self, request: web.Request, origin: str, via: str) -> Principal:
        token = request.headers.get("jwtToken")  # header names match in any letter case
        if token:
            return self._by_token(token.strip())
        basic = request.headers.get("Authorization", "")
        if basic[:6].lower() == "basic ":
            user, passphrase = _basic_credentials(basic[6:])
            return await self.login(user, passphrase, origin, via, log_success=False)
        ui = request.get("ui_session")  # the web interface's pages call the API with their session cookie
        if ui is not None:
            if request.method not in ("GET", "HEAD") and request.headers.get("X-CSRF-Token") != ui.csrf:
                raise ApiError(403, "Forbidden.", "A change made with the session cookie needs the session's "
                               "X-CSRF-Token header.")
            return Principal(ui.user, ui.role)
        raise ApiError(401, "Authentication required.",
                       "Send HTTP Basic credentials, or log in (POST /esa/api/v2.0/login) and send the jwtToken "
                       "header.")

    def _by_token(self, token: str) -> Principal:
        claims = self.tokens.verify(token)
        account = self.access.config.users.get(claims.user)
        if account is None:
            raise ApiError(401, "InvalidTokenError.", "The user of this token no longer exists.")
        if account.role != claims.role:
            raise ApiError(401, "InvalidTokenError.", "The user's role changed since this token was issued: "
                           "log in again.")
        if self.access.accounts.status(claims.user).locked:
            raise ApiError(401, "InvalidTokenError.", "The user's account is locked.")
        return Principal(claims.user, account.role)

    async def login(self, user: str, passphrase: str, origin: str, via: str, log_success: bool = True) -> Principal:
        result = await self.access.check_passphrase(user, passphrase, origin, via)
        if result is None:
            raise ApiError(401, "Invalid username or passphrase.", "The user name or the passphrase is wrong, "
                           "or the account is locked.")
        if getattr(result, "must_change", False):
            raise ApiError(401, "Passphrase change required.", "The passphrase has expired or was set by an "
                           "administrator: change it in the shell (passwd) first.")
        if log_success:
            self.access.logged_in(user, origin, via)
        return Principal(user, self.access.role_of(user))


def _route_of(request: web.Request) -> Route:
    path = request.path
    prefix = next((p for p in PREFIXES if path == p or path.startswith(p + "/")), None)
    if prefix is None:
        raise ApiError(404, "Resource not found.", f"There is no resource at {path}.")
    route, exists, values = find(request.method, path[len(prefix):] or "/")
    request["path_values"] = values
    if route is None:
        if exists:
            raise ApiError(405, "Method not allowed.", f"{request.method} is not allowed on {path}.")
        raise ApiError(404, "Resource not found.", f"There is no resource at {path}.")
    return route


async def _body(request: web.Request):
    if not request.can_read_body:
        return None
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "Request too large.", f"A request body may hold {MAX_BODY} bytes at most.")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ApiError(413, "Request too large.", f"A request body may hold {MAX_BODY} bytes at most.")
    if not raw.strip():
        return None
    request["body_given"] = True
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "Invalid JSON.", "The request body is not valid JSON.") from None


def _basic_credentials(encoded: str) -> tuple[str, str]:
    try:
        user, _, passphrase = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(401, "Invalid username or passphrase.", "The Basic credentials cannot be read.") from None
    return user, passphrase


B64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def b64_field(data: dict, name: str) -> str:
    """A login field, base64 as the appliance's login takes it. Bytes that are not UTF-8 name no account:
    they are kept (replaced) so that the login fails as a login, not as a malformed request."""
    value = data.get(name)
    if not isinstance(value, str):
        raise ApiError(400, "Missing attribute.", f"The login needs data.{name} (base64).")
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        raise ApiError(400, "Invalid value.", f"data.{name} must be base64 text.") from None


def _json(status: int, body: dict) -> web.Response:
    return web.Response(status=status, text=json.dumps(body, ensure_ascii=False), content_type="application/json")


def application(api: Api) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, handler_args={
        # Long query strings (every filter given, %-encoded twice) get the API's own answer, not aiohttp's
        # plain-text 400 for a request line over 8 KB (past 4 MB it still comes).
        "max_line_size": 4 * 1024 * 1024, "max_field_size": 64 * 1024})
    # [\s\S]: a path may hold a %-encoded newline, which '.' would leave to aiohttp's plain-text 404.
    app.router.add_route("*", "/{tail:[\\s\\S]*}", api.handle)
    return app
