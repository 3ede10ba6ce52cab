"""Sender Maturity: first-seen records with a controllable clock, the filter rule, and Sender Domain Age's end."""

from __future__ import annotations

import smtplib
import sqlite3

from conftest import DaemonProcess, listener_port, mail_log, run_cli, wait_for
from corpus import mail

from asyncos_cli.config.schema import Config, MessageFilter, MessageFiltersSection
from asyncos_cli.services.maturity import SenderMaturity
from scanning.message import parse
from scanning.pipeline import Envelope, scan

DAY = 86400.0
RULE = 'young: if (sender-maturity < 30) { log-entry("young sender $EnvelopeFrom"); }'


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


def _matches(days: int | None) -> bool:
    config = Config.default().with_section(MessageFiltersSection((MessageFilter("young", RULE),)))
    env = Envelope("a@new.example", ("b@example.com",), sender_maturity=days)
    return bool(scan(parse(mail()), env, config)[0].findings["filters"]["log_entries"])


def test_maturity_grows_with_the_clock_and_caps_at_ninety_days(tmp_path):
    clock = Clock()
    db = tmp_path / "state.db"
    m = SenderMaturity(sqlite3.connect(db), clock)
    assert m.days("never.example") == 0
    m.seen("new.example")
    assert m.days("new.example") == 0 and _matches(m.days("new.example"))
    clock.now += 29 * DAY
    m.seen("new.example")  # seen again: the first time is kept
    assert m.days("NEW.example") == 29 and _matches(29)
    clock.now += 61 * DAY
    assert m.days("new.example") == 90 and not _matches(90)  # 90 simulated days: mature
    clock.now += 400 * DAY
    assert m.days("new.example") == 90  # capped
    m.flush()
    again = SenderMaturity(sqlite3.connect(db), clock)  # state survives a restart
    assert again.days("new.example") == 90


def test_a_filter_naming_sender_domain_age_is_refused_with_the_replacement(datadir, tmp_path):
    script = tmp_path / "f.txt"
    script.write_text('old: if (sender-domain-age < 30) { drop(); }\n.\n')
    r = run_cli(datadir, "-c", f"filters import {script}")
    assert r.returncode != 0 and "Sender Domain Age" in r.stderr and "use sender-maturity" in r.stderr


def test_the_relay_gives_first_seen_senders_zero_days(datadir, tmp_path):
    script = tmp_path / "f.txt"
    script.write_text(RULE + "\n.\n")
    assert run_cli(datadir, "-c", f"filters import {script}; commit").returncode == 0
    d = DaemonProcess(datadir)
    try:
        with smtplib.SMTP("127.0.0.1", listener_port(datadir, "IncomingMail"), timeout=20) as s:
            s.sendmail("a@brand-new.example", ["b@example.com"], mail(message_id="<young@x>"))
        assert wait_for(lambda: "Custom Log Entry: young sender a@brand-new.example" in mail_log(datadir), 20)
    finally:
        d.stop()
    rows = sqlite3.connect(datadir / "asyncos.db").execute(
        "SELECT domain FROM sender_first_seen").fetchall()
    assert ("brand-new.example",) in rows  # written to the store at the daemon's stop
