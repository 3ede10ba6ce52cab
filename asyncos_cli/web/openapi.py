"""The OpenAPI 3 document of the API, made from the same route declarations the server dispatches from."""

from __future__ import annotations

from asyncos_cli import __version__

from .params import DATE_PATTERN
from .routes import ROUTES, Param, Route, route

_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["message", "code"],
    "properties": {"message": {"type": "string"}, "code": {"type": "string"}, "explanation": {"type": "string"}}}}}
_ERRORS = {"400": "The request cannot be read.", "401": "No valid credentials or token.",
           "403": "The role may not call this.", "404": "No such resource, or an unsupported attribute.",
           "405": "Another method is expected.", "409": "The configuration changed since it was read.",
           "413": "The body is too large.",
           "500": "A fault of the server.", "503": "The gateway daemon is not running."}


def _param_schema(p: Param) -> dict:
    if p.kind == "integer":
        # Numbers arrive as strings too; the document says what clients send most.
        return {"type": "integer", "minimum": p.low, "maximum": p.high}
    if p.kind == "date":
        return {"type": "string", "pattern": DATE_PATTERN, "example": "2026-12-05T10:00:00.000Z"}
    if p.kind == "operator":
        return {"type": "string", "enum": ["is", "begins_with", "contains", "does_not_contain"]}
    if p.kind == "choice":
        return {"type": "string", "enum": list(p.choices)}
    return {"type": "string", "maxLength": 1024, **({"pattern": p.pattern} if p.pattern else {})}


def _operation(r: Route) -> dict:
    op: dict = {"summary": r.summary, "operationId": f"{r.method.lower()}{r.path.replace('/', '_').replace('-', '_')}",
                "tags": [r.tag] if r.tag else [],
                "x-roles": sorted(r.roles)}
    params = []
    for p in r.params:
        schema = _param_schema(p)
        if p.repeatable:
            schema = {"type": "array", "items": schema}
        params.append({"name": p.name, "in": "path" if p.in_path else "query", "required": p.required or p.in_path,
                       "description": p.description, "schema": schema,
                       **({"style": "form", "explode": True} if p.repeatable else {})})
    if params:
        op["parameters"] = params
    if r.body_schema is not None:
        op["requestBody"] = {"required": bool(r.body_schema.get("required")),  # optional when nothing in it is
                             "content": {"application/json": {"schema": r.body_schema}}}
    answer = {"type": "object", "required": ["data"], "properties": {"data": r.data_schema,
                                                                     "meta": {"type": "object"}}}
    op["responses"] = {"200": {"description": "OK", "content": {"application/json": {"schema": answer}}},
                       **{code: {"description": text, "content": {"application/json": {"schema": _ERROR}}}
                          for code, text in _ERRORS.items()}}
    if r.public:
        op["security"] = []
    return op


def document() -> dict:
    paths: dict = {}
    for r in ROUTES:
        if r.raw:
            continue
        paths.setdefault(f"/esa/api/v2.0{r.path}", {})[r.method.lower()] = _operation(r)
    return {
        "openapi": "3.0.3",
        "info": {"title": "AsyncOS API (open email gateway)", "version": __version__,
                 "description": "The AsyncOS API for Cisco Secure Email Gateway, as this gateway serves it. Every "
                                "path also answers under /sma/api/v2.0."},
        "paths": paths,
        "components": {"securitySchemes": {
            "BasicAuth": {"type": "http", "scheme": "basic"},
            "UserSecurity": {"type": "apiKey", "in": "header", "name": "jwtToken"}}},
        "security": [{"BasicAuth": []}, {"UserSecurity": []}],
    }


@route("GET", "/openapi.json", "This document.", public=True, data={"type": "object"}, tag="Documentation",
       raw=True)
async def openapi(call):
    return document(), None
