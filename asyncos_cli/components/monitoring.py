"""Resource gauges and the SNMP agent: `status` and SNMP read the same sample, so the two agree."""

from __future__ import annotations

import os
import resource
import shutil
import time
from pathlib import Path
from typing import Callable

from asyncos_cli import __version__
from asyncos_cli.config.schema import Config
from asyncos_cli.events.system import STATUS_KEYS, FeatureKeyChanged, StatusReport
from asyncos_cli.services.gauges import Gauges
from asyncos_cli.services.snmp.hostinfo import HostReader
from asyncos_cli.services.snmp.service import SnmpService

from .base import Component, Every
from .certificates import Certificates

#: Resource gauges (CPU, memory, disk I/O) are sampled this often.
GAUGE_SECONDS = 1.0
#: The status log gets its line this often, as the appliance's does.
STATUS_SECONDS = 60.0
#: How often the licensed features are compared with the last look (new ones: a keyExpiration trap).
FEATURE_CHECK_SECONDS = 60.0


def _kilobytes_in(folder: Path) -> int:
    """The queue's size; a segment the queue manager removes while we count is simply not counted."""
    total = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        try:
            if e.is_file():
                total += e.stat().st_size
        except OSError:
            continue
    return total // 1024


def _human(n: int) -> str:
    """Free space as the appliance's LogAvail says it: 148G, 1T."""
    for unit in ("", "K", "M", "G", "T"):
        if n < 1024 or unit == "T":
            return f"{n}{unit}"
        n //= 1024
    return str(n)


class Monitoring(Component):
    def __init__(self, bus, keyring, serial: str, config: Callable[[], Config], relay, certificates: Certificates,
                 queue_dir: Path, run_dir: Path, started: float, licensed: Callable[[], list] = lambda: []):
        self._config = config
        #: The licensed features (services.licensing.Feature) for SNMP's key table.
        self._licensed = licensed
        self._keyring = keyring
        self._serial = serial
        self._relay = relay
        self._certificates = certificates
        self._queue_dir = queue_dir
        self._run_dir = run_dir
        self._started = started
        self._sample = Every(GAUGE_SECONDS)
        self._status_line = Every(STATUS_SECONDS)
        self._feature_check = Every(FEATURE_CHECK_SECONDS)
        self._feature_warned = Every(86400)
        #: The feature rows seen at the last check (None: not checked yet: nothing is "added" at start).
        self._features_seen: set[str] | None = None
        self._bus = bus
        self.gauges = Gauges()
        self._host = HostReader()
        self.snmp = SnmpService(bus, keyring, serial, self.readings, run_dir.parent / "state" / "snmp")

    def configure(self, config: Config) -> None:
        self.snmp.configure(config)

    async def tick(self, now: float) -> None:
        if not self._sample.due(now):
            return
        from asyncos_cli.services.outbound import ca_bundle, fetch_ok, proxy_failure

        config = self._config()
        sample = self.gauges.sample()
        self.snmp.conditions.on_sample(sample, config.snmp)
        if self._status_line.due(now):  # after the sample: the line carries this second's readings
            self._bus.emit(StatusReport(self.status_readings()))
        self.snmp.conditions.check_connectivity(
            config, lambda url: fetch_ok(config, self._keyring, ca_bundle(config, self._run_dir), url),
            lambda e: proxy_failure(config.outbound, e))
        if self._feature_check.due(now):
            self.watch_features(now)

    def watch_features(self, now: float) -> None:
        """keyExpiration for each feature Smart Licensing adds, and (daily) for each within 30 days of its end."""
        rows = {label: (i, seconds, perpetual) for i, (label, seconds, perpetual) in enumerate(self._key_rows(now), 1)
                if label.startswith("Feature: ")}
        if self._features_seen is not None:
            for label in sorted(set(rows) - self._features_seen):
                row, seconds, _ = rows[label]
                self._bus.emit(FeatureKeyChanged(label.removeprefix("Feature: "), seconds, row))
        self._features_seen = set(rows)
        if self._feature_warned.due(now):
            for label, (row, seconds, perpetual) in sorted(rows.items()):
                if not perpetual and seconds <= 30 * 86400:
                    self._bus.emit(FeatureKeyChanged(label.removeprefix("Feature: "), seconds, row, expiring=True))

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

    def status_readings(self) -> tuple:
        """The status log's line, from the same readings `status` shows."""
        g, c = self.current(), self._relay.counters
        try:
            disk = shutil.disk_usage(self._queue_dir)
        except OSError:
            disk = None
        queue_kb = _kilobytes_in(self._queue_dir)
        cpu = os.times()
        values = {
            "CPULd": g["cpu_percent"], "DskIO": g["disk_io_percent"], "RAMUtil": g["memory_percent"],
            "QKUsd": queue_kb, "QKFre": disk.free // 1024 if disk else 0,
            "CrtMID": self._relay.queue.spool.last_mid, "CrtICID": self._relay.connections.last_icid,
            "CrtDCID": self._relay.agent.last_dcid, "InjMsg": c.messages_received, "InjRcp": c.recipients_received,
            "GenBncRcp": c.generated_bounces, "RejRcp": c.rejected_recipients, "DrpMsg": c.dropped_recipients,
            "SftBncEvnt": c.soft_bounced, "CmpRcp": c.completed_recipients, "HrdBncRcp": c.hard_bounced,
            "OtrHrdBnc": c.hard_bounced,
            "DlvRcp": max(0, c.completed_recipients - c.hard_bounced - c.dropped_recipients),
            "DelRcp": c.dropped_recipients, "ActvRcp": g["work_queue"], "CrtCncIn": g["open_connections"],
            "CrtCncOut": self._relay.agent.open_connections, "CPUTTm": int(cpu.user + cpu.system),
            "CPUETm": int(time.time() - self._started),
            "RAMUsd": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "WorkQ": g["work_queue"],
            "LogUsd": round(100 * disk.used / disk.total) if disk and disk.total else 0,
            "TotalLd": g["cpu_percent"], "LogAvail": _human(disk.free) if disk else "0", "SwapUsage": "0%",
            "InjBytes": c.injected_bytes,
        }
        return tuple((k, values.get(k, 0)) for k in STATUS_KEYS)

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
            keys=self._key_rows(), updates=self.snmp.update_rows(),
            host=self._host.read(self._run_dir.parent))


    def _key_rows(self, now: float | None = None) -> list[tuple[str, int, bool]]:
        """keyExpirationTable: the certificates in use, then the features Smart Licensing licenses."""
        now = now or time.time()
        rows = [(label, seconds, False) for label, seconds in self._certificates.seconds_left()]
        return rows + [(f"Feature: {f.name}", f.seconds_left(now), f.expires is None) for f in self._licensed()]


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
