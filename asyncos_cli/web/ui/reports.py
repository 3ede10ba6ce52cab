"""The report pages: the views `report` prints (so the numbers are the shell's and the API's), for a time range
picked on the page, as tables with bar charts drawn in CSS (no script needed), and as CSV.

The 14.0 split stays visible wherever the appliance shows it: "Stopped by IP Reputation Filtering" and
"Stopped by Domain Reputation Filtering" are separate rows and columns, never summed.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
import time
from urllib.parse import urlencode

from aiohttp import web

from asyncos_cli.services.tracking_search import REPORT_VIEWS

from .html import esc, table

TITLES = {"overview": "Overview", "incoming": "Incoming Mail", "mail-flow": "Mail Flow Summary",
          "mail-flow-details": "Mail Flow Details", "mail-policy": "Mail Policy Details"}
RANGES = {"hour": ("Past hour", 3600), "day": ("Past day", 86400), "week": ("Past week", 7 * 86400),
          "30days": ("Past 30 days", 30 * 86400)}


def time_range(q) -> tuple[float, float, str]:
    """(since, until, how the page names it) from the picker: a span ending now, or a custom range."""
    now = time.time()
    chosen = q.get("range", "day")
    if chosen == "custom":
        since, until = _local(q.get("from", "")), _local(q.get("to", ""))
        if since is None or until is None or until <= since:
            raise ValueError("A custom range needs a start and an end after it (YYYY-MM-DDThh:mm, UTC).")
        return since, until, f"{_stamp(since)} to {_stamp(until)} (GMT +00:00)"
    label, span = RANGES.get(chosen, RANGES["day"])
    # Longer ranges start on the hour, as the appliance's do (and the counters are rolled up by the hour).
    since = now - span if span <= 3600 else (now - span) // 3600 * 3600
    return since, now, f"{label}: {_stamp(since)} to {_stamp(now)} (GMT +00:00)"


def _local(text: str) -> float | None:
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text or ""):
        return None
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M")))


def _stamp(epoch: float) -> str:
    return time.strftime("%d %b %Y %H:%M", time.gmtime(epoch))


def picker(kind: str, q) -> str:
    chosen = q.get("range", "day")
    options = "".join(f'<option value="{key}"{" selected" if key == chosen else ""}>{esc(label)}</option>'
                      for key, (label, _) in {**RANGES, "custom": ("Custom range", 0)}.items())
    return (f'<form method="get" action="/reports/{esc(kind)}" class="search">'
            f'<label for="range">Time range</label><select id="range" name="range">{options}</select>'
            f'<label for="from">From (UTC)</label><input id="from" name="from" type="datetime-local" '
            f'value="{esc(q.get("from"))}"><label for="to">To (UTC)</label><input id="to" name="to" '
            f'type="datetime-local" value="{esc(q.get("to"))}"><button type="submit">Show</button></form>')


def render(data: dict) -> str:
    """Scalars as facts, a group of numbers as a table with bars, a group of rows as a table of columns."""
    facts, sections = [], []
    for key, value in data.items():
        if key in ("report", "since", "until"):
            continue
        if not isinstance(value, dict):
            facts.append(f"<dt>{esc(key)}</dt><dd>{esc(value)}</dd>")
        elif key in SERIES and value:
            sections.append(_stacked(key, value))
        elif value and all(isinstance(v, dict) for v in value.values()):
            columns = list(next(iter(value.values())))
            rows = [[esc(name)] + [esc(row.get(c, 0)) for c in columns] for name, row in value.items()]
            sections.append(f"<h3>{esc(key)}</h3>" + table(["", *columns], rows, key))
        else:
            top = max([v for v in value.values() if isinstance(v, (int, float))] or [0]) or 1
            rows = [[esc(name), esc(v), _bar(v, top)] for name, v in value.items()]
            sections.append(f"<h3>{esc(key)}</h3>" + table(["", "Messages", "Share"], rows, key))
    dl = f'<dl class="facts">{"".join(facts)}</dl>' if facts else ""
    return dl + "".join(sections)


#: Groups drawn as a graph over time: one stacked bar per hour or day, a colour per category.
SERIES = ("Threat Messages",)


def _stacked(key: str, value: dict) -> str:
    categories = list(next(iter(value.values())))
    top = max(sum(row.values()) for row in value.values()) or 1
    legend = "".join(f'<li><span class="bar w5 c{i}"></span> {esc(c)}</li>' for i, c in enumerate(categories))
    rows = []
    for when, row in value.items():
        segments = "".join(f'<span class="bar w{_width(n, top)} c{i}" title="{esc(c)}: {n}"></span>'
                           for i, (c, n) in enumerate(row.items()) if n)
        rows.append([esc(when), esc(sum(row.values())),
                     f'<span class="stack" role="img" aria-label="{esc(sum(row.values()))} threat messages">'
                     f'{segments}</span>'] + [esc(row[c]) for c in categories])
    return (f'<h3>{esc(key)}</h3><ul class="legend" aria-label="Legend">{legend}</ul>'
            + table(["", "Total", "Graph", *categories], rows, key))


def _width(value, top) -> int:
    return max(0, min(100, round(100 * value / top))) // 5 * 5


def _bar(value, top) -> str:
    if not isinstance(value, (int, float)):
        return ""
    width = max(0, min(100, round(100 * value / top)))
    return f'<span class="bar w{width // 5 * 5}" role="img" aria-label="{width}% of the largest"></span>'


def as_csv(data: dict) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["section", "key", "column", "value"])
    for key, value in data.items():
        if key in ("report", "since", "until"):
            continue
        if not isinstance(value, dict):
            w.writerow(["", key, "", value])
            continue
        for name, v in value.items():
            if isinstance(v, dict):
                for column, n in v.items():
                    w.writerow([key, name, column, n])
            else:
                w.writerow([key, name, "", v])
    return out.getvalue()


def _everywhere(datadir, conn, kind: str, since: float, until: float) -> dict:
    """In a cluster every machine's mail (whole hours; each machine's newest few seconds may be on their way);
    this machine's alone, and said so, while the cluster's store is unreachable."""
    import psycopg

    from asyncos_cli.config.cluster import Membership
    from asyncos_cli.services.cluster_reports import view_everywhere

    member = Membership.load(datadir)
    if member is not None:
        try:
            return view_everywhere(member, kind, since, until)
        except psycopg.OperationalError:
            return {**REPORT_VIEWS[kind](conn, since, until),
                    "Machines": f"{member.machine} only (the cluster's store is unreachable)"}
    return REPORT_VIEWS[kind](conn, since, until)


async def page(pages, request) -> web.Response:
    kind = request.match_info["kind"]
    wants_csv = kind.endswith(".csv")
    kind = kind.removesuffix(".csv")
    if kind not in REPORT_VIEWS:
        raise web.HTTPNotFound()
    q = request.query
    tabs = "".join(f'<li><a href="/reports/{k}?{esc(urlencode(dict(q)))}"'
                   f'{" aria-current=page" if k == kind else ""}>{esc(t)}</a></li>' for k, t in TITLES.items())
    nav = f'<nav aria-label="Reports" class="tabs"><ul>{tabs}</ul></nav>'
    try:
        since, until, named = time_range(q)
    except ValueError as e:
        return pages._page(request, TITLES[kind], nav + picker(kind, q)
                           + f'<p class="error" role="alert">{esc(e)}</p>', 400)
    data = await pages.api.read(lambda conn: _everywhere(pages.api.access.datadir, conn, kind, since, until),
                                pool="reports")
    if wants_csv:
        return web.Response(text=as_csv(data), content_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{kind}-{int(since)}-{int(until)}.csv"'})
    updated = time.strftime("%d %b %Y %H:%M:%S", time.gmtime()) + " (GMT +00:00)"
    body = (nav + picker(kind, q) + f'<p class="small">Time range: {esc(named)}. Data updated {esc(updated)}. '
            f'<a href="/reports/{esc(kind)}.csv?{esc(urlencode(dict(q)))}">Export CSV</a></p>' + render(data))
    return pages._page(request, TITLES[kind], body)
