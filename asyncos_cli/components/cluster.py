"""Cluster membership at run time: this machine's heartbeat in the cluster's table (its state, the configuration
version it applied), read by `clusterconfig list` on every machine."""

from __future__ import annotations

import asyncio
import logging
from typing import Callable

from asyncos_cli.config.cluster import ClusterTables, Membership
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.follow import StoreFollower
from asyncos_cli.config.state import StateStore
from asyncos_cli.services.cluster_licensing import ClusterLicensing
from asyncos_cli.services.cluster_reports import TrackingShipper

from .base import Component, Every

log = logging.getLogger("asyncos.cluster")

HEARTBEAT_SECONDS = 3.0


class ClusterMember(Component):
    """Idle on a machine that is not in a cluster; follows ``follower.member`` as clusterconfig changes it."""

    def __init__(self, follower: StoreFollower, snapshot: Callable, tracking: Callable,
                 register: Callable[[str], dict] | None = None):
        """``tracking``: opens this machine's tracking database (its finished records are shipped to the
        cluster's store on each heartbeat, for cluster-wide findevent). ``register(sealed_token)``: registers
        this machine with Smart Licensing when license_smart register was run on another machine."""
        self.follower = follower
        self.snapshot = snapshot
        self._register = register
        self._open_tracking = tracking
        self._local = self._state = None
        self._shipper = self._licensing = self._tables = None
        self._every = Every(HEARTBEAT_SECONDS)
        self._conn = None
        self._beating: asyncio.Future | None = None
        self._member: Membership | None = None
        self.machines: list[dict] = []

    async def tick(self, now: float) -> None:
        member = self.follower.member
        if member != self._member:
            await self.stop()
            self._member, self._conn, self.machines = member, None, []
        beating = self._beating is not None and not self._beating.done()
        if member is not None and not beating and self._every.due(now):
            snap = self.snapshot()
            # Not awaited: a slow store (a lock, a restart) must not hold up the daemon's loop, which follows
            # the configuration and serves everything else meanwhile.
            self._beating = asyncio.ensure_future(
                asyncio.to_thread(self._beat, member, snap.version.id, snap.config.system.hostname))

    def _beat(self, member: Membership, version: int, hostname: str) -> None:
        import psycopg

        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = member.connect()
                self._licensing, self._shipper = ClusterLicensing(self._conn), TrackingShipper(self._conn)
                self._tables = ClusterTables(self._conn)
            if self._local is None:
                self._local = self._open_tracking()
                self._state = StateStore(None, conn=self._local)
            tables = self._tables
            # The serial number is read each time: joining may have given this machine a new one (the API
            # finds another machine's messages by it).
            tables.heartbeat(member.machine, hostname, version, "store unreachable" if self.follower.problem
                             else "online", self._state.get("serial", ""))
            self.machines = tables.machines()
            self._shipper.ship(member.machine, self._local)
            self._answer_license_request(member.machine)
        except (psycopg.Error, ConfigError):
            self.machines = []  # the follower says why, once

    def _answer_license_request(self, machine: str) -> None:
        licensing = self._licensing
        pending = licensing.pending_for(machine)
        if pending is None or self._register is None:
            return
        request_id, sealed = pending
        try:
            record = self._register(sealed)
        except Exception as e:  # the vendor's refusal or an unreachable server: this machine's state says it
            licensing.record(machine, request_id, "Registration failed", detail=str(e)[:300])
            log.warning("Smart Licensing registration requested by the cluster failed: %s", e)
            return
        licensing.record(machine, request_id, "Registered", record.get("product_instance_id", ""))

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
        if self._beating is not None:
            await asyncio.wait([self._beating], timeout=10)
            self._beating = None
        if self._conn is not None:
            self._conn.close()
        if self._local is not None:
            self._local.close()
            self._local = None


def license_registrar(datadir, keyring, config: Callable, emit: Callable) -> Callable[[str], dict]:
    """What a machine does when the cluster asks it to register (in ClusterMember's thread): this machine's own
    Smart Licensing registration, then the Cloud Services portal, as license_smart register does."""
    from asyncos_cli.config.fields import Secret
    from asyncos_cli.services.cloud import (
        CloudClient,
        CloudError,
        register_license,
        register_portal,
    )

    loop = asyncio.get_running_loop()

    def register(sealed: str) -> dict:
        cfg = config()
        state = StateStore(datadir.database)
        try:
            identity = {"serial": state.get("serial", ""), "hostname": cfg.system.hostname,
                        "model": cfg.system.model}
            client = CloudClient(cfg, keyring, datadir.run, lambda ev: loop.call_soon_threadsafe(emit, ev))
            record = register_license(client, state, keyring.reveal(Secret(sealed)), identity)
            try:
                register_portal(client, state, identity, product_instance_id=record["product_instance_id"])
            except CloudError as e:
                log.warning("Cisco Cloud Services could not be registered automatically: %s", e)
            return record
        finally:
            state.close()

    return register
