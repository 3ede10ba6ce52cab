"""The gateway daemon: builds every component from one configuration snapshot and runs them.

It watches the store and applies a newly committed version within a
fraction of a second (the shell also nudges it over the control channel
right after a commit). A version that cannot be applied is reported and
the previous one stays in effect. Work already under way keeps the snapshot
it started with: components receive new immutable Config objects, they
never see one change under them.

This module only wires: what each part does lives in asyncos_cli.components
(configure, periodic work, control operations, status rows).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import signal
import time
from dataclasses import dataclass

from . import __version__
from .auth.cluster_accounts import open_accounts
from .components.base import Component
from .config.datadir import DataDir
from .config.fields import ConfigError
from .config.follow import StoreFollower
from .config.secrets import Keyring
from .config.state import StateStore
from .config.store import Snapshot, connect
from .control.server import ControlServer
from .events import Event, EventBus, log_subscriber
from .events.system import (
    ConfigReloaded,
    ConfigReloadFailed,
    ConfigStoreReachable,
    ConfigStoreUnreachable,
    DaemonStarted,
    DaemonStopping,
)
from .services import timezone

log = logging.getLogger("asyncos.daemon")

POLL_SECONDS = 0.2


class AlreadyRunning(Exception):
    pass


@dataclass
class Counters:
    reloads: int = 0
    reload_failures: int = 0


class Daemon:
    def __init__(self, datadir: DataDir, poll_seconds: float = POLL_SECONDS):
        self.datadir = datadir
        self.poll_seconds = poll_seconds
        self.started = time.time()
        self.counters = Counters()
        self.bus = EventBus()
        self._stop, self._wake = asyncio.Event(), asyncio.Event()
        self._stop_reason = "stopped"
        self._pid_fd: int | None = None
        #: In the order they are configured, ticked and listed in `status`; stopped in reverse.
        self.components: list[Component] = []

    # ------------------------------------------------------------ life cycle

    def _lock_pid_file(self) -> None:
        self.datadir.private_dir(self.datadir.run)
        fd = os.open(self.datadir.pid_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode().strip() or "?"
            os.close(fd)
            raise AlreadyRunning(f"the gateway daemon is already running (pid {other})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._pid_fd = fd

    def current(self):
        return self.snapshot.config

    async def _build(self) -> None:
        """Every component, in dependency order (what the relay's listeners need exists before they bind)."""
        from .auth.throttle import LoginThrottle
        from .components.certificates import Certificates
        from .components.clock import Clock
        from .components.cloud import Awareness, Clicks, Remediation
        from .components.cluster import ClusterMember, license_registrar
        from .components.dmarc import DmarcReports
        from .components.mail import Engines, Mail
        from .components.monitoring import Alerts, Monitoring
        from .components.records import Logs, Tracking
        from .components.sshd import SshServer
        from .components.web import WebServer
        from .relay.relay import Relay
        from .services.alerts import AlertService
        from .services.cef import ConsolidatedEvents
        from .services.engines.service import EngineService
        from .services.licensing import features
        from .services.logingate import LoginGate
        from .services.logs import LogService, journal_requested
        from .services.maturity import SenderMaturity, SQLiteFirstSeen
        from .services.outbound import ca_bundle
        from .services.tracking import TrackingService

        d, config, bus, current = self.datadir, self.snapshot.config, self.bus, self.current
        timezone.apply(config.system.timezone)  # before the first log line
        serial = self.state.get("serial", "")
        logs = LogService(d.logs, config.logs, serial, echo=journal_requested())
        bus.subscribe(Event, log_subscriber(logs))
        tracking = TrackingService(connect(d.database))
        tracking.attach(bus)
        ConsolidatedEvents(logs, tracking, serial, lambda: self.snapshot.config.system.model).attach(bus)
        certificates = Certificates(d.state, d.run, self.keyring, bus.emit, current)
        # Before the relay: what goes wrong while listeners bind (a TLS context) must raise its alert.
        alerts = AlertService(bus, connect(d.database), self.keyring)
        alerts.configure(config)
        engines = EngineService(config, self.keyring, bus.emit, verify=lambda: ca_bundle(self.current(), d.run))
        maturity = SenderMaturity(SQLiteFirstSeen(connect(d.database)))
        self._login = login = LoginGate(open_accounts(d), LoginThrottle(d.database), bus.emit, current)  # SMTP AUTH
        relay = Relay(d.root / "queue", config, bus, certificates.listener_context, keyring=self.keyring,
                      quarantine_dir=d.quarantine, maturity=maturity, engines=engines, run_dir=d.run, login=login)
        await relay.start()
        monitoring = Monitoring(bus, self.keyring, serial, current, relay, certificates, d.root / "queue", d.run,
                                self.started, lambda: features(self.state, current().licensing.smart_licensing))
        monitoring.configure(config)
        state = (self.state, self.keyring, d.run, bus.emit, current)
        self.components = [
            Logs(logs, config), Tracking(tracking), Alerts(alerts), certificates, SshServer(d.root, current),
            WebServer(d.root, current),
            Mail(relay, maturity, current), monitoring, Engines(engines),
            Awareness(*state, use=lambda addresses: setattr(relay.scans, "repeat_clickers", addresses)),
            Clicks(*state, tracking=tracking), Remediation(lambda: connect(d.database), *state[1:]),
            Clock(bus.emit, config),
            DmarcReports(bus, connect(d.database), current, relay.queue.generate),
        ]
        self.components.append(ClusterMember(self.follower, lambda: self.snapshot, lambda: connect(d.database),
                                             license_registrar(d, self.keyring, current, bus.emit)))

    async def run(self) -> None:
        self._lock_pid_file()
        loop = asyncio.get_running_loop()
        self.follower = StoreFollower(self.datadir, wake=lambda: loop.call_soon_threadsafe(self._wake.set))
        self.state = StateStore(self.datadir.database)
        self.keyring = Keyring(self.datadir.key_file)
        self.follower.store.migrate(lambda: self.keyring)
        self.snapshot: Snapshot = self.follower.store.snapshot()
        await self._build()

        self.control = ControlServer(self.datadir.control_socket)
        self.control.register("ping", lambda req: "pong")
        self.control.register("status", lambda req: self.status())
        self.control.register("reload", lambda req: self.reload())
        self.control.register("store", self._switch_store)
        self.control.register("shutdown", self._shutdown_request)
        for component in self.components:
            for name, handler in component.operations().items():
                self.control.register(name, handler)
        await self.control.start()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, f"signal {signal.Signals(sig).name}")

        self.bus.emit(DaemonStarted(os.getpid(), self.snapshot.version.id))
        log.warning("gateway running: pid %d, configuration version %d, control socket %s",
                    os.getpid(), self.snapshot.version.id, self.datadir.control_socket)
        try:
            while not self._stop.is_set():
                try:  # woken early by stop() and by a commit the cluster's store announces
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                except asyncio.TimeoutError:
                    pass
                self._wake.clear()
                if not self._stop.is_set():
                    now = time.monotonic()
                    if self.follower.due(now):
                        await self._follow_store()
                    await self._tick(now)
        finally:
            self.bus.emit(DaemonStopping(os.getpid(), self._stop_reason))
            self.follower.close()
            await self.control.stop()
            for component in reversed(self.components):
                try:
                    await component.stop()
                except Exception:  # the others still stop (and the logs still close)
                    log.exception("%s did not stop cleanly", type(component).__name__)
            if self._pid_fd is not None:
                os.ftruncate(self._pid_fd, 0)
                os.close(self._pid_fd)

    async def _tick(self, now: float) -> None:
        for component in self.components:
            try:
                await component.tick(now)
            except Exception:  # one part's failure must not stop the gateway
                log.exception("%s: periodic work failed", type(component).__name__)

    def stop(self, reason: str = "stopped") -> None:
        self._stop_reason = reason
        self._stop.set()
        self._wake.set()

    def _shutdown_request(self, req: dict) -> str:
        self.stop("shutdown requested over the control channel")
        return "stopping"

    # ------------------------------------------------------------ configuration

    def reload(self) -> dict:
        """Apply the newest committed version if it is not the one in effect."""
        try:
            return self._apply(*self.follower.newer(self.snapshot.version.id))
        except ConfigError as e:  # the store is unreachable: the version in effect stays
            return {"version": self.snapshot.version.id, "changed": False, "error": str(e)}

    async def _follow_store(self) -> None:
        """reload() for the loop: a store across the network is read in a thread, so that an unreachable
        server never holds up the mail the loop carries."""
        f, current, before = self.follower, self.snapshot.version.id, self.follower.problem
        try:  # a ConfigError is the follower's problem, shown in status; no driver's error may stop the mail
            self._apply(*((await asyncio.to_thread(f.newer, current)) if f.store.remote else f.newer(current)))
        except Exception as e:
            if not isinstance(e, ConfigError):
                log.exception("reading the configuration store failed")
        if bool(f.problem) != bool(before):  # once when it goes, once when it is back (an alert each)
            self.bus.emit(ConfigStoreUnreachable(current, f.problem, f.member.place() if f.member else "")
                          if f.problem else ConfigStoreReachable(current))

    def _switch_store(self, req: dict) -> dict:
        """clusterconfig created, joined or left a cluster: follow the store the data directory uses now."""
        self.follower.switch()
        self._login.accounts.close()
        self._login.accounts = open_accounts(self.datadir)  # SMTP AUTH: the cluster's users, or this machine's
        try:
            return self._apply(*self.follower.newer(-1))
        except ConfigError as e:
            return {"version": self.snapshot.version.id, "changed": False, "error": str(e)}

    def _apply(self, head: int, snap: Snapshot | None) -> dict:
        current = self.snapshot.version.id
        if snap is None:
            return {"version": current, "changed": False}
        try:
            old = self.snapshot.config
            changed = tuple(n for n in snap.config if snap.config[n] != old[n])
            timezone.apply(snap.config.system.timezone)
            for component in self.components:
                component.configure(snap.config)
        except Exception as e:  # keep serving with the version in effect
            self.counters.reload_failures += 1
            self.bus.emit(ConfigReloadFailed(head, str(e)))
            log.exception("configuration version %d could not be applied", head)
            return {"version": current, "changed": False, "error": str(e)}
        self.snapshot = snap
        self.counters.reloads += 1
        self.bus.emit(ConfigReloaded(head, current, snap.version.user, changed))
        return {"version": head, "changed": True, "sections": list(changed)}

    # ------------------------------------------------------------ state for the shell

    def status(self) -> dict:
        now = time.time()
        v = self.snapshot.version
        record = {
            "product_version": __version__,
            "hostname": self.snapshot.config.system.hostname,
            "pid": os.getpid(),
            "now": now,
            "started": self.started,
            "uptime": now - self.started,
            "counters_reset": self.started,
            "config_version": v.id,
            "config_committed_by": v.user,
            "config_committed_at": v.created,
            "config_comment": v.comment,
            "reloads": self.counters.reloads,
            "reload_failures": self.counters.reload_failures,
            "store_problem": self.follower.problem,
            "events": self.bus.emitted,
            "control_requests": self.control.requests,
            "components": [
                ["Configuration reload", f"on; version {v.id} in effect" + (
                    f"; store unreachable: {self.follower.problem}" if self.follower.problem else "")],
                ["Control channel", f"on; {self.datadir.control_socket}"],
            ],
        }
        for component in self.components:
            record["components"] += component.rows()
            record.update(component.facts())
        return record
