"""The gateway's cloud-facing upkeep: the repeat-clicker list, clicks on rewritten URLs, remediation jobs."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Callable

from asyncos_cli.config.schema import Config

from .base import Component

log = logging.getLogger("asyncos.daemon")


class Awareness(Component):
    """Pick up an imported repeat-clicker list; refresh it from the service when due."""

    def __init__(self, state, keyring, run_dir: Path, emit, config: Callable[[], Config],
                 use: Callable[[frozenset], None]):
        self._state, self._keyring, self._run_dir, self._emit = state, keyring, run_dir, emit
        self._config = config
        #: Where the current list goes (the scan queue's repeat clickers).
        self._use = use
        self._version = -1
        self._next = 0.0
        self._settings = config().awareness

    def configure(self, config: Config) -> None:
        if config.awareness != self._settings:
            self._settings = config.awareness
            self._next = 0.0  # a new service or schedule: ask it at once

    async def tick(self, now: float) -> None:
        from asyncos_cli.events.system import AwarenessRefreshed, AwarenessRefreshFailed
        from asyncos_cli.services import awareness
        from asyncos_cli.services.outbound import ca_bundle

        current = awareness.load(self._state)
        if current.version != self._version:
            self._version = current.version
            self._use(current.addresses)
        config = self._config()
        a = config.awareness
        if not a.enabled or now < self._next:
            return
        self._next = now + a.interval_minutes * 60
        try:
            verify = ca_bundle(config, self._run_dir)
            addresses = await asyncio.to_thread(awareness.fetch, config, self._keyring, verify)
        except Exception as e:  # the last good list stays; the failure is an alert event
            from asyncos_cli.events.system import UpstreamProxyFailed
            from asyncos_cli.services.outbound import proxy_failure

            proxy = proxy_failure(config.outbound, e)
            if proxy:
                self._emit(UpstreamProxyFailed(proxy, "repeat-clicker list", f"{type(e).__name__}: {str(e)[:200]}"))
            self._emit(AwarenessRefreshFailed(f"{type(e).__name__}: {str(e)[:200]}", len(current.addresses)))
            return
        new = awareness.store(self._state, addresses, a.url)
        self._version = new.version
        self._use(new.addresses)
        self._emit(AwarenessRefreshed(len(new.addresses), a.url))


class Clicks(Component):
    """Web Interaction Tracking: clicks on rewritten URLs from the aggregator, into the tracking records."""

    def __init__(self, state, keyring, run_dir: Path, emit, config: Callable[[], Config], tracking):
        self._state, self._keyring, self._run_dir, self._emit = state, keyring, run_dir, emit
        self._config = config
        self._tracking = tracking
        self._next = 0.0
        self._settings = config().cloud

    def configure(self, config: Config) -> None:
        if config.cloud != self._settings:
            self._settings = config.cloud
            self._next = 0.0

    async def tick(self, now: float) -> None:
        c = self._config().cloud
        if not c.interaction_tracking or now < self._next:
            return
        self._next = now + c.poll_seconds
        from asyncos_cli.events.cloud import ClickTracked
        from asyncos_cli.services.cloud import (
            CLICKS_CURSOR_KEY,
            CloudClient,
            CloudError,
            fetch_clicks,
        )

        config = self._config()
        try:
            client = CloudClient(config, self._keyring, self._run_dir, self._emit)
            clicks, cursor = await asyncio.to_thread(fetch_clicks, client, self._state.get(CLICKS_CURSOR_KEY, ""))
        except CloudError:
            return  # the Cloud Connector log has the exchange and why it failed; next poll tries again
        for k in clicks:
            click = {"recipient": str(k.get("recipient", "")), "url": str(k["url"]),
                     "at": k.get("clicked_at"), "action": str(k.get("action", "allowed"))}
            mids = self._tracking.add_click(str(k["message_id"]), click["recipient"], click)
            self._emit(ClickTracked(tuple(mids), str(k["message_id"]), click["recipient"], click["url"],
                                    click["action"]))
        self._state.put(CLICKS_CURSOR_KEY, cursor)


class Remediation(Component):
    """Start the queued search & remediate jobs in the background (their status is state)."""

    def __init__(self, connect: Callable, keyring, run_dir: Path, emit, config: Callable[[], Config]):
        self._connect, self._keyring, self._run_dir, self._emit = connect, keyring, run_dir, emit
        self._config = config
        self._jobs = None
        self._tasks: set[asyncio.Task] = set()

    async def tick(self, now: float) -> None:
        from asyncos_cli.services import remediation

        if self._jobs is None:
            self._jobs = remediation.SQLiteRemediationJobs(self._connect())
            if self._jobs.requeue_interrupted():
                log.warning("remediation jobs interrupted by the last stop are queued again")
        for job in self._jobs.claim_pending():
            task = asyncio.get_running_loop().create_task(self._run(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, job: dict) -> None:
        from asyncos_cli.services import remediation
        from asyncos_cli.services.mailer import send
        from asyncos_cli.services.outbound import ca_bundle, http_session

        config = self._config()

        def session_for():
            s = http_session(config.outbound, self._keyring)
            s.verify = ca_bundle(config, self._run_dir)
            return s

        async def mail(sender, rcpts, content):
            await send(config, sender, rcpts, content, tls="opportunistic")

        try:
            job = await remediation.run_job(job, config, self._keyring, session_for, mail, self._emit,
                                            self._jobs.save)
        except Exception as e:  # the job fails as a whole, visibly
            log.exception("remediation job %d failed", job["id"])
            job.update(status="failed", finished=time.time())
            for item in job["items"]:
                if item["status"] in ("pending", "in progress"):
                    item.update(status="failed", detail=f"{type(e).__name__}: {e}")
        self._jobs.save(job)
