"""Who logged in and out, read back from the authentication log (what `last` and `who` show).

The log is the record: every door (SSH, the web interface, the API) writes its logins and logouts there in the
appliance's wording, so reading it back needs no second bookkeeping. A login is paired with the next logout of
the same user from the same address through the same door; one without a logout is still open (or ended by a
restart of the gateway, which the log also shows).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

_STAMP = r"(?P<at>\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}) \w+: "
_LOGIN = re.compile(_STAMP + r"The user (?P<user>\S+) successfully logged on from (?P<host>\S+) with privilege "
                    r"(?P<role>\S+) using an (?P<via>\w+) connection\.$")
_LOGOUTS = (
    (re.compile(_STAMP + r"User (?P<user>\S+) logged out of SSH session (?P<host>\S+)$"), "SSH"),
    (re.compile(_STAMP + r"CLI: User (?P<user>\S+) logged out from (?P<host>\S+) because of .*$"), "SSH"),
    (re.compile(_STAMP + r"logout:(?P<host>\S+) user:(?P<user>\S+) session:\w+$"), "HTTPS"),
)
#: The web interface's timeout line names a session, not an address: it closes the user's oldest web session.
_GUI_TIMEOUT = re.compile(_STAMP + r"GUI: User (?P<user>\S+) logged out from session \w+ because of .*$")


@dataclass
class Login:
    user: str
    host: str
    via: str
    role: str
    start: float
    end: float | None = None  # None: still logged in
    #: A web or API session with no logout line, older than the inactivity timeout: it ended by then at most.
    timed_out: bool = False

    @property
    def door(self) -> str:
        return "GUI" if self.via in ("HTTPS", "HTTP") else "CLI"


def read(files: list[Path], web_timeout: float | None = None, now: float | None = None) -> list[Login]:
    """Every login in these authentication log files (oldest file first), paired with its logout.

    A web or API login has no logout line when its token or cookie simply expires: with ``web_timeout`` such a
    login older than the timeout counts as ended then."""
    logins: list[Login] = []
    open_: dict[tuple[str, str, str], list[Login]] = {}
    for path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            m = _LOGIN.match(line)
            if m:
                via = "HTTPS" if m["via"] in ("HTTPS", "HTTP") else m["via"]
                login = Login(m["user"], m["host"], via, m["role"], _epoch(m["at"]))
                logins.append(login)
                open_.setdefault((login.user, login.host, via), []).append(login)
                continue
            for pattern, via in _LOGOUTS:
                m = pattern.match(line)
                if m:
                    waiting = open_.get((m["user"], m["host"], via))
                    if waiting:
                        waiting.pop().end = _epoch(m["at"])
                    break
            else:
                m = _GUI_TIMEOUT.match(line)
                if m:
                    web = [w for (u, _, v), ws in open_.items() if u == m["user"] and v == "HTTPS" for w in ws]
                    if web:
                        oldest = min(web, key=lambda w: w.start)
                        open_[(oldest.user, oldest.host, "HTTPS")].remove(oldest)
                        oldest.end = _epoch(m["at"])
    if web_timeout is not None:
        now = time.time() if now is None else now
        for login in logins:
            if login.end is None and login.via == "HTTPS" and now - login.start > web_timeout:
                login.end, login.timed_out = login.start + web_timeout, True
    return logins


def authentication_files(logs_dir: Path, subscriptions) -> list[Path]:
    """The files of the first authentication log kept on disk, oldest first (rolled-over ones, then the
    current one); [] when no such subscription exists."""
    sub = next((s for s in subscriptions if s.log_type == "authentication" and s.retrieval == "file"), None)
    if sub is None:
        return []
    folder = logs_dir / sub.name
    rolled = sorted(folder.glob(f"{sub.prefix}.@*.s"))
    current = folder / f"{sub.prefix}.current"
    return rolled + ([current] if current.exists() else [])


def _epoch(text: str) -> float:
    return time.mktime(time.strptime(text, "%a %b %d %H:%M:%S %Y"))


def duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h {minutes}m"
