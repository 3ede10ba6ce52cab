"""The API's reporting counters over a tracking database filled with known counts: every report."""

from __future__ import annotations

import sqlite3

import pytest

from asyncos_cli.services import reporting, tracking_search
from asyncos_cli.services.tracking import _SCHEMA, TrackingRecord, write_records

T0 = 1_796_400_000.0  # a whole hour
HOUR = 3600


def record(mid, at, sender, action="DELIVERED", policies=("incoming DEFAULT",), verdicts=None, **extra):
    r = TrackingRecord(mid, mid, at, sender, ("rcpt@example.com",), 1000, f"subject {mid}", f"<{mid}@x>")
    r.final_action, r.finished, r.policies = action, at + 1, list(policies)
    r.verdicts = verdicts or {}
    r.remote_ip = extra.pop("ip", "10.0.0.1")
    r.sender_group = extra.pop("group", "UNKNOWNLIST")
    for k, v in extra.items():
        setattr(r, k, v)
    return r


@pytest.fixture
def conn():
    c = sqlite3.connect(":memory:")
    c.executescript(_SCHEMA)
    spam = {"antispam": {"verdict": "POSITIVE", "detail": ""}}
    suspect = {"antispam": {"verdict": "SUSPECT", "detail": ""}}
    virus = {"antivirus": {"verdict": "POSITIVE", "detail": "Eicar"}}
    cf = {"content_filters": {"verdict": "MATCH", "detail": "block_exe: drop"}}
    records = [
        record(1, T0 + 10, "a@one.example"),
        record(2, T0 + 20, "b@one.example", "QUARANTINED", verdicts=spam),
        record(3, T0 + HOUR + 5, "c@two.example", "DROPPED", verdicts=virus, ip="10.0.0.2"),
        record(4, T0 + HOUR + 6, "d@two.example", "BOUNCED", verdicts=suspect, ip="10.0.0.2", group="BLOCKLIST"),
        record(5, T0 + 2 * HOUR + 1, "e@three.example", "QUARANTINED", verdicts=cf,
               amp=[{"file": "x.exe", "sha256": "0" * 64, "verdict": "MALICIOUS", "threat": "W32"}]),
        record(6, T0 + 2 * HOUR + 2, "out@corp.example", policies=("outgoing DEFAULT",),
               dlp=[{"policy": "PCI", "severity": "HIGH", "matches": []}]),
        record(7, T0 + 2 * HOUR + 3, "out2@corp.example", "BOUNCED", policies=("outgoing SALES",), verdicts=cf,
               clicks=[{"url": "http://bad.example/", "recipient": "r@x", "at": T0, "action": "blocked"}]),
    ]
    write_records(c, records)
    c.executemany("INSERT INTO connection_events VALUES (?, ?, ?, ?, ?)", [
        (T0 + 30, 100, "192.0.2.1", "", "ip_reputation"), (T0 + 40, 101, "192.0.2.1", "", "ip_reputation"),
        (T0 + HOUR + 40, 102, "192.0.2.9", "spoof.example", "domain_reputation")])
    yield c
    c.close()


def run(conn, name, hours=3):
    return reporting.run(conn, name, T0, T0 + hours * HOUR - 1e-6)


def test_incoming_summary_equals_the_overview_the_shell_prints(conn):
    c = run(conn, "mail_incoming_traffic_summary")
    assert c["blocked_reputation"] == 2 and c["blocked_sdr"] == 1
    assert c["detected_spam"] == 2 and c["detected_spam_certain"] == 1 and c["detected_spam_suspect"] == 1
    assert c["detected_virus"] == 1 and c["threat_content_filter"] == 1
    assert c["total_clean_recipients"] == 1 and c["total_recipients"] == 5 + 3
    overview = tracking_search.overview(conn, T0, T0 + 3 * HOUR - 1e-6)
    assert c["total_recipients"] == overview["Total Attempted Messages"]


def test_outgoing_summary_and_policies(conn):
    out = run(conn, "mail_outgoing_traffic_summary")
    assert out["total_recipients_processed"] == 2 and out["total_clean_recipients"] == 1
    assert out["total_dlp_incidents"] == 1 and out["total_hard_bounces"] == 1 and out["threat_content_filter"] == 1
    incoming = run(conn, "mail_policy_incoming")
    assert incoming["DEFAULT"]["total_recipients"] == 5 and incoming["DEFAULT"]["total_quarantined"] == 2
    outgoing = run(conn, "mail_policy_outgoing")
    assert outgoing == {"DEFAULT": {"total_recipients": 1, "total_delivered": 1, "total_quarantined": 0,
                                    "total_dropped_or_bounced": 0},
                        "SALES": {"total_recipients": 1, "total_delivered": 0, "total_quarantined": 0,
                                  "total_dropped_or_bounced": 1}}


def test_detail_reports_per_domain_address_group_and_policy(conn):
    domains = run(conn, "mail_incoming_domain_detail")
    assert domains["one.example"]["total_recipients"] == 2 and domains["spoof.example"]["blocked_sdr"] == 1
    ips = run(conn, "mail_incoming_ip_hostname_detail")
    assert ips["192.0.2.1"]["blocked_reputation"] == 2 and ips["10.0.0.2"]["total_recipients"] == 2
    groups = run(conn, "mail_sender_group_detail")
    assert groups["BLOCKLIST"] == {"total_recipients": 1, "total_clean_recipients": 0}
    assert run(conn, "mail_dlp_outgoing_policy_detail")["PCI"]["DLP_INCIDENT_HIGH"] == 1
    assert run(conn, "mail_amp_threat_summary") == {"malicious": 1, "clean": 0, "unknown": 0, "total": 1}
    assert run(conn, "mail_content_filter_incoming") == {"block_exe": {"recipients_matched": 1}}
    assert run(conn, "mail_content_filter_outgoing") == {"block_exe": {"recipients_matched": 1}}
    assert run(conn, "mail_incoming_web_interaction_track_urls") == {"http://bad.example/": {"clicked_urls": 1}}
    capacity = run(conn, "mail_system_capacity")
    assert capacity["incoming_messages"] == 5 and capacity["outgoing_messages"] == 2
    assert run(conn, "mail_mor_summary") == {"total_remediation_jobs": 0}  # none has run here


def test_graph_is_the_summary_hour_by_hour(conn):
    hours = reporting.hourly(conn, "mail_incoming_traffic_summary", T0, T0 + 3 * HOUR - 1e-6)
    assert [h["total_recipients"] for _, h in hours] == [4, 3, 1]
    assert sum(h["blocked_reputation"] for _, h in hours) == 2
    assert [start for start, _ in hours] == [T0, T0 + HOUR, T0 + 2 * HOUR]


def test_every_report_answers_on_an_empty_database():
    c = sqlite3.connect(":memory:")
    c.executescript(_SCHEMA)
    for name in reporting.REPORTS:
        assert isinstance(reporting.run(c, name, T0, T0 + HOUR), dict), name


def _filled(with_rollups: bool, records, stops):
    from asyncos_cli.services import rollups

    c = sqlite3.connect(":memory:")
    c.executescript(_SCHEMA)
    if with_rollups:
        rollups.ensure(c)  # an empty database: roll-ups cover everything
    else:
        c.execute("DROP TABLE report_rollup_state")  # as a database the daemon has not opened since roll-ups came
    write_records(c, records)
    c.executemany("INSERT INTO connection_events VALUES (?, ?, ?, ?, ?)", stops)
    if with_rollups:
        rollups.add_stops(c, stops)
    return c


def test_rolled_up_counters_equal_the_counts_from_the_records_for_any_range():
    """Every report, over ranges with ragged ends, whole hours and whole days, from roll-ups and from the records."""
    import random

    rng = random.Random(11)
    start = T0 - 5 * 3600 - 17  # neither a whole hour nor a whole day
    verdicts = [{}, {"antispam": {"verdict": "POSITIVE", "detail": ""}},
                {"antispam": {"verdict": "SUSPECT", "detail": ""}, "antivirus": {"verdict": "POSITIVE", "detail": "x"}},
                {"content_filters": {"verdict": "MATCH", "detail": "f1: drop"}},
                {"url_scanning": {"verdict": "POSITIVE", "detail": ""}}]
    records, stops = [], []
    for mid in range(1, 3000):
        at = start + rng.random() * 17 * 86400  # weeks, days and hours of roll-ups
        r = record(mid, at, f"u{rng.randrange(9)}@d{rng.randrange(7)}.example",
                   rng.choice(["DELIVERED", "QUARANTINED", "DROPPED", "BOUNCED"]),
                   policies=rng.choice([("incoming DEFAULT",), ("incoming SALES",), ("outgoing DEFAULT",),
                                        ("incoming DEFAULT", "incoming SALES")]),
                   verdicts=rng.choice(verdicts), ip=f"10.0.0.{rng.randrange(20)}",
                   group=rng.choice(["", "UNKNOWNLIST", "BLOCKLIST"]),
                   dlp=rng.choice([[], [{"policy": "PCI", "severity": rng.choice(["HIGH", "LOW"]), "matches": []}]]),
                   amp=rng.choice([[], [{"file": "a", "sha256": "0" * 64, "verdict": "MALICIOUS", "threat": ""}]]))
        if mid % 50 == 0:
            r.final_action, r.finished = None, None  # still in flight (written by a findevent flush)
        records.append(r)
        if mid % 7 == 0:
            stops.append((at, mid, f"192.0.2.{rng.randrange(5)}", rng.choice(["", "spoof.example"]),
                          rng.choice(["ip_reputation", "domain_reputation"])))
    rolled, raw = _filled(True, records, stops), _filled(False, records, stops)
    assert rolled.execute("SELECT count(*) FROM report_rollups").fetchone()[0] > 0
    ranges = [(start, start + 17 * 86400), (T0, T0 + 86400 - 1e-6), (T0 + 1234.5, T0 + 2 * 86400 + 77),
              (T0 + 10, T0 + 20), (start + 86400 * 1.5, start + 86400 * 1.5 + 7200), (start + 7, start + 15 * 86400)]
    for since, until in ranges:
        for name in reporting.REPORTS:
            if name != "mail_mor_summary":
                assert reporting.run(rolled, name, since, until) == reporting.run(raw, name, since, until), name
        for kind, view in tracking_search.REPORT_VIEWS.items():
            assert view(rolled, since, until) == view(raw, since, until), kind
    # The ragged ends really come from the records: a record written at the very end of the range counts.
    assert tracking_search.overview(rolled, T0, T0 + 86400)["Total Attempted Messages"] > 0
