"""The appliance's reporting counters (the AsyncOS API's ``reporting/<report>``), over message tracking.

Each report is a summary (one value per counter) or a detail (per domain, address, policy...: one value per
counter per key), named and counted as the appliance names them. Summaries are made from the same views
``report`` prints (tracking_search.overview and friends), so the shell and the API agree for a range.
Counters of features this gateway does not have (graymail, DMARC, decryption verdicts) are left out, not
reported as zero.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Callable

from . import tracking_search as ts
from .rollups import SEP, counts, split

HOUR = 3600


@dataclass(frozen=True)
class Report:
    name: str
    #: None: a summary, {counter: n}; otherwise a detail keyed by this, {key: {counter: n}}.
    keyed_by: str | None
    compute: Callable[[sqlite3.Connection, float, float], dict]
    #: False: made from this machine's tables alone (clicks, remediation jobs), in a cluster too.
    cluster_wide: bool = True


def _incoming_summary(conn, since, until) -> dict:
    o = ts.overview(conn, since, until)
    s = o["Incoming Mail Summary"]
    verdict = ts.Verdicts(conn, since, until)
    spam_certain, spam_suspect = verdict("antispam", "POSITIVE"), verdict("antispam", "SUSPECT")
    clean = s["Clean Messages (delivered)"]
    return {
        "blocked_reputation": s["Stopped by IP Reputation Filtering"],
        "blocked_sdr": s["Stopped by Domain Reputation Filtering"],
        "detected_spam": s["Spam Detected"], "detected_spam_certain": spam_certain,
        "detected_spam_suspect": spam_suspect, "detected_virus": s["Virus Detected"],
        "detected_amp": s["Detected by Advanced Malware Protection"], "malicious_url": s["Messages with Malicious URLs"],
        "threat_content_filter": s["Stopped by Content Filter"], "total_clean_recipients": clean,
        "total_recipients": o["Total Attempted Messages"],
        "total_threat_recipients": o["Total Attempted Messages"] - clean,
    }


def _outgoing_summary(conn, since, until) -> dict:
    actions = ts._actions(conn, since, until, "outgoing")
    verdict = ts.Verdicts(conn, since, until, "outgoing")
    dlp = ts._dlp_messages(conn, since, until, "outgoing")
    return {
        "total_recipients_processed": sum(actions.values()), "total_clean_recipients": actions.get("DELIVERED", 0),
        "detected_spam": verdict("antispam", "POSITIVE", "SUSPECT"),
        "detected_virus": verdict("antivirus", "POSITIVE"), "threat_content_filter": verdict("content_filters", "MATCH"),
        "total_dlp_incidents": dlp, "total_hard_bounces": actions.get("BOUNCED", 0),
        "total_recipients_delivered": actions.get("DELIVERED", 0),
    }


def _policy(direction: str):
    def compute(conn, since, until) -> dict:
        rows = ts.mail_policy_details(conn, since, until).get(direction, {})
        return {name: {"total_recipients": r["Messages"], "total_delivered": r["Delivered"],
                       "total_quarantined": r["Quarantined"], "total_dropped_or_bounced": r["Dropped or Bounced"]}
                for name, r in rows.items()}
    return compute


_DETAIL_COLUMNS = {"Stopped by IP Reputation Filtering": "blocked_reputation",
                   "Stopped by Domain Reputation Filtering": "blocked_sdr", "Clean": "total_clean_recipients",
                   "Other Verdicts": "total_threat_recipients", "Total Attempted": "total_recipients"}


def _incoming_detail(table: str):
    def compute(conn, since, until) -> dict:
        rows = ts.incoming_details(conn, since, until, limit=10**9)[table]
        return {key: {_DETAIL_COLUMNS[c]: n for c, n in row.items()} for key, row in rows.items()}
    return compute


def _sender_groups(conn, since, until) -> dict:
    out: dict[str, dict] = {}
    for key, n in counts(conn, "sender_groups", since, until).items():
        group, _, action = key.rpartition(SEP)
        row = out.setdefault(group, {"total_recipients": 0, "total_clean_recipients": 0})
        row["total_recipients"] += n
        if action == "DELIVERED":
            row["total_clean_recipients"] += n
    return out


def _dlp_policies(conn, since, until) -> dict:
    out: dict[str, dict] = {}
    for key, n in counts(conn, "dlp_incidents", since, until).items():
        policy, _, severity = key.rpartition(SEP)
        row = out.setdefault(policy, {"DLP_INCIDENT_TOTAL": 0, "DLP_INCIDENT_CRITICAL": 0, "DLP_INCIDENT_HIGH": 0,
                                      "DLP_INCIDENT_MEDIUM": 0, "DLP_INCIDENT_LOW": 0})
        row["DLP_INCIDENT_TOTAL"] += n
        if f"DLP_INCIDENT_{severity.upper()}" in row:
            row[f"DLP_INCIDENT_{severity.upper()}"] += n
    return out


def _amp_summary(conn, since, until) -> dict:
    counted = counts(conn, "amp", since, until)
    return {"malicious": counted.get("malicious", 0), "clean": counted.get("clean", 0),
            "unknown": counted.get("unknown", 0) + counted.get("unscannable", 0),
            "total": sum(counted.values())}


def _content_filters(direction: str):
    def compute(conn, since, until) -> dict:
        out: dict[str, dict] = {}
        for detail, n in split(counts(conn, "content_filters", since, until), direction).items():
            name = detail.split(":")[0].strip() or "unnamed"
            row = out.setdefault(name, {"recipients_matched": 0})
            row["recipients_matched"] += n
        return out
    return compute


def _system_capacity(conn, since, until) -> dict:
    incoming, outgoing = (sum(ts._actions(conn, since, until, d).values()) for d in ("incoming", "outgoing"))
    return {"incoming_messages": incoming, "outgoing_messages": outgoing, "total_messages": incoming + outgoing,
            "average_messages_per_hour": round((incoming + outgoing) / max(1.0, (until - since) / HOUR), 2)}


def _clicked_urls(conn, since, until) -> dict:
    out: dict[str, dict] = {}
    for url, n in conn.execute(
            "SELECT json_extract(c.value, '$.url'), count(*) FROM tracking_records r, json_each(r.record, '$.clicks') c "
            "WHERE r.received BETWEEN ? AND ? GROUP BY 1", (since, until)):
        out[url] = {"clicked_urls": n}
    return out


def _remediation(conn, since, until) -> dict:
    try:
        rows = conn.execute("SELECT status, count(*) FROM remediation_jobs WHERE created BETWEEN ? AND ? GROUP BY 1",
                            (since, until)).fetchall()
    except sqlite3.OperationalError:  # no remediation has run on this appliance yet
        rows = []
    counts = dict(rows)
    return {"total_remediation_jobs": sum(counts.values()), **{f"{str(k).lower()}_jobs": v for k, v in counts.items()}}


REPORTS: dict[str, Report] = {r.name: r for r in (
    Report("mail_incoming_traffic_summary", None, _incoming_summary),
    Report("mail_outgoing_traffic_summary", None, _outgoing_summary),
    Report("mail_incoming_domain_detail", "domain", _incoming_detail("Sender Domains")),
    Report("mail_incoming_ip_hostname_detail", "ip", _incoming_detail("Sender IP Addresses")),
    Report("mail_policy_incoming", "policy", _policy("incoming")),
    Report("mail_policy_outgoing", "policy", _policy("outgoing")),
    Report("mail_sender_group_detail", "sender_group", _sender_groups),
    Report("mail_dlp_outgoing_policy_detail", "dlp_policy", _dlp_policies),
    Report("mail_amp_threat_summary", None, _amp_summary),
    Report("mail_content_filter_incoming", "content_filter", _content_filters("incoming")),
    Report("mail_content_filter_outgoing", "content_filter", _content_filters("outgoing")),
    Report("mail_system_capacity", None, _system_capacity),
    Report("mail_incoming_web_interaction_track_urls", "url", _clicked_urls, cluster_wide=False),
    Report("mail_mor_summary", None, _remediation, cluster_wide=False),
    Report("mail_dmarc_incoming_traffic_summary", None, lambda conn, since, until: {
        f"total_dmarc_{k.lower().replace(' ', '_')}": v for k, v in ts.dmarc_summary(conn, since, until).items()}),
)}


def run(conn: sqlite3.Connection, name: str, since: float, until: float) -> dict:
    return REPORTS[name].compute(conn, since, until)


def everywhere(member, fn: Callable) -> Callable:
    """``fn(conn, name, since, until)`` over every machine of the cluster ``member`` belongs to (whole hours,
    shipped every few seconds by each machine; services/cluster_reports), for the reports that can be."""
    from .cluster_reports import ClusterReports

    def run_in_cluster(conn, name: str, since: float, until: float):
        if member is None or not REPORTS[name].cluster_wide:
            return fn(conn, name, since, until)
        with member.connect() as pg:
            return fn(ClusterReports(pg).source(), name, since, until)

    return run_in_cluster


def hourly(conn: sqlite3.Connection, name: str, since: float, until: float) -> list[tuple[float, dict]]:
    """(hour start, the summary for that hour) for each whole hour of the range."""
    out = []
    start = since
    while start < until:
        out.append((start, REPORTS[name].compute(conn, start, min(start + HOUR, until) - 1e-6)))
        start += HOUR
    return out
