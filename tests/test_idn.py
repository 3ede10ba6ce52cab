"""Internationalized addresses through the relay: SMTPUTF8 hops keep them, others get A-labels."""

from __future__ import annotations

import smtplib
import time

import idna
import pytest
from aiosmtpd.controller import Controller
from conftest import DaemonProcess, free_port, listener_port, run_cli, wait_for

from asyncos_cli.config.addresses import (
    AddressError,
    ascii_domain,
    downgrade,
    routing_problem,
)

# The 14.0 release list's languages (domains from the libraries' hands-on check).
DOMAINS = {
    "hindi": "उदाहरण.भारत",
    "tamil": "எடுத்துக்காட்டு.இந்தியா",
    "thai": "ตัวอย่าง.ไทย",
    "arabic": "مثال.مصر",
    "russian": "пример.рф",
    "japanese": "例え.テスト",
    "korean": "실례.한국",
    "chinese": "例子.中国",
    "chinese-traditional": "例子.台灣",
    "greek": "παράδειγμα.ελ",
    "german": "bücher.de",
}


class Recorder:
    def __init__(self):
        self.seen = []

    async def handle_DATA(self, server, session, envelope):
        self.seen.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.smtp_utf8))
        return "250 2.0.0 Ok: recorded"


@pytest.fixture
def sinks():
    utf8, ascii_only = Recorder(), Recorder()
    a = Controller(utf8, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=True)
    b = Controller(ascii_only, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=False)
    a.start()
    b.start()
    yield (a, utf8), (b, ascii_only)
    a.stop()
    b.stop()


def test_a_labels_match_the_idna_package():
    for name in DOMAINS.values():
        assert ascii_domain(name) == idna.encode(name, uts46=True).decode()
    assert ascii_domain("bücher.de") == "xn--bcher-kva.de"  # IDNA 2008, not the 2003 codec
    assert ascii_domain("faß.de") == "xn--fa-hia.de"
    assert downgrade("user@пример.рф") == "user@xn--e1afmkfd.xn--p1ai"
    with pytest.raises(AddressError, match="non-ASCII local part"):
        downgrade("пользователь@пример.рф")
    assert routing_problem("user@пример.рф") is None


@pytest.mark.parametrize("language", sorted(DOMAINS))
def test_each_language_through_both_kinds_of_hop(datadir, sinks, language):
    (utf8_ctl, utf8), (plain_ctl, plain) = sinks
    domain = DOMAINS[language]
    utf8_domain = f"u.{domain}"
    r = run_cli(datadir, "-c",
                f"listenerconfig edit IncomingMail rcptaccess add {domain}; "
                f"listenerconfig edit IncomingMail rcptaccess add {utf8_domain}; "
                f"smtproutes new {utf8_domain} 127.0.0.1:{utf8_ctl.port}; "
                f"smtproutes new {domain} 127.0.0.1:{plain_ctl.port}; "
                f"smtproutes new example.org 127.0.0.1:{utf8_ctl.port}; commit idn")
    assert r.returncode == 0, r.stderr
    d = DaemonProcess(datadir)
    try:
        port = listener_port(datadir, "IncomingMail")
        local = {"russian": "пользователь", "chinese": "用户", "hindi": "उपयोगकर्ता"}.get(language, "χρήστης")
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
            s.ehlo()
            s.sendmail("sender@example.org", [f"{local}@{utf8_domain}", f"ascii@{domain}", f"{local}@{domain}"],
                       f"Subject: {language}\r\n\r\nbody\r\n".encode(), mail_options=["SMTPUTF8"])
        # The SMTPUTF8 hop got the address as written; the other got the A-label form.
        assert wait_for(lambda: any(f"{local}@{utf8_domain}" in rc for _, rc, _ in utf8.seen), 15), utf8.seen
        assert wait_for(lambda: any(rc == [f"ascii@{ascii_domain(domain)}"] for _, rc, _ in plain.seen), 15)
        # The non-ASCII local part could not go to the plain hop: a DSN went back to the sender.
        assert wait_for(lambda: any(rc == ["sender@example.org"] and frm in ("", "<>") for frm, rc, _ in utf8.seen), 15), utf8.seen
        log = (datadir / "logs" / "mail_logs" / "mail.current").read_text()
        assert "non-ASCII local part and the next hop does not offer SMTPUTF8" in log
    finally:
        d.stop()
    time.sleep(0.1)
