"""Query parameters as the appliance's API clients send them, and times as the appliance writes them.

Clients differ: some send values raw, some %-encoded once more than needed (the appliance's own examples
encode twice), numbers as strings, a JSON body on GET, the same parameter twice. All of it is read here, once;
a value that cannot be read is a 400 in the appliance's error shape.
"""

from __future__ import annotations

import calendar
import re
import time
from urllib.parse import unquote

from .routes import ApiError, Param, Route, unsupported

OPERATORS = ("is", "begins_with", "contains", "does_not_contain")
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
#: The dates the API reads; the OpenAPI document publishes this very pattern.
DATE_PATTERN = (r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d)(?::(00)(?:\.(0{1,6}))?)?"
                r"(Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?$")
_DATE = re.compile(DATE_PATTERN)


def decoded(text: str) -> str:
    """Undo the extra rounds of %-encoding (at most two more)."""
    for _ in range(2):
        if not _ENCODED.search(text):
            break
        text = unquote(text)
    return text


def gathered(query, body) -> dict[str, list[str]]:
    """Every value given for each name, from the query string and a JSON object body."""
    values: dict[str, list[str]] = {}
    for name, value in query.items():
        values.setdefault(name, []).append(decoded(value))
    if isinstance(body, dict):
        for name, value in body.items():
            items = value if isinstance(value, list) else [value]
            values.setdefault(name, []).extend(_text(v, name) for v in items)
    return values


def _text(value, name: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise ApiError(400, "Invalid value.", f"The value of {name} must be a string or a number.")
    return decoded(str(value))


def read(route: Route, values: dict[str, list[str]], path_values: dict[str, str] | None = None) -> dict:
    """The route's parameters (query and path), typed; an unknown query parameter is the appliance's 404."""
    by_name = {p.name: p for p in route.params if not p.in_path}
    for name in values:
        if name not in by_name:
            raise unsupported(name)
    out = {}
    for p in route.params:
        if p.in_path:
            out[p.name] = _typed(p, decoded((path_values or {})[p.name]))
            continue
        given = values.get(p.name)
        if not given:
            if p.required:
                raise ApiError(400, "Missing attribute.", f"The attribute {p.name} is required.")
            continue
        typed = [_typed(p, v) for v in given]
        out[p.name] = typed if p.repeatable else typed[-1]
    return out


def _typed(p: Param, text: str):
    if p.kind == "integer":
        if not re.fullmatch(r"\s*\d{1,19}\s*", text) or not p.low <= int(text) <= p.high:
            raise ApiError(400, "Invalid value.", f"The value of {p.name} must be a whole number from {p.low} to "
                           f"{p.high}, got {text[:40]!r}.")
        return int(text)
    if p.kind == "date":
        return parse_date(text, p.name)
    if p.kind in ("operator", "choice"):
        choices = OPERATORS if p.kind == "operator" else p.choices
        if text not in choices:
            if p.in_path:
                raise ApiError(404, "Resource not found.", f"There is no {p.name} {text[:60]!r}: one of "
                               f"{', '.join(choices)}.")
            raise ApiError(400, "Invalid value.", f"The value of {p.name} must be one of {', '.join(choices)}.")
        return text
    if len(text) > 1024:
        raise ApiError(400, "Invalid value.", f"The value of {p.name} is longer than 1024 characters.")
    if p.pattern and not re.search(p.pattern, text):
        raise ApiError(400, "Invalid value.", f"The value of {p.name} must match {p.pattern}.")
    return text


def parse_date(text: str, name: str = "date") -> float:
    """``2026-12-05T10:15:00.000Z`` (whole minutes) or ``2026-12-05T10:00+00:00``: an epoch time."""
    m = _DATE.match(text.strip().replace(" ", "+"))  # a "+" sent unencoded arrives as a space
    if not m:
        raise ApiError(400, "Invalid date.", f"The value of {name} must be a whole minute like "
                       f"2026-12-05T10:15:00.000Z, got {text[:40]!r}.")
    year, month, day, hour, minute, _, _, zone = m.groups()
    # calendar.timegm counts 31 February as 3 March: the pattern keeps the numbers in range, no more.
    stamp = calendar.timegm((int(year), int(month), int(day), int(hour), int(minute), 0))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        stamp -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return float(stamp)


def appliance_time(epoch: float | None) -> str:
    """``05 Dec 2026 10:15:02 (GMT +00:00)``, as the appliance writes times in its answers."""
    if epoch is None:
        return ""
    return time.strftime("%d %b %Y %H:%M:%S", time.gmtime(epoch)) + " (GMT +00:00)"
