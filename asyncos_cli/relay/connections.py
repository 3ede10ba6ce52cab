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

    def next_icid(self) -> int:
        self._icid += 1
        return self._icid

    def opened(self, ip: str) -> None:
        self._open[ip] += 1

    def closed(self, ip: str) -> None:
        self._open[ip] -= 1
        if self._open[ip] <= 0:
            self._open.pop(ip, None)

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
