"""The relay as a component: its queue commands, its listeners' and delivery's state, its upkeep."""

from __future__ import annotations

import logging
from typing import Callable

from asyncos_cli.config.schema import Config
from asyncos_cli.relay.relay import Relay

from .base import Component, Every

log = logging.getLogger("asyncos.daemon")

#: How often held messages are checked against their quarantine's retention.
QUARANTINE_SWEEP_SECONDS = 60.0


class Mail(Component):
    def __init__(self, relay: Relay, maturity, config: Callable[[], Config]):
        self.relay = relay
        self.queue = relay.queue
        self.maturity = maturity
        self._config = config
        self._sweep = Every(QUARANTINE_SWEEP_SECONDS)

    def configure(self, config: Config) -> None:
        self.relay.configure(config)

    async def tick(self, now: float) -> None:
        self.maturity.flush()
        if self._sweep.due(now):
            try:
                await self.queue.expire_quarantines()
            except Exception:  # a damaged quarantine entry must not stop the gateway
                log.exception("quarantine expiry failed")

    async def stop(self) -> None:
        await self.relay.stop()
        self.maturity.flush()

    def operations(self) -> dict[str, Callable]:
        q = self.queue
        return {
            "queue": self._queued,
            "delivernow": lambda req: {"due": q.deliver_now()},
            "workqueue": self._workqueue,
            "settle": lambda req: q.settle(str(req.get("by", "all")), str(req.get("value", "")),
                                           bool(req.get("bounce"))),
            "redirect": self._redirect,
            "hosts": lambda req: q.host_summary(),
            "suspend": self._suspend_all,
            "resume": self._resume_all,
            "suspendlistener": self._suspend,
            "resumelistener": self._resume,
            "quarantine_release": self._release,
            "quarantine_delete": self._delete_held,
            "compile_filters": _compile_filters,
            "message": self._message,
        }

    def rows(self) -> list[list[str]]:
        status = self.relay.status()
        return [*[[f"Listener {l['name']}", f"{l['state']}; {l['interface']} port {l['port']} ({l['kind']})"]
                  for l in status["listeners"]],
                ["Delivery", "paused" if status["paused"] else "running"],
                ["Scanning workers", self.relay.scans.state()],
                ["DKIM verifier", self.relay.intake.verifier.state()]]

    def facts(self) -> dict:
        binding = self.relay.binding
        return {"mail_counters": self.relay.counters.as_dict(), "queued": self.queue.queued,
                "oldest_message": self.queue.oldest(), "dkim_verified_aside": self.relay.intake.verifier.verified,
                # False while the listeners are being bound again for the version just applied.
                "listeners_current": binding is None or binding.done()}

    # ------------------------------------------------------------ control operations

    def _queued(self, req: dict) -> list[dict]:
        limit = int(req.get("limit", 1000))
        selected = self.queue.matching(str(req.get("by", "all")), str(req.get("value", "")))
        return [
            {"mid": m.mid, "sender": m.sender, "received": m.received, "size": m.size, "attempts": m.attempts,
             "next_attempt": m.next_attempt, "last_error": m.last_error, "subject": m.subject,
             "recipients": [[r.rid, r.address] for r in rcpts]}
            for m, rcpts in selected[:limit]
        ]

    def _message(self, req: dict) -> dict | None:
        """showmessage: a queued or quarantined message, its first ``limit`` bytes (as latin-1 text: lossless)."""
        mid, limit = int(req.get("mid", 0)), int(req.get("limit", 65536))
        where, msg, held = self.queue.find(mid)
        if not where:
            return None
        if msg is not None:
            content, sender, rcpts = msg.content, msg.sender, [r.address for r in msg.pending()]
        else:
            content = self.queue.quarantines.content(where.split(" ", 1)[1], mid)
            sender, rcpts = held.sender, list(held.recipients)
        return {"mid": mid, "where": where, "sender": sender, "recipients": rcpts, "size": len(content),
                "content": content[:limit].decode("latin-1")}

    def _redirect(self, req: dict) -> str | None:
        target = req.get("target") or None
        self.queue.redirect(target)
        return target

    def _workqueue(self, req: dict) -> dict:
        action = req.get("action", "status")
        if action in ("pause", "resume"):
            self.queue.pause(action == "pause")
        return {"paused": self.queue.paused, "queued": self.queue.queued}

    def _listener_name(self, req: dict) -> str:
        listener = self._config().listeners.get(str(req.get("name", "")))
        if listener is None:
            raise ValueError(f"no listener named {req.get('name')!r}")
        return listener.name

    async def _suspend_all(self, req: dict) -> dict:
        """suspend / suspenddel: receiving and/or delivery stop, after a grace of ``delay`` seconds each."""
        delay = max(0.0, min(float(req.get("delay", 30)), 3600.0))
        out = {}
        if req.get("receiving"):
            out["sessions_closed"] = await self.relay.suspend_receiving(delay)
        if req.get("delivery"):
            self.queue.pause(True)
            out["deliveries_stopped"] = await self.queue.drain(delay)
        return out

    async def _resume_all(self, req: dict) -> dict:
        if req.get("receiving"):
            await self.relay.resume_receiving()
        if req.get("delivery"):
            self.queue.pause(False)
        return {"queued": self.queue.queued}

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
                released[str(mid)] = await self.queue.release(name, mid, str(req.get("user", "")))
            except KeyError as e:
                raise ValueError(str(e.args[0])) from None
        return {"released": released}

    def _delete_held(self, req: dict) -> dict:
        name, user = str(req.get("name", "")), str(req.get("user", "")) or "unknown"
        return {"deleted": [m for m in (int(x) for x in req.get("mids", [])) if self.queue.delete_held(name, m, user)]}


def _compile_filters(req: dict) -> dict:
    """A filter script checked by the scanning engine, for callers that may not import it (the API process):
    its filters, or the engine's reason for refusing it (line and column)."""
    from scanning.filters import FilterError, parse_filters

    try:
        parsed = parse_filters(str(req.get("script", "")))
    except FilterError as e:
        return {"error": f"Invalid filter: {e}"}
    return {"filters": [{"name": f.name, "source": f.source.strip(), "active": f.active} for f in parsed]}


#: The threat engines' rows in `status`, in the pipeline's order.
ENGINE_ROWS = (("antispam", "Anti-spam (Rspamd)"), ("antivirus", "Anti-virus (ClamAV)"),
               ("file_reputation", "File reputation and analysis"))


class Engines(Component):
    """The threat engines' state (the relay configures and asks them; this only reports)."""

    def __init__(self, engines):
        self.engines = engines

    def rows(self) -> list[list[str]]:
        engines = self.engines.status()
        return [*[[title, _engine_row(engines[e])] for e, title in ENGINE_ROWS],
                ["Graymail detection", "not supported yet"]]

    def facts(self) -> dict:
        return {"engines": self.engines.status()}


def _engine_row(e: dict) -> str:
    """One threat engine's status line (EngineService.status)."""
    if not e["enabled"]:
        return "off"
    counts = ", ".join(f"{k} {v}" for k, v in sorted(e["verdicts"].items())) or "no messages yet"
    latency = f"; p50 {e['p50_ms']} ms, p99 {e['p99_ms']} ms" if e["p50_ms"] is not None else ""
    return f"{e['state']}; {e['endpoint']}; {counts}{latency}"
