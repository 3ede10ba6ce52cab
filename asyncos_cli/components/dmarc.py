"""The DMARC aggregate reports as a component: rows counted from the bus, written each minute, the daily report
mailed after midnight (UTC) when dmarcconfig turned them on."""

from __future__ import annotations

import time
from typing import Callable

from asyncos_cli.config.schema import Config
from asyncos_cli.events.mail import DmarcVerified, MessageAuthenticated
from asyncos_cli.services import dmarcreports

from .base import Component, Every


class DmarcReports(Component):
    def __init__(self, bus, conn, config: Callable[[], Config], generate):
        self.data = dmarcreports.DmarcData(conn)
        self._config = config
        #: qmgr.generate: the report goes out as a message the gateway writes itself.
        self._generate = generate
        self._flush = Every(60)
        self._day = dmarcreports.day_of(time.time())
        bus.subscribe(MessageAuthenticated, self._count)

    def _count(self, authenticated) -> None:
        e = authenticated.part(DmarcVerified)
        if e is None:
            return
        if e.policy and e.result in ("pass", "fail"):
            disposition = {"quarantine": "quarantine", "reject": "reject"}.get(e.action, "none")
            self.data.record(e.at, e.domain, e.source_ip, disposition, e.dkim_aligned, e.spf_aligned, e.dkim,
                             e.spf, e.policy)

    async def tick(self, now: float) -> None:
        if self._flush.due(now):
            self.data.flush()
            today = dmarcreports.day_of(time.time())
            if today != self._day:
                self._day = today
                if self._config().dmarc.aggregate_reports:
                    await self.send(dmarcreports.yesterday())

    async def send(self, day: str) -> list[str]:
        """Mail ``day``'s reports not sent yet; the domains reported."""
        config = self._config()
        org = config.dmarc.report_org_name or config.system.hostname
        contact = config.dmarc.report_contact or f"postmaster@{config.system.hostname}"
        sent = []
        for domain in self.data.due(day):
            report_id, to, xml, filename = self.data.report(day, domain, org, contact)
            content = dmarcreports.message(report_id, to, xml, filename, domain, org, contact)
            await self._generate(contact, to, content, "(dmarc)", f"Report Domain: {domain}")
            self.data.sent(day, domain)
            sent.append(domain)
        return sent

    def operations(self) -> dict:
        async def report(req: dict) -> dict:
            return {"sent": await self.send(str(req.get("day") or dmarcreports.day_of(time.time())))}

        return {"dmarc_report": report}

    async def stop(self) -> None:
        self.data.flush()
