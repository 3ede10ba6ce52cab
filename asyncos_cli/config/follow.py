"""Following the configuration store from a long-running process (the daemon).

The embedded store is polled on every turn of the loop (a read of one row). A cluster's store announces each
commit (LISTEN/NOTIFY), and is polled every ``FALLBACK_POLL_SECONDS`` in case a notification was lost. When the
store cannot be read, ``problem`` says why and the caller keeps the version in effect; the first read that works
again clears it. When the data directory joins or leaves a cluster, ``switch()`` opens the store it now uses.
"""

from __future__ import annotations

import logging
import threading

from .cluster import Membership, open_store
from .datadir import DataDir
from .fields import ConfigError
from .store import ConfigStore, Snapshot

log = logging.getLogger("asyncos.daemon")

FALLBACK_POLL_SECONDS = 2.0


class StoreFollower:
    def __init__(self, datadir: DataDir, wake=lambda: None):
        """``wake``: called (from another thread) when the store announces a commit."""
        self.datadir = datadir
        self._wake = wake
        #: Why the store cannot be read now (empty when it can): mail goes on meanwhile.
        self.problem = ""
        self._open()

    def _open(self) -> None:
        self.member = Membership.load(self.datadir)
        self.store: ConfigStore = open_store(self.datadir)
        self.committed = threading.Event()
        self._stop_listening = threading.Event()
        self._next_poll = 0.0
        self.store.listen(self._announced, self._stop_listening)

    def _announced(self) -> None:
        self.committed.set()
        self._wake()

    def switch(self) -> None:
        """Open the store the data directory uses now (after clusterconfig create, join or leave)."""
        old, stop = self.store, self._stop_listening
        self._open()
        stop.set()
        old.close()
        self.committed.set()
        log.warning("configuration store: %s", f"cluster {self.member.cluster} as machine {self.member.machine}"
                    if self.member else "this machine's own")

    def due(self, now: float) -> bool:
        """Whether the loop should look for a newer version now."""
        if self.committed.is_set() or now >= self._next_poll:
            self.committed.clear()
            self._next_poll = now + (FALLBACK_POLL_SECONDS if self.store.remote else 0.0)
            return True
        return False

    def newer(self, current: int) -> tuple[int, Snapshot | None]:
        """(head, its snapshot when it is not ``current``); ConfigError when the store cannot be read (or
        answered only from this machine's copy)."""
        try:
            head = self.store.head_id()
            snap = self.store.snapshot(head) if head != current else None
            problem = self.store.unreachable
        except ConfigError as e:
            problem = str(e)
        if problem and not self.problem:
            log.error("%s", problem)
        elif self.problem and not problem:
            log.warning("the configuration store is reachable again")
        self.problem = problem
        if problem:
            raise ConfigError(problem)
        return head, snap

    def close(self) -> None:
        self._stop_listening.set()
        self.store.close()
