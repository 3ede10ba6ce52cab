"""Log files (layout, levels, rollover), the event bus and tracking records."""

from __future__ import annotations

import sqlite3
import time

from asyncos_cli.config.schema import LogsSection, LogSubscription
from asyncos_cli.events import Event, EventBus, log_subscriber
from asyncos_cli.events.mail import MessageFinished, MessageReceived, StageVerdict
from asyncos_cli.events.shell import CliBatchCommand
from asyncos_cli.services.logs import LogFile, LogService
from asyncos_cli.services.tracking import TrackingService


def test_log_file_layout_levels_and_size_rollover(tmp_path):
    sub = LogSubscription("mail_logs", "mail", "mail", level="Information", max_file_bytes=100 * 1024, keep_files=2)
    f = LogFile(tmp_path / "mail_logs", sub, serial="ABC")
    f.write("Debug", "not written at Information level")
    for i in range(3000):
        f.write("Information", f"MID {i} ready 100 bytes from <a@example.com>")
    f.close()
    current = (tmp_path / "mail_logs" / "mail.current").read_text().splitlines()
    assert current[0].endswith("Info: Begin Logfile") and "Version: " in current[1] and "SN: ABC" in current[1]
    rolled = sorted((tmp_path / "mail_logs").glob("mail.@*.s"))
    assert 1 <= len(rolled) <= 2  # keep_files prunes the oldest
    last_rolled = rolled[-1].read_text().splitlines()
    assert last_rolled[-2].endswith("Info: Logfile rolled over") and last_rolled[-1].endswith("Info: End Logfile")
    assert all(p.stat().st_size <= 100 * 1024 for p in rolled)
    text = "".join(p.read_text() for p in [*rolled, tmp_path / "mail_logs" / "mail.current"])
    assert "not written" not in text and "MID 2999 ready" in text
    assert " Info: MID 2999 ready 100 bytes from <a@example.com>" in text


def test_time_rollover(tmp_path):
    sub = LogSubscription("system_logs", "system", "system", rollover_seconds=60)
    f = LogFile(tmp_path / "s", sub)
    now = time.time()
    f.write("Information", "first", now=now)
    f.write("Information", "an hour later", now=now + 3600)
    f.close()
    assert len(list((tmp_path / "s").glob("system.@*.s"))) == 1
    assert "an hour later" in (tmp_path / "s" / "system.current").read_text()


def test_two_writers_share_a_file_without_losing_lines(tmp_path):
    sub = LogSubscription("cli_logs", "cli_audit", "cli", max_file_bytes=100 * 1024)
    a, b = LogFile(tmp_path / "c", sub), LogFile(tmp_path / "c", sub)
    for i in range(1500):
        (a if i % 2 else b).write("Information", f"line {i}")
    a.close(), b.close()
    text = "".join(p.read_text() for p in (tmp_path / "c").iterdir() if p.name != ".lock")
    assert all(f"line {i}\n" in text for i in range(1500))


def test_bus_carries_events_to_logs_and_survives_a_broken_subscriber(tmp_path):
    logs = LogService(tmp_path, LogsSection())
    bus = EventBus()
    bus.subscribe(Event, lambda e: 1 / 0)
    bus.subscribe(Event, log_subscriber(logs))
    bus.emit(CliBatchCommand(42, "admin", "sethostname x.example.com", "console"))
    logs.close()
    line = (tmp_path / "cli_logs" / "cli.current").read_text().splitlines()[-1]
    assert line.endswith("Info: PID 42: User admin from console executed batch command: sethostname x.example.com")
    assert bus.handler_failures == 1


def test_tracking_record_collects_every_stage_and_persists(tmp_path):
    conn = sqlite3.connect(tmp_path / "t.db")
    tracking = TrackingService(conn)
    bus = EventBus()
    tracking.attach(bus)
    bus.emit(MessageReceived(7, 3, "a@example.com", ("b@example.org",), 2048, subject="hi"))
    bus.emit(StageVerdict(7, "antispam", "NEGATIVE"))
    bus.emit(StageVerdict(7, "antivirus", "NOT_EVALUATED", "not configured"))
    assert tracking.in_flight == 1
    bus.emit(MessageFinished(7, "DELIVERED"))
    assert tracking.in_flight == 0 and tracking.finished_count() is None  # not counted yet: a thread does it once
    tracking.flush()
    assert tracking.count_finished() == 1 and tracking.finished_count() == 1
    bus.emit(MessageReceived(8, 3, "a@example.com", ("b@example.org",), 100))
    bus.emit(MessageFinished(8, "DELIVERED"))
    tracking.flush()
    assert tracking.finished_count() == 2  # each flush adds its own, no scan
    rec = TrackingService(conn).get(7)
    assert rec.sender == "a@example.com" and rec.size == 2048 and rec.final_action == "DELIVERED"
    assert list(rec.verdicts) == ["antispam", "antivirus"]
    assert rec.verdicts["antivirus"] == {"verdict": "NOT_EVALUATED", "detail": "not configured"}


def test_threads_of_one_process_lose_no_line(tmp_path):
    """The SSH server writes failed logins from worker threads: every line arrives, whole."""
    import threading

    log = LogFile(tmp_path / "auth", LogSubscription("authentication", "authentication", "authentication"))

    def writer(n: int) -> None:
        for i in range(400):
            log.write("Warning", f"thread {n} line {i}")

    threads = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "writers stuck"
    log.close()
    lines = [line for line in (tmp_path / "auth" / "authentication.current").read_text().splitlines()
             if "Warning: thread " in line]
    assert len(lines) == 8 * 400 and len(set(lines)) == len(lines)
