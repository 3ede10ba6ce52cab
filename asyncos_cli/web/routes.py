"""The API's routes, declared once: the server dispatches from these and the OpenAPI document is made from them.

A route names its method, its path under ``/esa/api/v2.0``, the roles that may call it, the query parameters
it accepts (anything else is the appliance's 404 "Unsupported attribute."), the shape of its answer's
``data`` (a JSON schema), and its handler, ``async handler(call) -> (data, meta)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from asyncos_cli.auth import roles as R

PREFIXES = ("/esa/api/v2.0", "/sma/api/v2.0")


class ApiError(Exception):
    """An answer in the appliance's error shape: {"error": {"message", "code", "explanation"}}."""

    def __init__(self, status: int, message: str, explanation: str = ""):
        super().__init__(message)
        self.status = status
        self.message = message
        self.explanation = explanation or message

    def body(self) -> dict:
        return {"error": {"message": self.message, "code": str(self.status), "explanation": self.explanation}}


def unsupported(name: str) -> ApiError:
    return ApiError(404, "Unsupported attribute.", f"The attribute {name} is not supported by this API.")


@dataclass(frozen=True)
class Param:
    """A query parameter: ``kind`` says how its text is read (see params.read)."""

    name: str
    kind: str = "string"  # string | integer | date | operator | choice
    description: str = ""
    choices: tuple[str, ...] = ()
    repeatable: bool = False
    required: bool = False
    #: For integers: the range accepted.
    low: int = 0
    high: int = 2**63 - 1
    #: For strings: the whole value must match (the same pattern the OpenAPI document publishes).
    pattern: str = ""
    #: A {name} segment of the path rather than a query parameter.
    in_path: bool = False


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    summary: str
    roles: frozenset[str]
    handler: Callable[[Any], Awaitable[tuple[Any, dict | None]]]
    params: tuple[Param, ...] = ()
    data_schema: dict = field(default_factory=lambda: {"type": "object"})
    #: The login route takes no credentials: it is how one gets them.
    public: bool = False
    body_schema: dict | None = None
    tag: str = ""
    #: The answer is the handler's data itself, not wrapped in {"data": ...} (the OpenAPI document).
    raw: bool = False
    #: A JSON body is read as parameters (GET always; DELETE routes whose clients send {"mids": ...} so).
    body_is_params: bool = False


ROUTES: list[Route] = []


def route(method: str, path: str, summary: str, roles=R.ALL, params=(), data=None, public=False, body=None,
          tag="", raw=False, body_is_params=False):
    def register(handler):
        ROUTES.append(Route(method, path, summary, frozenset(roles), handler, tuple(params),
                            data or {"type": "object"}, public, body, tag, raw, body_is_params))
        return handler

    return register


def match(template: str, path: str) -> dict[str, str] | None:
    """The values of a template's ``{name}`` segments when ``path`` fits it, else None."""
    want, got = template.strip("/").split("/"), path.strip("/").split("/")
    if len(want) != len(got):
        return None
    values = {}
    for w, g in zip(want, got):
        if w.startswith("{") and w.endswith("}"):
            if not g:
                return None
            values[w[1:-1]] = g
        elif w != g:
            return None
    return values


def find(method: str, path: str) -> tuple[Route | None, bool, dict[str, str]]:
    """(the route, whether the path exists for another method, the path's {name} values). A trailing slash is
    accepted; a literal path wins over a template."""
    path = path.rstrip("/") or "/"
    other = False
    for r in sorted(ROUTES, key=lambda r: "{" in r.path):
        values = match(r.path, path)
        if values is None:
            continue
        if r.method == method or (method == "HEAD" and r.method == "GET"):
            return r, True, values
        other = True
    return None, other, {}


def allowed_methods(path: str) -> list[str]:
    tail = next((path[len(p):] for p in PREFIXES if path.startswith(p)), path).rstrip("/") or "/"
    methods = {r.method for r in ROUTES if match(r.path, tail) is not None}
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))


def allowed(role: str) -> list[Route]:
    return [r for r in ROUTES if role in r.roles and not r.public]


# Roles, as the appliance grants them to its API: administrators and operators everything, read-only operators
# every GET, help desk users message tracking (and quarantines), technicians and guests health.
EVERYONE = R.ALL
TRACKING = frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY, R.HELP_DESK})
HEALTH = frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY, R.TECHNICIANS, R.GUESTS})
