"""Reporting over the API: ``reporting/<report>`` and ``reporting/<report>/<counter>``.

Export answers give totals: a summary's ``resultSet`` is a list of ``{counter: n}``; a detail's is, per counter,
a list of ``{key: n}`` (largest first, ``top`` of them). Graph answers give a summary per whole hour:
``{counter: [{"<hour>": n}, ...]}``. Ranges are whole hours, as on the appliance. On a machine in a cluster the
counters are every machine's (the click and remediation reports excepted: they are this machine's).
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.services import reporting

from .routes import ApiError, Param, route

READERS = frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY})
HOUR = reporting.HOUR

PARAMS = (Param("report", "choice", "The report.", choices=tuple(reporting.REPORTS), in_path=True),
          Param("startDate", "date", "From this hour (2026-12-05T10:00:00.000Z).", required=True),
          Param("endDate", "date", "Until this hour, not included.", required=True),
          Param("device_type", "choice", "The appliance type.", choices=("esa",)),
          Param("query_type", "choice", "graph: per hour; export: totals (the default).",
                choices=("graph", "export")),
          Param("top", "integer", "The largest N keys of a detail report.", low=1, high=10000),
          Param("orderBy", description="The counter a detail report's keys are ordered by."),
          Param("orderDir", "choice", choices=("asc", "desc")),
          Param("filterBy", "choice", "What filterValue matches: the key.", choices=("key",)),
          Param("filterOperator", "choice", "How filterValue matches the key.", choices=("is", "begins_with")),
          Param("filterValue", description="Keep the keys that match this."))
COUNTER = Param("counter", description="One counter of the report.", in_path=True, pattern="^[A-Za-z0-9_]{1,64}$")

_RESULT = {"type": "object", "properties": {"type": {"type": "string"},
                                            "resultSet": {"oneOf": [{"type": "array"}, {"type": "object"}]}}}


@route("GET", "/reporting/{report}", "A report's counters for a range of whole hours.", READERS, PARAMS, _RESULT,
       tag="Reporting")
async def report(call):
    return await _answer(call, None)


@route("GET", "/reporting/{report}/{counter}", "One counter of a report.", READERS, (*PARAMS, COUNTER), _RESULT,
       tag="Reporting")
async def report_counter(call):
    return await _answer(call, call.params["counter"])


async def _answer(call, counter: str | None):
    p = call.params
    name, since, until = p["report"], p["startDate"], p["endDate"]
    for key in ("startDate", "endDate"):
        if p[key] % HOUR:
            raise ApiError(400, "Invalid date.", f"{key} must be a whole hour (minutes 00) for reports.")
    if until <= since:
        raise ApiError(400, "Invalid date.", "endDate must come after startDate.")
    spec = reporting.REPORTS[name]
    if p.get("query_type") == "graph":
        if spec.keyed_by is not None:
            raise ApiError(400, "Invalid value.", f"{name} is a detail report: query_type=graph is for summaries.")
        if until - since > 31 * 24 * HOUR:
            raise ApiError(400, "Invalid date.", "A graph covers 31 days at most.")
        hours = await call.report(_everywhere(call, reporting.hourly), name, since, until - 1e-6)
        series: dict[str, list] = {}
        for start, values in hours:
            stamp = _hour(start)
            for c, n in values.items():
                series.setdefault(c, []).append({stamp: n})
        return {"type": name, "resultSet": _only(series, counter, name)}, {"totalCount": -1}
    values = await call.report(_everywhere(call, reporting.run), name, since, until - 1e-6)
    if spec.keyed_by is None:
        chosen = _only(values, counter, name)
        return {"type": name, "resultSet": [{c: n} for c, n in chosen.items()]}, {"totalCount": -1}
    keys = _filtered(values, p)
    by_counter: dict[str, list] = {}
    counters = sorted({c for row in keys.values() for c in row})
    order = p.get("orderBy")
    if order and order not in counters and keys:
        raise ApiError(400, "Invalid value.", f"orderBy: {name} has no counter {order!r}.")
    for c in counters:
        ranked = sorted(keys.items(), key=lambda kv: kv[1].get(order or c, 0), reverse=p.get("orderDir") != "asc")
        by_counter[c] = [{k: row.get(c, 0)} for k, row in ranked[:p.get("top", 10000)]]
    return {"type": name, "resultSet": _only(by_counter, counter, name, empty_ok=not keys)}, {"totalCount": len(keys)}


def _everywhere(call, fn):
    """In a cluster, every machine's mail (a machine's newest few seconds may still be on their way)."""
    from asyncos_cli.config.cluster import Membership

    return reporting.everywhere(Membership.load(call.api.access.datadir), fn)


def _filtered(values: dict, p: dict) -> dict:
    wanted = p.get("filterValue")
    if not wanted:
        return values
    if p.get("filterOperator") == "begins_with":
        return {k: v for k, v in values.items() if str(k).lower().startswith(wanted.lower())}
    return {k: v for k, v in values.items() if str(k).lower() == wanted.lower()}


def _only(values: dict, counter: str | None, name: str, empty_ok: bool = False) -> dict:
    if counter is None:
        return values
    if counter not in values and not empty_ok:
        raise ApiError(404, "Resource not found.", f"{name} has no counter {counter!r}: {', '.join(values) or 'none'}.")
    return {counter: values.get(counter, [])}


def _hour(epoch: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:00:00.000Z", time.gmtime(epoch))
