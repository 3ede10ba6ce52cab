"""Cluster membership at run time: this machine's heartbeat in the cluster's table (its state, the configuration
version it applied), read by `clusterconfig list` on every machine."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from asyncos_cli.config.cluster import ClusterTables, Membership
from asyncos_cli.config.fields import ConfigError

from .base import Component, Every

log = logging.getLogger("asyncos.cluster")

HEARTBEAT_SECONDS = 3.0


class ClusterMember(Component):
    def __init__(self, member: Membership, snapshot: Callable, store_problem: Callable[[], str]):
        self.member = member
        self.snapshot = snapshot
        self.store_problem = store_problem
        self._every = Every(HEARTBEAT_SECONDS)
        self._conn = None
        self.machines: list[dict] = []

    async def tick(self, now: float) -> None:
        if self._every.due(now):
            snap = self.snapshot()
            await asyncio.to_thread(self._beat, snap.version.id, snap.config.system.hostname)

    def _beat(self, version: int, hostname: str) -> None:
        import psycopg

        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = psycopg.connect(self.member.store, autocommit=True, connect_timeout=5)
            tables = ClusterTables(self._conn)
            tables.heartbeat(self.member.machine, hostname, version, "store unreachable" if self.store_problem()
                             else "online")
            self.machines = tables.machines()
        except (psycopg.Error, ConfigError):
            self.machines = []  # the daemon's reload says why, once

    def rows(self) -> list[list[str]]:
        up = sum(1 for m in self.machines if m["state"] == "online")
        return [["Cluster", f"{self.member.cluster}; machine {self.member.machine}; "
                 + (f"{up} of {len(self.machines)} machines online" if self.machines else "store unreachable")]]

    def facts(self) -> dict:
        return {"cluster": self.member.cluster, "cluster_machine": self.member.machine}

    async def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
