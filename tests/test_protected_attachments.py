"""Password-protected attachments made by real tools: opened with the configured passphrases, or acted on."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest
from corpus import (
    OFFICE,
    OFFICE_PASSPHRASE,
    info_zip,
    mail,
    many_spins_docx,
    msoffcrypto_docx,
    pdf_with_link,
    qpdf_encrypted,
    seven_zip_aes,
)

SECRET_TEXT = "Quarterly figures: confidential lorem"


def _fixtures(tmp_path) -> dict[str, tuple[bytes, str, str]]:
    """name -> (bytes, passphrase, a word the decrypted content holds)."""
    pdf = pdf_with_link(SECRET_TEXT, "http://docs.example.net/q3")
    inner = {"figures.txt": (SECRET_TEXT + "\n").encode()}
    out = {
        "zipcrypto.zip": (info_zip(inner, "Zip-Pass-1", tmp_path), "Zip-Pass-1", "confidential"),
        "aes256.zip": (seven_zip_aes(inner, "Zip-Pass-2", tmp_path), "Zip-Pass-2", "confidential"),
        "aes256.pdf": (qpdf_encrypted(pdf, "Pdf-Pass-1", "aes256", tmp_path), "Pdf-Pass-1", "confidential"),
        "aes128.pdf": (qpdf_encrypted(pdf, "Pdf-Pass-2", "aes128", tmp_path), "Pdf-Pass-2", "confidential"),
        "rc4.pdf": (qpdf_encrypted(pdf, "Pdf-Pass-3", "rc4", tmp_path), "Pdf-Pass-3", "confidential"),
        "msoffcrypto.docx": (msoffcrypto_docx(SECRET_TEXT, "Tool-Pass-4"), "Tool-Pass-4", "confidential"),
    }
    for name in ("example_password.docx", "example_password.xlsx", "ecma376standard_password.docx",
                 "rc4cryptoapi_password.doc", "rc4cryptoapi_password.xls", "rc4cryptoapi_password.ppt"):
        out[name] = ((OFFICE / name).read_bytes(), OFFICE_PASSPHRASE, "(?i)lorem")
    out["xor_password_123456789012345.xls"] = ((OFFICE / "xor_password_123456789012345.xls").read_bytes(),
                                               "123456789012345", "Microsoft Office User")
    return out


def _trace(cli, path, *extra) -> dict:
    r = cli("-c", f"trace {path} --format=json {' '.join(extra)}")
    return json.loads(r.stdout.strip())["policies"][0]


def test_real_tool_fixtures_open_with_the_right_passphrase_and_filters_see_inside(cli, tmp_path):
    fixtures = _fixtures(tmp_path)
    # A wrong passphrase first: the right one (priority 1 and up) must still be reached.
    lines = ["protectedattachmentconfig setup --inbound=yes --budget=5",
             "protectedattachmentconfig new --priority=0 --passphrase=not-this-one"]
    passphrases = sorted({p for _, p, _ in fixtures.values()})
    lines += [f"protectedattachmentconfig new --priority={i + 1} --passphrase={p}" for i, p in enumerate(passphrases)]
    script = tmp_path / "f.txt"
    script.write_text("\n".join(
        f'seen{i}: if (attachment-contains("{word}")) {{ log-entry("found {name}"); }}'
        for i, (name, (_, _, word)) in enumerate(fixtures.items())) + "\n.\n")
    lines.append(f"filters import {script}")
    r = cli("-c", "; ".join(lines) + "; commit protected")
    assert r.returncode == 0, r.stderr
    for name, (data, passphrase, _) in fixtures.items():
        path = tmp_path / f"{name}.eml"
        path.write_bytes(mail((name, data, "application/octet-stream")))
        pol = _trace(cli, path)
        top = pol["findings"]["attachments"][0]
        assert top["protected"], name
        opened = [a for a in pol["findings"]["attachments"] if a["unlocked_by"]]
        assert opened and opened[0]["unlocked_by"] == f"priority {passphrases.index(passphrase) + 1}", (name, opened)
        assert f"found {name}" in pol["findings"]["filters"]["log_entries"], (name, pol["findings"]["filters"])
        assert not any(a["unscannable"] for a in pol["findings"]["attachments"]), name
        text = cli("-c", f"trace {path}").stdout
        assert passphrase not in text.replace(name, "") and "opened with the passphrase of priority" in text


def test_without_the_right_passphrase_the_attachment_is_protected_and_the_action_applies(cli, tmp_path):
    fixtures = _fixtures(tmp_path)
    script = tmp_path / "f.txt"
    script.write_text('prot: if (attachment-protected) { log-entry("protected $filenames"); }\n'
                      'open: if (attachment-unprotected) { log-entry("unprotected $filenames"); }\n.\n')
    r = cli("-c", f"filters import {script}; scanconfig setup --unscannable-action=quarantine; commit f")
    assert r.returncode == 0, r.stderr
    # Scanning of protected attachments off: marked protected, nothing tried, nothing unscannable.
    for name, (data, _, _) in fixtures.items():
        path = tmp_path / f"{name}.eml"
        path.write_bytes(mail((name, data, "application/octet-stream")))
        pol = _trace(cli, path)
        assert pol["findings"]["attachments"][0]["protected"], name
        assert pol["findings"]["filters"]["log_entries"] == [f"protected {name}"], name
        assert pol["action"] == "deliver", name
    # On, with only wrong passphrases: unscannable, and the unscannable action (quarantine) applies.
    cli("-c", "protectedattachmentconfig setup --inbound=yes; "
              "protectedattachmentconfig new --priority=0 --passphrase=wrong-1; commit wrong")
    for name in fixtures:
        pol = _trace(cli, tmp_path / f"{name}.eml")
        reasons = [a["unscannable"] for a in pol["findings"]["attachments"] if a["unscannable"]]
        assert reasons and "no passphrase opened it" in reasons[0], (name, pol["findings"]["attachments"])
        assert pol["action"] == "quarantine" and pol["quarantine"] == "Unscannable" and pol["final_by"] == "unscannable"
    # Outbound mail is not opened while only inbound scanning is on.
    pol = _trace(cli, tmp_path / "aes256.zip.eml", "--direction=outgoing")
    assert not any(a["unlocked_by"] for a in pol["findings"]["attachments"])


def test_passphrases_from_the_message_text_are_tried_only_when_asked(cli, tmp_path):
    data = info_zip({"figures.txt": b"hello"}, "Lettre-7", tmp_path)
    path = tmp_path / "m.eml"
    path.write_bytes(mail(("figures.zip", data, "application/zip"),
                          body="Bonjour,\nle mot de passe : Lettre-7\nCordialement\n"))
    cli("-c", "protectedattachmentconfig setup --inbound=yes; commit on")
    pol = _trace(cli, path)
    assert not any(a["unlocked_by"] for a in pol["findings"]["attachments"])
    cli("-c", "protectedattachmentconfig setup --harvest=yes; commit harvest")
    pol = _trace(cli, path)
    assert [a["unlocked_by"] for a in pol["findings"]["attachments"] if a["unlocked_by"]] == ["message text 0"]


@pytest.mark.parametrize("body, expected", [
    ("Password: Xy-12345", "Xy-12345"),
    ("The password is Xy-12345.", "Xy-12345"),
    ("Passwort: Geheim-99", "Geheim-99"),
    ("contraseña: Clave-77", "Clave-77"),
    ("A senha é Senha-55", "Senha-55"),
    ("la password è Parola-33", "Parola-33"),
    ("mot de passe : Lettre-7", "Lettre-7"),
])
def test_harvesting_reads_the_usual_phrasings(body, expected):
    from scanning.extract.text import harvest_passphrases

    assert harvest_passphrases(body)[0] == expected


def test_passphrase_commands_and_secrets_at_rest(cli, datadir):
    r = cli("-c", "protectedattachmentconfig new --priority=3 --passphrase=Alpha-Secret-1; "
                  "protectedattachmentconfig new --priority=1 --passphrase=Beta-Secret-2; commit two")
    assert r.returncode == 0, r.stderr
    out = cli("-c", "protectedattachmentconfig print").stdout
    assert "Priority:  Password:" in out and "Alpha-Secret-1" not in out
    assert "Scanning of password-protected attachments for inbound mails: disabled" in out
    revealed = cli("-c", "protectedattachmentconfig print --reveal").stdout
    assert revealed.index("Beta-Secret-2") < revealed.index("Alpha-Secret-1")
    cli("-c", "protectedattachmentconfig swap --priority=1 --with=3; commit swap")
    revealed = cli("-c", "protectedattachmentconfig print --reveal").stdout
    assert revealed.index("Alpha-Secret-1") < revealed.index("Beta-Secret-2")
    r = cli("-c", "protectedattachmentconfig new --priority=1 --passphrase=x", check=False)
    assert r.returncode != 0 and "already exists" in r.stderr
    r = cli("-c", "protectedattachmentconfig delete --priority=7", check=False)
    assert r.returncode != 0 and "no password with priority 7" in r.stderr
    cli("-c", "protectedattachmentconfig delete --priority=3; commit del")  # Beta's, since the swap
    assert "Beta" not in cli("-c", "protectedattachmentconfig print --reveal").stdout
    db = sqlite3.connect(datadir / "asyncos.db").execute("SELECT * FROM sqlite_master").fetchall()
    raw = (datadir / "asyncos.db").read_bytes()
    assert db and b"Beta-Secret-2" not in raw and b"Alpha-Secret-1" not in raw
    audit = (datadir / "logs" / "cli_logs" / "cli.current")
    if audit.exists():
        assert "Beta-Secret-2" not in audit.read_text()


def test_office_file_asking_for_ten_million_spins_is_refused_at_once(cli, tmp_path):
    path = tmp_path / "spins.eml"
    path.write_bytes(mail(("spins.docx", many_spins_docx(), "application/octet-stream")))
    cli("-c", "protectedattachmentconfig setup --inbound=yes; "
              f"protectedattachmentconfig new --priority=0 --passphrase={OFFICE_PASSPHRASE}; commit")
    pol = _trace(cli, path)
    a = pol["findings"]["attachments"][0]
    assert a["protected"] and "10000000 spins (limit 500000)" in a["unscannable"]


def test_wrong_passphrases_that_pass_zipcryptos_check_byte_do_not_stop_the_search(tmp_path):
    """ZipCrypto's 1-byte check lets about 1 wrong passphrase in 256 through to a CRC error (pyzipper's own
    BadZipFile class): the engine must go on to the next candidate, not give up on the attachment."""
    from scanning.extract.unlock import Unlocker
    from scanning.message import parse

    data = info_zip({"plain.txt": os.urandom(3000)}, "Right-One-9", tmp_path, store=True)
    candidates = [(f"priority {i}", f"wrong-{i}") for i in range(1500)] + [("priority 1500", "Right-One-9")]
    msg = parse(mail(("stored.zip", data, "application/zip")), unlocker=Unlocker(candidates, 30))
    member = msg.attachments[0].children[0]
    assert member.unlocked_by == "priority 1500" and member.unscannable is None


def test_urls_in_legacy_office_files_are_scanned(cli, tmp_path):
    """A .doc and a .xls made by LibreOffice: their URLs are extracted and checked like OOXML's and PDF's (#27)."""
    from pathlib import Path

    legacy = Path(__file__).parent / "fixtures" / "legacy"
    r = cli("-c", "urllistconfig add blocked evil.example.com; commit block")
    assert r.returncode == 0, r.stderr
    for name, url in (("invoice_with_url.doc", "http://login.evil.example.com/pay"),
                      ("sheet_with_url.xls", "http://login.evil.example.com/xls")):
        path = tmp_path / f"{name}.eml"
        path.write_bytes(mail((name, (legacy / name).read_bytes(), "application/octet-stream")))
        pol = _trace(cli, path)
        assert pol["findings"]["attachments"][0]["urls"] == [url], name
        assert {"url": url, "verdict": "blocked"}.items() <= pol["findings"]["urls"][0].items(), name
        assert pol["action"] == "quarantine" and pol["final_by"] == "url_scanning", name


def test_7zip_archives_are_opened_like_zip(cli, tmp_path):
    """Plain, AES-256 and header-encrypted .7z made by 7-Zip: members scanned, passphrases tried; unopened is
    protected, never clean; an archive past the expansion bound is unscannable (#27)."""
    from corpus import seven_zip

    inner = {"figures.txt": b"quarterly figures, see http://login.evil.example.com/7z\n"}
    r = cli("-c", "urllistconfig add blocked evil.example.com; commit block")
    assert r.returncode == 0, r.stderr
    archives = {"plain.7z": seven_zip(inner, tmp_path),
                "aes.7z": seven_zip(inner, tmp_path, "Seven-Pass-1"),
                "hidden.7z": seven_zip(inner, tmp_path, "Seven-Pass-1", encrypt_headers=True)}
    paths = {}
    for name, data in archives.items():
        paths[name] = tmp_path / f"{name}.eml"
        paths[name].write_bytes(mail((name, data, "application/octet-stream")))
    pol = _trace(cli, paths["plain.7z"])
    assert pol["findings"]["attachments"][1]["urls"] == ["http://login.evil.example.com/7z"]
    assert pol["action"] == "quarantine" and pol["final_by"] == "url_scanning"
    # Encrypted, no passphrase configured: protected, not clean (and its URL unseen).
    for name in ("aes.7z", "hidden.7z"):
        pol = _trace(cli, paths[name])
        assert pol["findings"]["attachments"][0]["protected"], name
        assert not any(a["urls"] for a in pol["findings"]["attachments"]), name
    r = cli("-c", "protectedattachmentconfig setup --inbound=yes; protectedattachmentconfig new --priority=0 "
                  "--passphrase=not-this; protectedattachmentconfig new --priority=1 --passphrase=Seven-Pass-1; "
                  "commit 7z passphrases")
    assert r.returncode == 0, r.stderr
    for name in ("aes.7z", "hidden.7z"):
        pol = _trace(cli, paths[name])
        opened = [a for a in pol["findings"]["attachments"] if a["unlocked_by"]]
        assert opened and opened[0]["unlocked_by"] == "priority 1" and opened[0]["urls"], (name, pol["findings"])
        assert pol["action"] == "quarantine", name
    # Wrong passphrases only: unscannable ("no passphrase opened it") under the unscannable action.
    cli("-c", "protectedattachmentconfig delete --priority=1; scanconfig setup --unscannable-action=quarantine; "
              "commit wrong only")
    pol = _trace(cli, paths["hidden.7z"])
    reasons = [a["unscannable"] for a in pol["findings"]["attachments"] if a["unscannable"]]
    assert reasons and "no passphrase opened it" in reasons[0] and pol["final_by"] == "unscannable"
    # A small archive that expands past the bound is unscannable.
    cli("-c", "scanconfig setup --max-expanded-size=1048576; commit small bound")
    bomb = tmp_path / "bomb.eml"
    bomb.write_bytes(mail(("zeros.7z", seven_zip({"zeros.bin": bytes(4 * 1024 * 1024)}, tmp_path),
                           "application/octet-stream")))
    pol = _trace(cli, bomb)
    reasons = [a["unscannable"] for a in pol["findings"]["attachments"] if a["unscannable"]]
    assert reasons and "expands" in reasons[0], pol["findings"]["attachments"]


def test_gzip_is_opened_and_rar_is_never_passed_as_clean(cli, tmp_path):
    import gzip

    r = cli("-c", "urllistconfig add blocked evil.example.com; scanconfig setup --unscannable-action=quarantine; "
                  "commit gzip and rar")
    assert r.returncode == 0, r.stderr
    gz = tmp_path / "gz.eml"
    gz.write_bytes(mail(("report.txt.gz", gzip.compress(b"see http://login.evil.example.com/gz\n"),
                         "application/gzip")))
    pol = _trace(cli, gz)
    assert pol["findings"]["attachments"][1]["urls"] == ["http://login.evil.example.com/gz"]
    assert pol["final_by"] == "url_scanning"
    # A RAR archive (RAR 5 signature, built byte by byte: Debian's main archive has no rar to make one) is
    # unscannable under the administrator's action, never delivered as clean.
    rar = tmp_path / "rar.eml"
    rar.write_bytes(mail(("invoice.rar", b"Rar!\x1a\x07\x01\x00" + bytes(64), "application/octet-stream")))
    pol = _trace(cli, rar)
    assert "RAR archive: not supported yet" in pol["findings"]["attachments"][0]["unscannable"]
    assert pol["action"] == "quarantine" and pol["final_by"] == "unscannable"
    # A gzip bomb stops at the expansion bound.
    cli("-c", "scanconfig setup --max-expanded-size=1048576; commit small bound")
    bomb = tmp_path / "bomb.eml"
    bomb.write_bytes(mail(("zeros.gz", gzip.compress(bytes(8 * 1024 * 1024)), "application/gzip")))
    assert "expands past" in _trace(cli, bomb)["findings"]["attachments"][0]["unscannable"]


def test_the_expansion_bound_is_the_messages_not_each_archives(cli, tmp_path):
    """42.zip's trick: many nested archives each just inside the bound. The bound counts the whole message (#27)."""
    import io
    import zipfile

    def zipped(members: dict[str, bytes]) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in members.items():
                z.writestr(name, data)
        return buf.getvalue()

    level1 = zipped({f"part{i}.bin": bytes(1024 * 1024) for i in range(8)})  # 8 MB: exactly the bound set below
    level2 = zipped({f"inner{i}.zip": level1 for i in range(8)})  # 64 MB in all, each inner archive at the bound
    r = cli("-c", "scanconfig setup --max-expanded-size=8388608 --max-ratio=2000 --unscannable-action=quarantine; "
                  "commit per message")
    assert r.returncode == 0, r.stderr
    path = tmp_path / "bomb.eml"
    path.write_bytes(mail(("layers.zip", level2, "application/zip")))
    pol = _trace(cli, path)
    reasons = [a["unscannable"] for a in pol["findings"]["attachments"] if a["unscannable"]]
    assert reasons and "the message's attachments expand past 8388608 bytes" in reasons[0], pol["findings"]
    opened = [a for a in pol["findings"]["attachments"] if a["name"].startswith("part")]
    assert len(opened) <= 8  # at most one inner archive's worth was expanded
    assert pol["action"] == "quarantine" and pol["final_by"] == "unscannable"


def test_decoys_cannot_starve_the_attachment_that_holds_the_payload(cli, tmp_path):
    """36 agile-encrypted Office decoys with unknown passphrases before one AES zip holding a blocked URL: trials
    go cheapest format first, each attachment with its share of the budget, so the zip is opened (#27)."""
    zip_bytes = seven_zip_aes({"note.txt": b"pay at http://login.evil.example.com/fair\n"}, "Zip-Fair-9", tmp_path)
    decoy = msoffcrypto_docx("nothing to see", "Decoy-Pass-Unknown")
    path = tmp_path / "fair.eml"
    path.write_bytes(mail(*[(f"decoy{i}.docx", decoy, "application/octet-stream") for i in range(36)],
                          ("payload.zip", zip_bytes, "application/zip")))
    r = cli("-c", "urllistconfig add blocked evil.example.com; protectedattachmentconfig setup --inbound=yes "
                  "--budget=1; protectedattachmentconfig new --priority=0 --passphrase=wrong-one; "
                  "protectedattachmentconfig new --priority=1 --passphrase=Zip-Fair-9; commit fair shares")
    assert r.returncode == 0, r.stderr
    assert "per attachment at most: 1 seconds" in cli("-c", "protectedattachmentconfig print").stdout
    pol = _trace(cli, path)
    attachments = pol["findings"]["attachments"]
    opened = [a for a in attachments if a["unlocked_by"]]
    assert opened and opened[0]["unlocked_by"] == "priority 1" and opened[0]["urls"], attachments[-3:]
    assert pol["final_by"] == "url_scanning"  # the URL was found, not hidden behind the decoys
    spent = [a["unscannable"] for a in attachments if a["name"].startswith("decoy") and a["unscannable"]]
    # Each decoy stopped on a budget: its share, the message's, or (on a busy machine) the scan's own time.
    budgets = ("protected: passphrase budget spent: ", "protected: no passphrase opened it", "scanning time of ")
    assert spent and all(r.startswith(budgets) for r in spent), [r for r in spent if not r.startswith(budgets)]
