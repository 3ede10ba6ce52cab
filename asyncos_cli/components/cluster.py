"""Cluster membership at run time: this machine's heartbeat in the cluster's table (its state, the configuration
version it applied), read by `clusterconfig list` on every machine."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from asyncos_cli.config.cluster import ClusterTables, Membership
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.follow import StoreFollower
from asyncos_cli.services.cluster_tracking import ClusterTracking

from .base import Component, Every

log = logging.getLogger("asyncos.cluster")

HEARTBEAT_SECONDS = 3.0


class ClusterMember(Component):
    """Idle on a machine that is not in a cluster; follows ``follower.member`` as clusterconfig changes it."""

    def __init__(self, follower: StoreFollower, snapshot: Callable, tracking: Callable):
        """``tracking``: opens this machine's tracking database (its finished records are shipped to the
        cluster's store on each heartbeat, for cluster-wide findevent)."""
        self.follower = follower
        self.snapshot = snapshot
        self._open_tracking = tracking
        self._local = None
        self._shipping = None
        self._every = Every(HEARTBEAT_SECONDS)
        self._conn = None
        self._member: Membership | None = None
        self.machines: list[dict] = []

    async def tick(self, now: float) -> None:
        member = self.follower.member
        if member != self._member:
            await self.stop()
            self._member, self._conn, self.machines = member, None, []
        if member is not None and self._every.due(now):
            snap = self.snapshot()
            await asyncio.to_thread(self._beat, member, snap.version.id, snap.config.system.hostname)

    def _beat(self, member: Membership, version: int, hostname: str) -> None:
        import psycopg

        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = psycopg.connect(member.store, autocommit=True, connect_timeout=5)
                self._shipping = ClusterTracking(self._conn)
            tables = ClusterTables(self._conn)
            tables.heartbeat(member.machine, hostname, version,
                             "store unreachable" if self.follower.problem else "online")
            self.machines = tables.machines()
            if self._local is None:
                self._local = self._open_tracking()
            self._shipping.ship(member.machine, self._local)
        except (psycopg.Error, ConfigError):
            self.machines = []  # the follower says why, once

    def rows(self) -> list[list[str]]:
        member = self.follower.member
        if member is None:
            return []
        up = sum(1 for m in self.machines if m["state"] == "online")
        return [["Cluster", f"{member.cluster}; machine {member.machine}; "
                 + (f"{up} of {len(self.machines)} machines online" if self.machines else "store unreachable")]]

    def facts(self) -> dict:
        member = self.follower.member
        return {"cluster": member.cluster, "cluster_machine": member.machine} if member else {}

    async def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._local is not None:
            self._local.close()
            self._local = None
