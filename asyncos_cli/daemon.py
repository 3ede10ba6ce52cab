"""The gateway daemon: builds every service from one configuration snapshot.

It watches the store and applies a newly committed version within a
fraction of a second (the shell also nudges it over the control channel
right after a commit). A version that cannot be applied is reported and
the previous one stays in effect. Work already under way keeps the snapshot
it started with: services receive new immutable Config objects, they never
see one change under them.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Protocol

from . import __version__
from .config.datadir import DataDir
from .config.schema import Config
from .config.secrets import Keyring
from .config.state import StateStore
from .config.store import Snapshot, SQLiteStore, connect
from .control.server import ControlServer
from .events import Event, EventBus, log_subscriber
from .events.system import (
    ConfigReloaded,
    ConfigReloadFailed,
    DaemonStarted,
    DaemonStopping,
    DemoCertificateInUse,
)
from .services.certificates import DemoCertificate
from .services.logs import LogService
from .services.tracking import TrackingService

#: How often held messages are checked against their quarantine's retention.
QUARANTINE_SWEEP_SECONDS = 60.0

log = logging.getLogger("asyncos.daemon")

POLL_SECONDS = 0.2
#: Resource gauges (CPU, memory, disk I/O) are sampled this often; status and SNMP read the same sample.
GAUGE_SECONDS = 1.0


class Configurable(Protocol):
    def configure(self, config: Config) -> None: ...


class AlreadyRunning(Exception):
    pass


class ChildProcess:
    """A helper process the daemon keeps running (the SSH shell server).

    Restarted when it dies, with a growing pause so a crash loop does not spin.
    """

    def __init__(self, name: str, argv: list[str], env: dict):
        self.name = name
        self.argv = argv
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self._task: asyncio.Task | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        pause = 0.5
        while not self._stopping:
            started = time.monotonic()
            self.proc = await asyncio.create_subprocess_exec(*self.argv, env=self.env, stdin=asyncio.subprocess.DEVNULL)
            if self._stopping:  # stop() came while the process was being spawned
                self.proc.terminate()
                await self.proc.wait()
                return
            code = await self.proc.wait()
            if self._stopping:
                return
            self.restarts += 1
            log.warning("%s exited with status %s; restarting", self.name, code)
            pause = 0.5 if time.monotonic() - started > 30 else min(pause * 2, 30)
            await asyncio.sleep(pause)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def stop(self) -> None:
        self._stopping = True
        if self.running:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except asyncio.TimeoutError:
                self.proc.kill()
        if self._task is not None:
            self._task.cancel()


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
        self._stop = asyncio.Event()
        self._stop_reason = "stopped"
        self._pid_fd: int | None = None
        #: Services that follow the configuration (later issues add the relay, SNMP, ...).
        self.components: list[Configurable] = []

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

    async def run(self) -> None:
        self._lock_pid_file()
        self.store = SQLiteStore(self.datadir.database)
        self.state = StateStore(self.datadir.database)
        self.keyring = Keyring(self.datadir.key_file)
        self.store.migrate(lambda: self.keyring)
        self.snapshot: Snapshot = self.store.snapshot()
        serial = self.state.get("serial", "")

        self.logs = LogService(self.datadir.logs, self.snapshot.config.logs, serial)
        self.bus.subscribe(Event, log_subscriber(self.logs))
        self.tracking = TrackingService(connect(self.datadir.database))
        self.tracking.attach(self.bus)
        from .services.cef import ConsolidatedEvents

        ConsolidatedEvents(self.logs, self.tracking, serial, lambda: self.snapshot.config.system.model).attach(self.bus)

        self.demo_cert = DemoCertificate.at(self.datadir.state)
        self.demo_cert.ensure(self.keyring, self.snapshot.config.system.hostname)
        if self.demo_cert_in_use:
            self.bus.emit(DemoCertificateInUse(self.demo_cert.subject()))
        self._tls_cache: dict = {}

        from .relay.relay import Relay

        # Before the relay: what goes wrong while listeners bind (a TLS context) must raise its alert.
        from .services.alerts import AlertService
        from .services.engines.service import EngineService
        from .services.gauges import Gauges
        from .services.maturity import SenderMaturity, SQLiteFirstSeen
        from .services.outbound import ca_bundle
        from .services.snmp.service import SnmpService

        self.alerts = AlertService(self.bus, connect(self.datadir.database), self.keyring)
        self.alerts.configure(self.snapshot.config)
        self.components.append(self.alerts)

        engines = EngineService(self.snapshot.config, self.keyring, self.bus.emit,
                                verify=lambda: ca_bundle(self.snapshot.config, self.datadir.run))
        self.maturity = SenderMaturity(SQLiteFirstSeen(connect(self.datadir.database)))
        self.relay = Relay(self.datadir.root / "queue", self.snapshot.config, self.bus, self._listener_tls,
                           keyring=self.keyring, quarantine_dir=self.datadir.quarantine,
                           maturity=self.maturity, engines=engines)
        await self.relay.start()
        self.components.append(self.relay)

        self.gauges = Gauges()
        self.serial = serial
        self.snmp = SnmpService(self.bus, self.keyring, serial, self.snmp_readings)
        self.snmp.configure(self.snapshot.config)
        self.components.append(self.snmp)

        self.control = ControlServer(self.datadir.control_socket)
        self.control.register("ping", lambda req: "pong")
        self.control.register("status", lambda req: self.status())
        self.control.register("reload", lambda req: self.reload())
        self.control.register("shutdown", self._shutdown_request)
        self.control.register("tracking", self._tracking_request)
        self.control.register("queue", lambda req: self._queue(req))
        self.control.register("delivernow", lambda req: {"due": self.relay.queue.deliver_now()})
        self.control.register("workqueue", self._workqueue)
        self.control.register("suspendlistener", self._suspend)
        self.control.register("settle", lambda req: self.relay.queue.settle(
            str(req.get("by", "all")), str(req.get("value", "")), bool(req.get("bounce"))))
        self.control.register("redirect", self._redirect)
        self.control.register("hosts", lambda req: self.relay.queue.host_summary())
        self.control.register("resumelistener", self._resume)
        self.control.register("quarantine_release", self._release)
        await self.control.start()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop, f"signal {signal.Signals(sig).name}")

        self.sshd = ChildProcess(
            "SSH server",
            [sys.executable, "-m", "asyncos_cli.shell.sshd"],
            # The child compares its parent with this pid, so it never outlives the daemon.
            {**os.environ, "ASYNCOS_DATA": str(self.datadir.root), "ASYNCOS_PARENT_PID": str(os.getpid())},
        )
        self.sshd.start()

        self.bus.emit(DaemonStarted(os.getpid(), self.snapshot.version.id))
        log.warning(
            "gateway running: pid %d, configuration version %d, control socket %s",
            os.getpid(),
            self.snapshot.version.id,
            self.datadir.control_socket,
        )
        next_expiry = next_cert_check = next_sample = 0.0
        self._clickers_version = -1
        self._next_awareness = 0.0
        self._next_clicks = 0.0
        self._remediation_db = None
        self._remediation_tasks: set = set()
        try:
            while not self._stop.is_set():
                try:
                    await asyncio.wait_for(self._stop.wait(), self.poll_seconds)
                except asyncio.TimeoutError:
                    self.reload()
                    self.tracking.flush()
                    self.maturity.flush()
                    await self._awareness(time.monotonic())
                    await self._clicks(time.monotonic())
                    self._remediate()
                    if time.monotonic() >= next_sample:
                        next_sample = time.monotonic() + GAUGE_SECONDS
                        self._sample()
                    self.alerts.tick()
                    if time.monotonic() >= next_cert_check:
                        next_cert_check = time.monotonic() + 86400
                        self._check_certificates()
                    if time.monotonic() >= next_expiry:
                        next_expiry = time.monotonic() + QUARANTINE_SWEEP_SECONDS
                        try:
                            await self.relay.queue.expire_quarantines()
                        except Exception:  # a damaged quarantine entry must not stop the gateway
                            log.exception("quarantine expiry failed")
        finally:
            self.bus.emit(DaemonStopping(os.getpid(), self._stop_reason))
            await self.sshd.stop()
            self.snmp.close()
            await self.alerts.stop()
            await self.relay.stop()
            self.tracking.flush()
            self.maturity.flush()
            await self.control.stop()
            self.logs.close()
            if self._pid_fd is not None:
                os.ftruncate(self._pid_fd, 0)
                os.close(self._pid_fd)

    def stop(self, reason: str = "stopped") -> None:
        self._stop_reason = reason
        self._stop.set()

    def _shutdown_request(self, req: dict) -> str:
        self.stop("shutdown requested over the control channel")
        return "stopping"

    # ------------------------------------------------------------ configuration

    def reload(self) -> dict:
        """Apply the newest committed version if it is not the one in effect."""
        head = self.store.head_id()
        current = self.snapshot.version.id
        if head == current:
            return {"version": current, "changed": False}
        try:
            snap = self.store.snapshot(head)
            old = self.snapshot.config
            changed = tuple(n for n in snap.config if snap.config[n] != old[n])
            if "logs" in changed:
                self.logs.configure(snap.config.logs)
            if "awareness" in changed:
                self._next_awareness = 0.0  # a new service or schedule: ask it at once
            if "cloud" in changed:
                self._next_clicks = 0.0
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
        relay = self.relay.status()
        engines = self.relay.engines.status()
        return {
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
            "events": self.bus.emitted,
            "control_requests": self.control.requests,
            "demo_certificate": self.demo_cert_in_use,
            "certificates_expiring": self.expiring_certificates(),
            "tracking_in_flight": self.tracking.in_flight,
            "tracking_finished": self.tracking.finished_count(),
            "mail_counters": relay["counters"],
            "queued": relay["queued"],
            "oldest_message": relay["oldest"],
            "components": [
                ["Configuration reload", f"on; version {v.id} in effect"],
                ["Control channel", f"on; {self.datadir.control_socket}"],
                ["Event bus and logs", f"on; {len(self.snapshot.config.logs.subscriptions)} log subscriptions"],
                ["Message tracking records", "on"],
                ["TLS certificate", "demonstration certificate" if self.demo_cert_in_use else "imported"],
                ["SSH access to the shell", self._ssh_state()],
                *[[f"Listener {l['name']}", f"{l['state']}; {l['interface']} port {l['port']} ({l['kind']})"]
                  for l in relay["listeners"]],
                ["Delivery", "paused" if relay["paused"] else "running"],
                ["SNMP agent and traps", self.snmp.status()],
                *[[title, _engine_row(engines[e])] for e, title in ENGINE_ROWS],
                ["Graymail detection", "not supported yet"],
                ["Alerts", self.alerts.status()],
            ],
            "gauges": self._gauges(),
            "engines": engines,
        }

    def _sample(self) -> None:
        from .services.outbound import ca_bundle, fetch_ok, proxy_failure

        config = self.snapshot.config
        sample = self.gauges.sample()
        self.snmp.conditions.on_sample(sample, config.snmp)
        self.snmp.conditions.check_connectivity(
            config, lambda url: fetch_ok(config, self.keyring, ca_bundle(config, self.datadir.run), url),
            lambda e: proxy_failure(config.outbound, e))

    def _gauges(self) -> dict:
        """The readings status shows and the SNMP agent serves (one sample, so the two agree)."""
        import shutil

        sample = self.gauges.current
        relay = self.relay
        oldest = relay.queue.oldest()
        try:
            usage = shutil.disk_usage(self.datadir.root / "queue")
            queue_percent = round(100 * usage.used / usage.total) if usage.total else 0
        except OSError:
            queue_percent = 0
        return {
            "sampled_at": sample.at,
            "cpu_percent": sample.cpu_percent,
            "memory_percent": sample.memory_percent,
            "disk_io_percent": sample.disk_io_percent,
            "queue_percent": queue_percent,
            "work_queue": relay.queue.queued,
            "oldest_message_age": int(time.time() - oldest) if oldest else 0,
            "open_files": sample.open_files,
            "open_connections": relay.connections.total,
            "transfer_threads": relay.connections.total + relay.agent.open_connections,
        }

    def snmp_readings(self):
        from .services import dnsstats
        from .services.certificates import expires
        from .services.snmp.mib import Readings

        config = self.snapshot.config
        g = self._gauges()
        keys = []
        now = time.time()
        if self.demo_cert_in_use:
            try:
                keys.append(("Certificate: demonstration",
                             int(expires(self.demo_cert.cert.read_text()).timestamp() - now)))
            except (OSError, ValueError):
                pass
        for cert in config.certificates.certificates:
            try:
                keys.append((f"Certificate: {cert.name}", int(expires(cert.certificate).timestamp() - now)))
            except ValueError:
                continue
        return Readings(
            sys_descr=(f"Open Email Gateway Model {config.system.model}, AsyncOS Version: {__version__}, "
                       f"Serial #: {self.serial}"),
            hostname=config.system.hostname, contact=config.snmp.contact, location=config.snmp.location,
            uptime_seconds=now - self.started, cpu_percent=g["cpu_percent"], memory_percent=g["memory_percent"],
            disk_io_percent=g["disk_io_percent"], queue_percent=g["queue_percent"], work_queue=g["work_queue"],
            oldest_message_age=g["oldest_message_age"], open_files=g["open_files"],
            transfer_threads=g["transfer_threads"], open_connections=g["open_connections"],
            dns_outstanding=dnsstats.in_flight,
            counters=self.relay.status()["counters"], keys=keys, updates=self.snmp.update_rows())

    def _ssh_state(self) -> str:
        ssh = self.snapshot.config.ssh
        if not ssh.enabled:
            return "disabled"
        state = "on" if self.sshd.running else "starting"
        restarts = f", restarted {self.sshd.restarts} times" if self.sshd.restarts else ""
        return f"{state}; {ssh.listen} port {ssh.port}{restarts}"

    def _queue(self, req: dict) -> list[dict]:
        limit = int(req.get("limit", 1000))
        selected = self.relay.queue.matching(str(req.get("by", "all")), str(req.get("value", "")))
        return [
            {"mid": m.mid, "sender": m.sender, "received": m.received, "size": m.size, "attempts": m.attempts,
             "next_attempt": m.next_attempt, "last_error": m.last_error, "subject": m.subject,
             "recipients": [[r.rid, r.address] for r in rcpts]}
            for m, rcpts in selected[:limit]
        ]

    def _redirect(self, req: dict) -> str | None:
        target = req.get("target") or None
        self.relay.queue.redirect(target)
        return target

    def _workqueue(self, req: dict) -> dict:
        action = req.get("action", "status")
        if action == "pause":
            self.relay.queue.pause(True)
        elif action == "resume":
            self.relay.queue.pause(False)
        return {"paused": self.relay.queue.paused, "queued": self.relay.queue.queued}

    async def _suspend(self, req: dict) -> str:
        name = self._listener_name(req)
        await self.relay.suspend(name)
        return name

    async def _resume(self, req: dict) -> str:
        name = self._listener_name(req)
        await self.relay.resume(name)
        return name

    async def _release(self, req: dict) -> dict:
        name, mids = str(req.get("name", "")), [int(m) for m in req.get("mids", [])]
        released = {}
        for mid in mids:
            try:
                released[str(mid)] = await self.relay.queue.release(name, mid)
            except KeyError as e:
                raise ValueError(str(e.args[0])) from None
        return {"released": released}

    def _listener_tls(self, listener, config):
        """The context a listener's STARTTLS uses: its certificate (or the demonstration one) with
        sslconfig's inbound versions and ciphers; built once per certificate and settings."""
        from .services.certificates import listener_context

        s = config.ssl
        cert = config.certificates.get(listener.certificate) if listener.certificate else None
        if listener.certificate and cert is None:
            raise ValueError(f"the certificate {listener.certificate!r} does not exist")
        if cert is not None:
            from .services.certificates import servable_problem

            problem = servable_problem(cert.certificate)
            if problem:  # kept with --allow-expired, never presented
                raise ValueError(f"{cert.name}: {problem}")
        key = (cert, s.inbound_methods, s.inbound_ciphers)
        ctx = self._tls_cache.get(key)
        if ctx is None:
            if cert is None:
                ctx = self.demo_cert.server_context(self.keyring, s.inbound_methods, s.inbound_ciphers)
            else:
                ctx = listener_context(cert.certificate, self.keyring.reveal(cert.private_key), s.inbound_methods,
                                       s.inbound_ciphers, self.datadir.run, self.keyring.derived_passphrase("tls"))
            self._tls_cache = {k: v for k, v in self._tls_cache.items() if k[0] in config.certificates.certificates
                               or k[0] is None}
            self._tls_cache[key] = ctx
        return ctx

    async def _awareness(self, now: float) -> None:
        """Pick up an imported repeat-clicker list; refresh from the service when due."""
        from .services import awareness

        current = awareness.load(self.state)
        if current.version != self._clickers_version:
            self._clickers_version = current.version
            self.relay.scans.repeat_clickers = current.addresses
        a = self.snapshot.config.awareness
        if not a.enabled or now < self._next_awareness:
            return
        self._next_awareness = now + a.interval_minutes * 60
        config = self.snapshot.config
        from .events.system import AwarenessRefreshed, AwarenessRefreshFailed
        from .services.outbound import ca_bundle

        try:
            verify = ca_bundle(config, self.datadir.run)
            addresses = await asyncio.to_thread(awareness.fetch, config, self.keyring, verify)
        except Exception as e:  # the last good list stays; the failure is an alert event
            from .events.system import UpstreamProxyFailed
            from .services.outbound import proxy_failure

            proxy = proxy_failure(config.outbound, e)
            if proxy:
                self.bus.emit(UpstreamProxyFailed(proxy, "repeat-clicker list", f"{type(e).__name__}: {str(e)[:200]}"))
            self.bus.emit(AwarenessRefreshFailed(f"{type(e).__name__}: {str(e)[:200]}", len(current.addresses)))
            return
        new = awareness.store(self.state, addresses, a.url)
        self._clickers_version = new.version
        self.relay.scans.repeat_clickers = new.addresses
        self.bus.emit(AwarenessRefreshed(len(new.addresses), a.url))

    def _remediate(self) -> None:
        """Start the queued search & remediate jobs in the background (their status is state)."""
        from .services import remediation

        if self._remediation_db is None:
            self._remediation_db = remediation.SQLiteRemediationJobs(connect(self.datadir.database))
            if self._remediation_db.requeue_interrupted():
                log.warning("remediation jobs interrupted by the last stop are queued again")
        for job in self._remediation_db.claim_pending():
            task = asyncio.get_running_loop().create_task(self._run_remediation(job))
            self._remediation_tasks.add(task)
            task.add_done_callback(self._remediation_tasks.discard)

    async def _run_remediation(self, job: dict) -> None:
        from .services import remediation
        from .services.mailer import send
        from .services.outbound import ca_bundle, http_session

        config = self.snapshot.config

        def session_for():
            s = http_session(config.outbound, self.keyring)
            s.verify = ca_bundle(config, self.datadir.run)
            return s

        async def mail(sender, rcpts, content):
            await send(config, sender, rcpts, content, tls="opportunistic")

        try:
            job = await remediation.run_job(job, config, self.keyring, session_for, mail, self.bus.emit,
                                            self._remediation_db.save)
        except Exception as e:  # the job fails as a whole, visibly
            log.exception("remediation job %d failed", job["id"])
            job.update(status="failed", finished=time.time())
            for item in job["items"]:
                if item["status"] in ("pending", "in progress"):
                    item.update(status="failed", detail=f"{type(e).__name__}: {e}")
        self._remediation_db.save(job)

    async def _clicks(self, now: float) -> None:
        """Web Interaction Tracking: clicks on rewritten URLs from the aggregator, into the tracking records."""
        c = self.snapshot.config.cloud
        if not c.interaction_tracking or now < self._next_clicks:
            return
        self._next_clicks = now + c.poll_seconds
        from .events.cloud import ClickTracked
        from .services.cloud import (
            CLICKS_CURSOR_KEY,
            CloudClient,
            CloudError,
            fetch_clicks,
        )

        config = self.snapshot.config
        try:
            client = CloudClient(config, self.keyring, self.datadir.run, self.bus.emit)
            clicks, cursor = await asyncio.to_thread(fetch_clicks, client, self.state.get(CLICKS_CURSOR_KEY, ""))
        except CloudError:
            return  # the Cloud Connector log has the exchange and why it failed; next poll tries again
        for k in clicks:
            click = {"recipient": str(k.get("recipient", "")), "url": str(k["url"]),
                     "at": k.get("clicked_at"), "action": str(k.get("action", "allowed"))}
            mids = self.tracking.add_click(str(k["message_id"]), click["recipient"], click)
            self.bus.emit(ClickTracked(tuple(mids), str(k["message_id"]), click["recipient"], click["url"],
                                       click["action"]))
        self.state.put(CLICKS_CURSOR_KEY, cursor)

    def _check_certificates(self) -> None:
        """Warn of certificates that expire within 30 days (the key-expiration alert comes with alerts)."""
        from .events.system import CertificateExpiring

        for name, days in self.expiring_certificates():
            self.bus.emit(CertificateExpiring(name, days))

    def expiring_certificates(self) -> list[tuple[str, int]]:
        """(name, days left) of the certificates within 30 days of their end, or past it."""
        from .services.certificates import EXPIRY_WARNING_DAYS, expires

        now, out = time.time(), []
        for cert in self.snapshot.config.certificates.certificates:
            try:
                days = int((expires(cert.certificate).timestamp() - now) // 86400)
            except ValueError:
                continue
            if days <= EXPIRY_WARNING_DAYS:
                out.append((cert.name, days))
        return out

    @property
    def demo_cert_in_use(self) -> bool:
        config = self.snapshot.config
        return any(not l.certificate for l in config.listeners.listeners if l.enabled and l.starttls != "off")

    def _listener_name(self, req: dict) -> str:
        listener = self.snapshot.config.listeners.get(str(req.get("name", "")))
        if listener is None:
            raise ValueError(f"no listener named {req.get('name')!r}")
        return listener.name

    def _tracking_request(self, req: dict):
        rec = self.tracking.get(int(req.get("mid", 0)))
        return None if rec is None else rec.__dict__


#: The threat engines' rows in `status`, in the pipeline's order.
ENGINE_ROWS = (("antispam", "Anti-spam (Rspamd)"), ("antivirus", "Anti-virus (ClamAV)"),
               ("file_reputation", "File reputation and analysis"))


def _engine_row(e: dict) -> str:
    """One threat engine's status line (EngineService.status)."""
    if not e["enabled"]:
        return "off"
    counts = ", ".join(f"{k} {v}" for k, v in sorted(e["verdicts"].items())) or "no messages yet"
    latency = f"; p50 {e['p50_ms']} ms, p99 {e['p99_ms']} ms" if e["p50_ms"] is not None else ""
    return f"{e['state']}; {e['endpoint']}; {counts}{latency}"
