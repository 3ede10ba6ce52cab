"""With the threat engines on, a message crosses to the scanning workers once and comes back as one outcome."""

from __future__ import annotations

import asyncio

from corpus import mail

from asyncos_cli.config.schema import Config
from asyncos_cli.relay.scanq import ScanQueue
from asyncos_cli.relay.spool import QueuedMessage, Recipient
from scanning.verdict import Action, ScanOutcome


class _Engines:
    """The daemon's EngineService as the scan queue sees it: on, answering clean, noting what it was asked."""

    def __init__(self):
        self.asked = []

    def wanted(self, config) -> bool:
        return True

    async def examine(self, mid, raw, envelope, work, config) -> dict:
        self.asked.append((mid, [label for label, *_ in work.av_parts]))
        return {"antivirus": {"verdict": "clean", "detail": "", "threats": [], "infected": [], "in_body": False}}

    def close(self) -> None:
        pass


class _NoReputation:
    def can_answer(self, kind: str) -> bool:
        return False


def test_one_hand_off_per_message_and_the_worker_sends_what_it_extracted(tmp_path):
    config = Config.default()
    config = config.with_section(config.antivirus.replace(enabled=True))
    engines, outcomes = _Engines(), {}

    async def scenario():
        queue = ScanQueue(lambda: config, lambda event: None, engines, _NoReputation(), None, None,
                          tmp_path / "engines.sock")
        await queue.start()
        handed = []
        real = queue._in_workers

        async def counting(function, jobs, cfg, *extra):
            handed.append((function.__name__, [job[1].mid for job in jobs]))
            return await real(function, jobs, cfg, *extra)

        queue._in_workers = counting
        try:
            futures = {}
            for mid in (1, 2, 3):
                content = mail((f"report-{mid}.pdf", b"%PDF-1.4 not really", "application/pdf"))
                msg = QueuedMessage(mid, 1, "a@example.org", [Recipient(0, "b@example.com")], 0.0, "IncomingMail",
                                    content=content)
                assert queue.needs_scan(msg)
                futures[mid] = queue.scan(msg)
            for mid, future in futures.items():
                outcomes[mid] = await asyncio.wait_for(future, 30)
        finally:
            queue.close()
        return handed

    handed = asyncio.run(scenario())
    assert sorted(m for _, mids in handed for m in mids) == [1, 2, 3]  # each message handed over once
    assert {name for name, _ in handed} == {"scan_with_engines"}
    assert sorted(engines.asked) == [(1, ["report-1.pdf"]), (2, ["report-2.pdf"]), (3, ["report-3.pdf"])]
    assert all(isinstance(o, ScanOutcome) and not o.failure for o in outcomes.values()), outcomes
    assert all(o.copies[0].action is Action.DELIVER for o in outcomes.values())
    assert all(any(s.stage == "antivirus" and s.verdict == "NEGATIVE" for s in o.copies[0].stages)
               for o in outcomes.values()), outcomes


def test_a_worker_that_dies_waiting_for_the_engines_costs_no_message(tmp_path):
    """Its messages come back unscannable (and are delivered, saying so); the next ones get a fresh worker."""
    import os
    import signal

    config = Config.default()
    config = config.with_section(config.antivirus.replace(enabled=True))
    outcomes, running = {}, {}

    class _KillingEngines(_Engines):
        async def examine(self, mid, raw, envelope, work, config) -> dict:
            if mid == 1:
                for pid in list(running["queue"]._pool._processes):  # the worker waiting for this answer dies
                    os.kill(pid, signal.SIGKILL)
                await asyncio.sleep(30)
            return await super().examine(mid, raw, envelope, work, config)

    async def scenario():
        queue = running["queue"] = ScanQueue(lambda: config, lambda event: None, _KillingEngines(), _NoReputation(),
                                             None, None, tmp_path / "engines.sock")
        await queue.start()
        try:
            for mid, name in ((1, "a.pdf"), (2, "b.pdf")):
                msg = QueuedMessage(mid, 1, "a@example.org", [Recipient(0, "b@example.com")], 0.0, "IncomingMail",
                                    content=mail((name, b"%PDF-1.4 x", "application/pdf")))
                outcomes[mid] = await asyncio.wait_for(queue.scan(msg), 30)
        finally:
            queue.close()

    asyncio.run(scenario())
    assert "BrokenProcessPool" in outcomes[1].failure, outcomes[1]
    assert not outcomes[2].failure and outcomes[2].copies[0].action is Action.DELIVER, outcomes[2]


_FIELDS = [b"Content-Type: text/plain", b"content-type: multipart/mixed; boundary=x",
           b"Content-Type:\r\n\tapplication/pdf",
           b"CONTENT-DISPOSITION: attachment", b"Content-Disposition: inline", b"X-Content-Type: image/png",
           b"Content-Type: garbage", b" continued Content-Type: image/gif", b"content-type: TEXT/html",
           b"Content-Disposition:\r\n attachment; x", b"\rContent-Type: image/x", b"Subject: hi"]


def test_may_have_attachments_reads_the_head_as_the_multiline_regexes_do():
    """The fast reading (bytes.find, then a match at each field's start) against the plain (?im)^ regexes."""
    import re

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from asyncos_cli.relay.scanq import may_have_attachments

    content_type = re.compile(rb"(?im)^content-type:[ \t]*(?:\r?\n[ \t]+)?([a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+)")
    disposition = re.compile(rb"(?im)^content-disposition:[ \t]*(?:\r?\n[ \t]+)?attachment")

    def reference(content: bytes) -> bool:
        end = re.search(rb"\r?\n\r?\n", content[:256 * 1024])
        head = content[: end.start() if end else 256 * 1024]
        m = content_type.search(head)
        if m is not None and not m.group(1).lower().startswith(b"text/"):
            return True
        return disposition.search(head) is not None

    @settings(max_examples=3000, deadline=None)
    @given(st.lists(st.sampled_from(_FIELDS), max_size=6), st.sampled_from([b"\r\n", b"\n", b"\r"]),
           st.sampled_from([b"\r\n\r\n", b"\n\n", b"\r\n", b""]),
           st.sampled_from([b"body", b"Content-Type: image/png"]))
    def same(fields, eol, separator, body):
        content = eol.join(fields) + separator + body
        assert may_have_attachments(content) == reference(content)

    same()
