"""HTML for the web interface: one layout, and every value escaped where it is put in (``esc``).

Pages are built from strings on the server: a page works without JavaScript, and nothing a message carries
(subject, file name, sender name) can become markup.
"""

from __future__ import annotations

from html import escape

from asyncos_cli.auth import roles as R

#: The navigation: (path, label, roles that see it).
NAV = (
    ("/status", "System Status", R.ALL - {R.HELP_DESK}),
    ("/tracking", "Message Tracking", frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY, R.HELP_DESK})),
    ("/quarantines", "Quarantines", frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY, R.HELP_DESK})),
    ("/reports/overview", "Reports", frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY})),
    ("/remediation", "Search & Remediate", frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY, R.HELP_DESK})),
    ("/urllists", "URL Lists", frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY})),
    ("/settings/scan-behavior", "Scan Behavior", frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY})),
    ("/settings/dlp", "DLP Policy Manager", frozenset({R.ADMINISTRATORS, R.OPERATORS, R.READ_ONLY})),
)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")


def esc(value) -> str:
    return escape("" if value is None else str(value), quote=True)


def csrf_field(session) -> str:
    return f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">'


def layout(title: str, body: str, session=None, hostname: str = "", pending: list[str] | None = None,
           notice: str = "", back: str = "") -> str:
    nav = ""
    if session is not None:
        links = "".join(f'<li><a href="{p}">{esc(label)}</a></li>' for p, label, roles in NAV if session.role in roles)
        nav = (f'<nav aria-label="Main"><ul>{links}</ul>'
               f'<form method="post" action="/logout" class="logout">{csrf_field(session)}'
               f'<span>{esc(session.user)} ({esc(R.KEYWORD_OF.get(session.role, session.role))})</span> '
               f'<button type="submit">Log Out</button></form></nav>')
    banner = ""
    if session is not None and pending:
        here = f'<input type="hidden" name="back" value="{esc(back)}">' if back else ""
        banner = (f'<section class="pending" role="status"><p>Uncommitted changes: {esc(", ".join(pending))}</p>'
                  f'<form method="post" action="/changes/commit">{csrf_field(session)}{here}'
                  '<label for="comment">Comment</label> <input id="comment" name="comment" maxlength="1024"> '
                  '<button type="submit">Commit Changes</button></form>'
                  f'<form method="post" action="/changes/abandon">{csrf_field(session)}{here}'
                  '<button type="submit">Abandon Changes</button></form></section>')
    note = f'<p class="notice" role="status">{esc(notice)}</p>' if notice else ""
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)} - {esc(hostname)}</title><link rel=\"stylesheet\" href=\"/static/app.css\">"
            "<script src=\"/static/app.js\" defer></script></head><body>"
            f"<header><h1>Email Security Gateway <small>{esc(hostname)}</small></h1>{nav}</header>"
            f"<main id=\"main\">{banner}{note}<h2>{esc(title)}</h2>{body}</main></body></html>")


def table(headers: list[str], rows: list[list[str]], caption: str = "") -> str:
    """Rows are already-escaped cells (links allowed); headers are escaped here."""
    head = "".join(f"<th scope=\"col\">{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
