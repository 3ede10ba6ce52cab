"""Smart Licensing for a whole cluster (14.0: one registration command for every machine).

`license_smart register` on one machine registers that machine at once and leaves a request in the cluster's
store (the token sealed with the cluster key); every other machine's daemon sees it on its next heartbeat,
registers itself with its own identity (serial, host name) and writes its state beside the others, which
`license_smart status` lists per machine.
"""

from __future__ import annotations

import time

from asyncos_cli.config.cluster import ClusterTable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cluster_license_requests (
    id SERIAL PRIMARY KEY,
    token TEXT NOT NULL,
    requested DOUBLE PRECISION NOT NULL,
    requested_by TEXT NOT NULL,
    machine TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cluster_licensing (
    machine TEXT PRIMARY KEY,
    request_id INTEGER NOT NULL,
    state TEXT NOT NULL,
    product_instance_id TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '',
    updated DOUBLE PRECISION NOT NULL
);
"""


class ClusterLicensing(ClusterTable):
    SCHEMA = _SCHEMA

    def request(self, sealed_token: str, user: str, machine: str) -> int:
        return self.conn.execute("INSERT INTO cluster_license_requests (token, requested, requested_by, machine) "
                                 "VALUES (%s, %s, %s, %s) RETURNING id",
                                 (sealed_token, time.time(), user, machine)).fetchone()[0]

    def pending_for(self, machine: str) -> tuple[int, str] | None:
        """The newest request this machine has not answered yet: (its id, the sealed token)."""
        return self.conn.execute(
            "SELECT id, token FROM cluster_license_requests WHERE id > coalesce((SELECT request_id FROM "
            "cluster_licensing WHERE machine = %s), 0) ORDER BY id DESC LIMIT 1", (machine,)).fetchone()

    def record(self, machine: str, request_id: int, state: str, product_instance_id: str = "",
               detail: str = "") -> None:
        self.conn.execute(
            "INSERT INTO cluster_licensing VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (machine) DO UPDATE SET "
            "request_id = EXCLUDED.request_id, state = EXCLUDED.state, product_instance_id = "
            "EXCLUDED.product_instance_id, detail = EXCLUDED.detail, updated = EXCLUDED.updated",
            (machine, request_id, state, product_instance_id, detail, time.time()))

    def states(self) -> list[dict]:
        """Every machine of the cluster with its registration state (Unregistered when it never had one)."""
        rows = self.conn.execute(
            "SELECT m.name, coalesce(l.state, 'Unregistered'), coalesce(l.product_instance_id, ''), "
            "coalesce(l.detail, ''), l.updated FROM cluster_machines m LEFT JOIN cluster_licensing l "
            "ON l.machine = m.name ORDER BY m.name").fetchall()
        return [{"machine": r[0], "state": r[1], "product_instance_id": r[2], "detail": r[3], "updated": r[4]}
                for r in rows]
