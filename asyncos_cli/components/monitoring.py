"""Resource gauges and the SNMP agent: `status` and SNMP read the same sample, so the two agree."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Callable

from asyncos_cli import __version__
from asyncos_cli.config.schema import Config
from asyncos_cli.services.gauges import Gauges
from asyncos_cli.services.snmp.service import SnmpService

from .base import Component, Every
from .certificates import Certificates

#: Resource gauges (CPU, memory, disk I/O) are sampled this often.
GAUGE_SECONDS = 1.0


class Monitoring(Component):
    def __init__(self, bus, keyring, serial: str, config: Callable[[], Config], relay, certificates: Certificates,
                 queue_dir: Path, run_dir: Path, started: float):
        self._config = config
        self._keyring = keyring
        self._serial = serial
        self._relay = relay
        self._certificates = certificates
        self._queue_dir = queue_dir
        self._run_dir = run_dir
        self._started = started
        self._sample = Every(GAUGE_SECONDS)
        self.gauges = Gauges()
        self.snmp = SnmpService(bus, keyring, serial, self.readings)

    def configure(self, config: Config) -> None:
        self.snmp.configure(config)

    async def tick(self, now: float) -> None:
        if not self._sample.due(now):
            return
        from asyncos_cli.services.outbound import ca_bundle, fetch_ok, proxy_failure

        config = self._config()
        sample = self.gauges.sample()
        self.snmp.conditions.on_sample(sample, config.snmp)
        self.snmp.conditions.check_connectivity(
            config, lambda url: fetch_ok(config, self._keyring, ca_bundle(config, self._run_dir), url),
            lambda e: proxy_failure(config.outbound, e))

    async def stop(self) -> None:
        self.snmp.close()

    def rows(self) -> list[list[str]]:
        return [["SNMP agent and traps", self.snmp.status()]]

    def facts(self) -> dict:
        return {"gauges": self.current()}

    def current(self) -> dict:
        """The readings status shows and the SNMP agent serves."""
        sample = self.gauges.current
        queue = self._relay.queue
        oldest = queue.oldest()
        try:
            usage = shutil.disk_usage(self._queue_dir)
            queue_percent = round(100 * usage.used / usage.total) if usage.total else 0
        except OSError:
            queue_percent = 0
        connections = self._relay.connections.total
        return {
            "sampled_at": sample.at,
            "cpu_percent": sample.cpu_percent,
            "memory_percent": sample.memory_percent,
            "disk_io_percent": sample.disk_io_percent,
            "queue_percent": queue_percent,
            "work_queue": queue.queued,
            "oldest_message_age": int(time.time() - oldest) if oldest else 0,
            "open_files": sample.open_files,
            "open_connections": connections,
            "transfer_threads": connections + self._relay.agent.open_connections,
        }

    def readings(self):
        from asyncos_cli.services import dnsstats
        from asyncos_cli.services.snmp.mib import Readings

        config = self._config()
        g = self.current()
        return Readings(
            sys_descr=(f"Open Email Gateway Model {config.system.model}, AsyncOS Version: {__version__}, "
                       f"Serial #: {self._serial}"),
            hostname=config.system.hostname, contact=config.snmp.contact, location=config.snmp.location,
            uptime_seconds=time.time() - self._started, cpu_percent=g["cpu_percent"],
            memory_percent=g["memory_percent"], disk_io_percent=g["disk_io_percent"],
            queue_percent=g["queue_percent"], work_queue=g["work_queue"],
            oldest_message_age=g["oldest_message_age"], open_files=g["open_files"],
            transfer_threads=g["transfer_threads"], open_connections=g["open_connections"],
            dns_outstanding=dnsstats.in_flight, counters=self._relay.counters.as_dict(),
            keys=self._certificates.seconds_left(), updates=self.snmp.update_rows())


class Alerts(Component):
    """services.alerts.AlertService as a component."""

    def __init__(self, service):
        self.service = service

    def configure(self, config: Config) -> None:
        self.service.configure(config)

    async def tick(self, now: float) -> None:
        self.service.tick()

    def rows(self) -> list[list[str]]:
        return [["Alerts", self.service.status()]]

    async def stop(self) -> None:
        await self.service.stop()
