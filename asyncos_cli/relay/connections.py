"""Who is connected: injection connection IDs, open connections per client address, hourly message rates."""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Callable

from asyncos_cli.config.schema import MailFlowPolicy


class ConnectionTable:
    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._icid = 0
        self._open: dict[str, int] = defaultdict(int)
        self._rate: dict[str, deque] = defaultdict(deque)
        #: The SMTP sessions open now (their protocol objects), for suspend's abrupt close.
        self.sessions: set = set()

    def next_icid(self) -> int:
        self._icid += 1
        return self._icid

    @property
    def last_icid(self) -> int:
        return self._icid

    def opened(self, ip: str, session=None) -> None:
        self._open[ip] += 1
        if session is not None:
            self.sessions.add(session)

    def closed(self, ip: str, session=None) -> None:
        self.sessions.discard(session)
        self._open[ip] -= 1
        if self._open[ip] <= 0:
            self._open.pop(ip, None)

    def close_sessions(self) -> int:
        """Close every open SMTP session now (a message not yet accepted is not accepted); how many."""
        closed = 0
        for session in list(self.sessions):
            transport = getattr(session, "transport", None)
            if transport is not None and not transport.is_closing():
                transport.close()
                closed += 1
        return closed

    @property
    def total(self) -> int:
        return sum(self._open.values())

    def from_address(self, ip: str) -> int:
        return self._open.get(ip, 0)

    def within_rate(self, ip: str, policy: MailFlowPolicy) -> bool:
        """One more message from ``ip`` this hour, if its mail flow policy's limit allows it (and count it)."""
        if not policy.max_messages_per_hour:
            return True
        now = self._clock()
        q = self._rate[ip]
        while q and now - q[0] > 3600:
            q.popleft()
        if len(q) >= policy.max_messages_per_hour:
            return False
        q.append(now)
        return True
