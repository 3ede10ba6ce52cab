"""The engine stages in the pipeline: the caller's engine answers turned into each policy's actions (no sockets)."""

from __future__ import annotations

import email
import email.policy

from corpus import mail as _mail

from asyncos_cli.config.engines import AntivirusActions, VerdictAction
from asyncos_cli.config.schema import Config, MailPoliciesSection, MailPolicy
from asyncos_cli.services.engines.rspamd import with_urls
from scanning.engines import EngineResults, engine_work
from scanning.message import parse
from scanning.pipeline import Envelope
from scanning.verdict import StageResult
from scanning.worker import scan_message

ENV = Envelope("x@example.org", ("a@example.com",))


def _config(**policy) -> Config:
    c = Config.default()
    c = c.with_section(c.antivirus.replace(enabled=True)).with_section(c.antispam.replace(enabled=True))
    return c.with_section(MailPoliciesSection(incoming=(MailPolicy("DEFAULT", dlp=False, **policy),)))


def _av(raw: bytes, top_sha: str) -> EngineResults:
    return EngineResults(antivirus={"verdict": "infected", "threats": ["Test.Virus"], "infected": [top_sha],
                                    "in_body": False, "detail": ""})


def test_infected_attachment_is_stripped_and_the_subject_tagged():
    raw = _mail(("evil.bin", b"\x00evil", "application/octet-stream"), ("fine.txt", b"fine", "text/plain"))
    evil = parse(raw).attachments[0].sha256
    actions = AntivirusActions(infected=VerdictAction("strip", subject_tag="[VIRUS REMOVED]"))
    [result] = scan_message(raw, ENV, _config(antivirus_actions=actions), engines=_av(raw, evil))
    assert result.action == "deliver"
    out = email.message_from_bytes(result.content, policy=email.policy.default)
    assert [p.get_filename() for p in out.iter_attachments()] == ["fine.txt"]
    assert out["Subject"].startswith("[VIRUS REMOVED] ")
    assert StageResult("antivirus", "POSITIVE", "Test.Virus; action strip evil.bin") in result.stages


def test_a_virus_in_the_body_cannot_be_stripped_so_the_message_is_dropped():
    raw = _mail(("fine.txt", b"fine", "text/plain"))
    results = EngineResults(antivirus={"verdict": "infected", "threats": ["Body.Virus"], "infected": [],
                                       "in_body": True, "detail": ""})
    actions = AntivirusActions(infected=VerdictAction("strip"))
    [result] = scan_message(raw, ENV, _config(antivirus_actions=actions), engines=results)
    assert result.action == "drop" and "nothing to strip" in {s.stage: s.detail for s in result.stages}["antivirus"]


def test_spam_thresholds_are_the_policys():
    raw = _mail(("a.txt", b"x", "text/plain"))
    for score, verdict, action in ((20.0, "POSITIVE", "quarantine"), (7.0, "SUSPECT", "deliver"),
                                   (1.0, "NEGATIVE", "deliver")):
        rules = _config().mail_policies.incoming[0].antispam_actions.replace(
            positive=VerdictAction("quarantine", quarantine="Spam"))
        [result] = scan_message(raw, ENV, _config(antispam_actions=rules),
                                engines=EngineResults(antispam={"verdict": "scored", "score": score}))
        stage = next(s for s in result.stages if s.stage == "antispam")
        assert (stage.verdict, result.action) == (verdict, action), stage
        if verdict == "SUSPECT":
            assert b"Subject: [SUSPECTED SPAM] " in result.content
        if verdict == "POSITIVE":
            assert result.quarantine == "Spam" and result.decided_by == "antispam (positive)"


def test_unavailable_engine_follows_the_sections_action():
    raw = _mail(("a.txt", b"x", "text/plain"))
    config = _config()
    down = EngineResults(antivirus={"verdict": "unavailable", "detail": "connection refused"})
    [deferred] = scan_message(raw, ENV, config, engines=down)
    assert (deferred.action, deferred.deferred_stage) == ("defer", "antivirus")  # the default keeps it queued
    config = config.with_section(config.antivirus.replace(unavailable_action="quarantine"))
    [result] = scan_message(raw, ENV, config, engines=down)
    assert (result.action, result.quarantine) == ("quarantine", "Unscannable")


def test_engine_work_lists_attachments_and_attachment_urls():
    raw = _mail(("page.html", b"<html><a href='http://spam-offer.example.com/x'>x</a></html>", "text/html"),
                ("tool.exe", b"MZ" + b"\x00" * 64, "application/octet-stream"))
    config = _config()
    config = config.with_section(config.file_reputation.replace(enabled=True, url="https://rep.example"))
    work = engine_work(parse(raw), config)
    assert [p[0] for p in work.av_parts] == ["page.html", "tool.exe"]
    assert [f["name"] for f in work.lookups] == ["tool.exe"]  # html is not a looked-up type by default
    assert work.urls == ["http://spam-offer.example.com/x"]


def test_rspamd_copy_carries_the_attachment_urls_as_one_more_text_part():
    raw = _mail(("a.txt", b"x", "text/plain"))
    wrapped = email.message_from_bytes(with_urls(raw, ["http://spam-offer.example.com/x"]), policy=email.policy.default)
    original = email.message_from_bytes(raw, policy=email.policy.default)
    assert wrapped["Subject"] == original["Subject"] and wrapped["From"] == original["From"]
    parts = list(wrapped.iter_parts())
    assert parts[0].get_content_type() == original.get_content_type()
    assert parts[-1].get_content().strip() == "http://spam-offer.example.com/x"
    assert with_urls(raw, []) is raw
