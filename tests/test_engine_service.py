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


def test_messages_asking_for_the_same_file_at_once_share_one_query(monkeypatch):
    from asyncos_cli.services.engines.filerep import FileReputationClient

    c = Config.default()
    c = c.with_section(c.file_reputation.replace(enabled=True, url="https://reputation.invalid"))
    client = FileReputationClient(c, None, True, lambda *a, **k: None)
    asked = []

    def post(hashes, budget):
        asked.append(hashes)
        import time

        time.sleep(0.2)
        return {h: ("malicious", "W32.Test") for h in hashes}

    monkeypatch.setattr(client, "_post_lookup", post)
    files = [{"name": "a.exe", "sha256": "ab" * 32, "type": "exe", "size": 3}]

    async def three():
        return await asyncio.gather(*(client.lookup(mid, files) for mid in (1, 2, 3)))

    results = asyncio.run(three())
    assert asked == [["ab" * 32]]
    assert all(files[0]["verdict"] == "malicious" and failure == "" for files, failure in results)
    client.close()
