"""The engine service's own failure handling (no peers needed: the failures are made here)."""

from __future__ import annotations

import asyncio

from asyncos_cli.config.schema import Config
from asyncos_cli.events.engines import AntivirusUnavailable, EngineAvailable
from asyncos_cli.services.engines import clamd
from asyncos_cli.services.engines.service import EngineService
from scanning.engines import EngineWork


def _service(events):
    c = Config.default()
    c = c.with_section(c.antivirus.replace(enabled=True, clamd="127.0.0.1:9"))
    return EngineService(c, None, events.append), c


def test_a_bug_in_an_engine_client_is_that_engines_failure_not_the_messages_loss(monkeypatch):
    events = []
    service, config = _service(events)

    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(clamd, "scan", broken)
    out = asyncio.run(service.examine(1, b"Subject: x\r\n\r\nx\r\n", {}, EngineWork(), config))
    assert out["antivirus"]["verdict"] == "unavailable" and "internal error: RuntimeError: boom" in out["antivirus"]["detail"]
    assert [type(e) for e in events] == [AntivirusUnavailable]
    service.close()


def test_an_outage_is_one_alert_and_the_recovery_one_log_line(monkeypatch):
    events = []
    service, config = _service(events)
    answers = iter([clamd.ClamdUnavailable("refused"), clamd.ClamdUnavailable("refused"), ("clean", "")])

    async def flaky(*args, **kwargs):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(clamd, "scan", flaky)
    verdicts = [asyncio.run(service.examine(n, b"x", {}, EngineWork(), config))["antivirus"]["verdict"] for n in (1, 2, 3)]
    assert verdicts == ["unavailable", "unavailable", "clean"]
    assert [type(e) for e in events] == [AntivirusUnavailable, EngineAvailable]
    assert service.status()["antivirus"]["verdicts"] == {"unavailable": 2, "clean": 1}
    service.close()
