"""The web interface's application: pages, static files, and the API answering the session cookie too.

Every response carries a Content-Security-Policy without 'unsafe-inline'; every change (a POST, or an API call
other than GET made with the cookie) needs the session's CSRF token; a page the role may not see is a 403.
Every request is a gui_logs line.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from asyncos_cli.events.auth import GuiLoggedOut, GuiRequest

from ..routes import PREFIXES
from . import reports
from .dlppolicies import DlpPolicyManager
from .html import CSP, esc, layout
from .pages import CHANGE_ROLES, PAGE_ROLES, Pages
from .remediate import Remediation
from .scanbehavior import ScanBehavior
from .sessions import COOKIE, UiSessions

STATIC = Path(__file__).parent / "static"
PUBLIC = ("/login", "/static/")


def application(api, sessions: UiSessions) -> web.Application:
    pages = Pages(api, sessions)
    app = web.Application(client_max_size=256 * 1024, middlewares=[_frame(api, sessions)])
    r = app.router
    r.add_get("/", lambda request: _redirect("/status"))
    r.add_get("/login", pages.login_form)
    r.add_post("/login", pages.login)
    r.add_post("/logout", pages.logout)
    r.add_get("/status", pages.status)
    r.add_get("/tracking", pages.tracking_search)
    r.add_get("/tracking/{mid:\\d+}", pages.tracking_message)
    r.add_get("/quarantines", pages.quarantines)
    r.add_get("/quarantines/{name}/{mid}", pages.quarantine_message)
    r.add_post("/quarantines/{action:release|delete}", pages.quarantine_action)
    r.add_get("/reports", lambda request: _redirect("/reports/overview"))
    r.add_get("/reports/{kind}", lambda request: reports.page(pages, request))
    scan, dlp, rem = ScanBehavior(pages), DlpPolicyManager(pages), Remediation(pages)
    r.add_post("/tracking/remediate", rem.start)
    r.add_get("/remediation", lambda request: rem.status(request))
    r.add_get("/settings/scan-behavior", lambda request: scan.page(request))
    r.add_post("/settings/scan-behavior/{op:setup|add|edit|move|delete}", scan.change)
    r.add_get("/settings/dlp", dlp.listing)
    r.add_get("/settings/dlp/new", lambda request: dlp.form(request))
    r.add_get("/settings/dlp/edit/{name}", lambda request: dlp.form(request))
    r.add_post("/settings/dlp/save", dlp.save)
    r.add_post("/settings/dlp/delete", dlp.delete)
    r.add_get("/urllists", pages.urllists)
    r.add_post("/urllists", pages.urllists_change)
    r.add_post("/changes/commit", pages.commit)
    r.add_post("/changes/abandon", pages.abandon)
    r.add_static("/static/", STATIC, show_index=False)
    for prefix in PREFIXES:
        r.add_route("*", prefix + "/{tail:[\\s\\S]*}", api.handle)
    return app


def _redirect(to: str):
    raise web.HTTPSeeOther(to)


def _frame(api, sessions: UiSessions):
    @web.middleware
    async def frame(request: web.Request, handler):
        response = None
        s = None
        try:
            api.access.refresh()  # a page shows the configuration committed a moment ago, by anyone
            s = _session(api, sessions, request)
            request["ui_session"] = s
            is_api = any(request.path.startswith(p + "/") for p in PREFIXES)
            if not is_api and not request.path.startswith(PUBLIC) and request.path != "/":
                if s is None:
                    raise web.HTTPSeeOther("/login")
                allowed = next((roles for path, roles in PAGE_ROLES.items() if request.path.startswith(path)), None)
                if allowed is not None and s.role not in allowed:
                    response = _forbidden(api, s, "Your role may not see this page.")
                    return response
            if request.method == "POST" and not is_api and request.path != "/login":
                form = await request.post()
                request["form"] = form
                if s is None or form.get("csrf") != s.csrf:
                    response = _forbidden(api, s, "The form is missing its security token: reload the page.")
                    return response
                if request.path.startswith(("/urllists", "/changes", "/settings")) and s.role not in CHANGE_ROLES:
                    response = _forbidden(api, s, "Your role may not change the configuration.")
                    return response
            response = await handler(request)
            return response
        except web.HTTPException as e:
            response = e
            raise
        finally:
            if response is not None:
                response.headers["Content-Security-Policy"] = CSP
                response.headers["X-Frame-Options"] = "DENY"
                response.headers["X-Content-Type-Options"] = "nosniff"
                response.headers["Referrer-Policy"] = "no-referrer"
                response.headers.setdefault("Cache-Control", "no-store")
                api.access.bus.emit(GuiRequest(request.remote or "unknown", s.user if s else "",
                                               sessions.short(s) if s else "", request.method, request.path_qs[:300],
                                               response.status))

    return frame


def _session(api, sessions: UiSessions, request):
    timeout = api.access.config.admin_access.timeout_minutes * 60
    return sessions.find(request.cookies.get(COOKIE), timeout, lambda s: api.access.bus.emit(
        GuiLoggedOut(s.user, sessions.short(s), "inactivity timeout", s.address)))


def _forbidden(api, s, why: str) -> web.Response:
    html = layout("Not Allowed", f"<p>{esc(why)}</p>", s, api.access.config.system.hostname)
    return web.Response(text=html, status=403, content_type="text/html")

