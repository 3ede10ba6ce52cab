"""DMARC aggregate reports (RFC 7489 7.2): the data kept per day, and the daily XML report sent to each rua.

Every DMARC check counts one row (day, policy domain, source address, disposition, aligned DKIM and SPF, the
raw results); rows are added up in memory and written once a minute. After midnight (UTC) the previous day's
report for each domain that asked for one (a mailto: rua) is built in the RFC's XML format (Appendix C),
gzipped and mailed, once: the days sent are remembered in the database.
"""

from __future__ import annotations

import datetime
import functools
import gzip
import secrets
import sqlite3
import time
from collections import defaultdict
from email.utils import format_datetime, make_msgid
from xml.sax.saxutils import escape

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dmarc_rows (
    day TEXT NOT NULL, domain TEXT NOT NULL, source_ip TEXT NOT NULL, disposition TEXT NOT NULL,
    dkim TEXT NOT NULL, spf TEXT NOT NULL, dkim_domain TEXT NOT NULL, dkim_result TEXT NOT NULL,
    spf_domain TEXT NOT NULL, spf_result TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (day, domain, source_ip, disposition, dkim, spf, dkim_domain, dkim_result, spf_domain, spf_result)
);
CREATE TABLE IF NOT EXISTS dmarc_policies (
    day TEXT NOT NULL, domain TEXT NOT NULL, adkim TEXT, aspf TEXT, p TEXT, sp TEXT, pct INTEGER, rua TEXT,
    PRIMARY KEY (day, domain)
);
CREATE TABLE IF NOT EXISTS dmarc_reports_sent (day TEXT NOT NULL, domain TEXT NOT NULL, PRIMARY KEY (day, domain));
"""


def day_of(at: float) -> str:
    return _day_of(int(at // 86400))


@functools.lru_cache(maxsize=8)
def _day_of(days: int) -> str:
    """Every message of a day asks for the same UTC date: formatted once."""
    return datetime.datetime.fromtimestamp(days * 86400, datetime.timezone.utc).strftime("%Y-%m-%d")


class DmarcData:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        conn.executescript(_SCHEMA)
        self._counts: dict[tuple, int] = defaultdict(int)
        self._policies: dict[tuple, tuple] = {}

    def record(self, at: float, domain: str, source_ip: str, disposition: str, dkim_aligned: bool,
               spf_aligned: bool, dkim: tuple[str, str], spf: tuple[str, str], policy: tuple) -> None:
        """One message's DMARC check (``policy``: adkim, aspf, p, sp, pct, rua as published)."""
        day = day_of(at)
        key = (day, domain.lower(), source_ip, disposition, "pass" if dkim_aligned else "fail",
               "pass" if spf_aligned else "fail", dkim[0], dkim[1], spf[0], spf[1])
        self._counts[key] += 1
        self._policies[(day, domain.lower())] = policy

    def flush(self) -> None:
        if not self._counts and not self._policies:
            return
        counts, policies = self._counts, self._policies
        self._counts, self._policies = defaultdict(int), {}
        with self.conn:
            self.conn.executemany(
                "INSERT INTO dmarc_rows VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO UPDATE SET "
                "count = count + excluded.count", [(*k, n) for k, n in counts.items()])
            self.conn.executemany("INSERT OR REPLACE INTO dmarc_policies VALUES (?,?,?,?,?,?,?,?)",
                                  [(*k, *p[:5], " ".join(p[5])) for k, p in policies.items()])

    def due(self, day: str) -> list[str]:
        """The domains with data and a mailto: rua for ``day`` whose report was not sent yet."""
        self.flush()
        rows = self.conn.execute(
            "SELECT domain, rua FROM dmarc_policies WHERE day = ? AND domain NOT IN "
            "(SELECT domain FROM dmarc_reports_sent WHERE day = ?)", (day, day)).fetchall()
        return [d for d, rua in rows if any(u.lower().startswith("mailto:") for u in rua.split())]

    def report(self, day: str, domain: str, org_name: str, contact: str) -> tuple[str, list[str], bytes, str]:
        """(report id, mailto addresses, XML, attachment name) of ``domain``'s report for ``day``."""
        adkim, aspf, p, sp, pct, rua = self.conn.execute(
            "SELECT adkim, aspf, p, sp, pct, rua FROM dmarc_policies WHERE day = ? AND domain = ?",
            (day, domain)).fetchone()
        rows = self.conn.execute(
            "SELECT source_ip, disposition, dkim, spf, dkim_domain, dkim_result, spf_domain, spf_result, count "
            "FROM dmarc_rows WHERE day = ? AND domain = ? ORDER BY source_ip", (day, domain)).fetchall()
        begin = int(datetime.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc).timestamp())
        end = begin + 86399
        report_id = f"{day.replace('-', '')}.{secrets.token_hex(6)}@{org_name}"
        records = "".join(_record(domain, *r) for r in rows)
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<feedback>\n  <report_metadata>\n'
               f"    <org_name>{escape(org_name)}</org_name>\n    <email>{escape(contact)}</email>\n"
               f"    <report_id>{escape(report_id)}</report_id>\n"
               f"    <date_range><begin>{begin}</begin><end>{end}</end></date_range>\n  </report_metadata>\n"
               f"  <policy_published>\n    <domain>{escape(domain)}</domain>\n    <adkim>{adkim}</adkim>\n"
               f"    <aspf>{aspf}</aspf>\n    <p>{p}</p>\n    <sp>{sp}</sp>\n    <pct>{pct}</pct>\n"
               f"  </policy_published>\n{records}</feedback>\n")
        to = [u[len("mailto:"):].split("!", 1)[0] for u in rua.split() if u.lower().startswith("mailto:")]
        return report_id, to, xml.encode(), f"{org_name}!{domain}!{begin}!{end}.xml.gz"

    def sent(self, day: str, domain: str) -> None:
        with self.conn:
            self.conn.execute("INSERT OR IGNORE INTO dmarc_reports_sent VALUES (?, ?)", (day, domain))


def _record(domain, source_ip, disposition, dkim, spf, dkim_domain, dkim_result, spf_domain, spf_result,
            count) -> str:
    auth = ""
    if dkim_domain:
        auth += f"      <dkim><domain>{escape(dkim_domain)}</domain><result>{dkim_result}</result></dkim>\n"
    auth += f"      <spf><domain>{escape(spf_domain)}</domain><result>{spf_result}</result></spf>\n"
    return ("  <record>\n    <row>\n"
            f"      <source_ip>{escape(source_ip)}</source_ip>\n      <count>{count}</count>\n"
            f"      <policy_evaluated><disposition>{disposition}</disposition><dkim>{dkim}</dkim>"
            f"<spf>{spf}</spf></policy_evaluated>\n    </row>\n"
            f"    <identifiers><header_from>{escape(domain)}</header_from></identifiers>\n"
            f"    <auth_results>\n{auth}    </auth_results>\n  </record>\n")


def message(report_id: str, to: list[str], xml: bytes, filename: str, domain: str, org_name: str,
            contact: str) -> bytes:
    """The report mail (RFC 7489 7.2.1.1): a short text and the gzipped XML."""
    boundary = f"=_dmarc_{secrets.token_hex(10)}"
    attachment = gzip.compress(xml)
    import base64

    encoded = base64.encodebytes(attachment).decode().replace("\n", "\r\n")
    lines = [f"From: {contact}", f"To: {', '.join(to)}",
             f"Subject: Report Domain: {domain} Submitter: {org_name} Report-ID: <{report_id}>",
             f"Date: {format_datetime(datetime.datetime.now(datetime.timezone.utc))}",
             f"Message-ID: {make_msgid(domain=org_name)}", "MIME-Version: 1.0",
             f'Content-Type: multipart/mixed; boundary="{boundary}"', "", f"--{boundary}",
             "Content-Type: text/plain; charset=utf-8", "",
             f"This is a DMARC aggregate report for {domain} from {org_name}.", "", f"--{boundary}",
             f'Content-Type: application/gzip; name="{filename}"',
             f'Content-Disposition: attachment; filename="{filename}"', "Content-Transfer-Encoding: base64", "",
             encoded.rstrip("\r\n"), f"--{boundary}--", ""]
    return "\r\n".join(lines).encode()


def yesterday(now: float | None = None) -> str:
    return day_of((now or time.time()) - 86400)
