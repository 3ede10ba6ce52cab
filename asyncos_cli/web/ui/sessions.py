"""Web interface sessions: a random cookie per login, its CSRF token, the shared inactivity timeout, and the
changes a user has made on pages but not committed (pending per user, as in the shell)."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field

from asyncos_cli.config.cluster import open_store
from asyncos_cli.config.session import Session

COOKIE = "asyncos_session"


@dataclass
class UiSession:
    id: str
    user: str
    role: str
    csrf: str
    address: str
    last_seen: float = field(default_factory=time.time)


class UiSessions:
    def __init__(self):
        self._by_id: dict[str, UiSession] = {}
        #: Pending configuration changes per user: a config Session (store, staged sections).
        self.pending: dict[str, Session] = {}

    def open(self, user: str, role: str, address: str) -> UiSession:
        s = UiSession(secrets.token_urlsafe(32), user, role, secrets.token_urlsafe(32), address)
        self._by_id[s.id] = s
        return s

    def find(self, sid: str | None, timeout_seconds: float, on_expiry) -> UiSession | None:
        """The live session with this cookie; an idle one past the timeout ends (``on_expiry(session)``)."""
        s = self._by_id.get(sid or "")
        if s is None:
            return None
        now = time.time()
        if now - s.last_seen > timeout_seconds:
            del self._by_id[s.id]
            on_expiry(s)
            return None
        s.last_seen = now
        return s

    def close(self, s: UiSession) -> None:
        self._by_id.pop(s.id, None)

    def short(self, s: UiSession) -> str:
        """The session as logs name it: never the cookie itself, and one word (hex) as log parsers expect."""
        return hashlib.sha256(s.id.encode()).hexdigest()[:12]

    def changes_of(self, user: str, datadir) -> Session:
        """The user's pending changes, opened on their first change (a store connection of their own)."""
        session = self.pending.get(user)
        if session is None:
            session = self.pending[user] = Session(open_store(datadir, editing=True), user)
        return session

    def drop_changes(self, user: str) -> None:
        session = self.pending.pop(user, None)
        if session is not None:
            session.store.close()
