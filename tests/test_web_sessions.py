"""Web interface sessions: the shared inactivity timeout ends an idle one, with the appliance's log line."""

from __future__ import annotations

import time

from asyncos_cli.events.auth import GuiLoggedOut
from asyncos_cli.web.ui.pages import safe_text
from asyncos_cli.web.ui.sessions import UiSessions


def test_an_idle_session_ends_at_the_timeout_and_is_logged():
    sessions = UiSessions()
    s = sessions.open("help1", "Help Desk Users", "10.0.0.5")
    ended = []
    assert sessions.find(s.id, 60, ended.append) is s
    s.last_seen = time.time() - 61
    assert sessions.find(s.id, 60, ended.append) is None and ended == [s]
    assert sessions.find(s.id, 60, ended.append) is None  # gone for good
    line = GuiLoggedOut(s.user, sessions.short(s), "inactivity timeout").log_line()
    assert line == f"GUI: User help1 logged out from session {sessions.short(s)} because of inactivity timeout"
    assert sessions.short(s).isalnum() and sessions.short(s) not in s.id  # a word for parsers, not the cookie
    assert GuiLoggedOut(s.user, sessions.short(s), address="10.0.0.5").log_line() == \
        f"logout:10.0.0.5 user:help1 session:{sessions.short(s)}"
    assert sessions.find("not-a-session", 60, ended.append) is None and sessions.find(None, 60, ended.append) is None


def test_safe_text_never_keeps_markup():
    html_only = (b"Content-Type: text/html\r\n\r\n<p>Hello</p><script>alert(1)</script><img src=x onerror=alert(2)>"
                 b"<style>p{}</style>")
    text = safe_text(html_only)
    assert "Hello" in text and "<" not in text and "alert(1)" not in text and "p{}" not in text
    mixed = (b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
             b"plain <b>kept as text</b>\r\n--b\r\nContent-Type: text/html\r\n\r\n<b>html</b>\r\n--b--\r\n")
    assert safe_text(mixed).strip() == "plain <b>kept as text</b>"  # escaped where it is shown
