"""The scanning engine's message model: attachments, sniffed types, hashes, bounded archives."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

from conftest import require_peer
from corpus import mail, nested_zip, overlapping_bomb, plain_zip

from scanning.extract.sniff import sniff
from scanning.extract.zipfiles import Limits
from scanning.message import ParsedMessage, parse


def test_attachments_with_names_types_sizes_and_hashes():
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    exe = b"MZ" + b"\x00" * 100
    raw = mail(("report.pdf", pdf, "application/pdf"), ("invoice.txt", exe, "text/plain"),
                ("a.zip", plain_zip({"inner/readme.txt": b"hello", "deep.zip": plain_zip({"x.pdf": pdf})}), "application/zip"))
    msg = parse(raw)
    assert msg.malformed is None and msg.subject == "files" and "See the attachments." in msg.body_text
    names = [(a.filename, a.detected_type, a.size) for a in msg.all_attachments()]
    assert ("report.pdf", "pdf", len(pdf)) in names
    assert ("invoice.txt", "exe", len(exe)) in names  # the name and declared type lie; the bytes do not
    assert ("inner/readme.txt", "text", 5) in names and ("x.pdf", "pdf", len(pdf)) in names
    first = msg.attachments[0]
    assert first.sha256 == hashlib.sha256(pdf).hexdigest() and first.declared_type == "application/pdf"
    nested = next(a for a in msg.all_attachments() if a.filename == "x.pdf")
    assert nested.path == ("a.zip", "deep.zip")


def test_office_open_xml_is_told_from_a_plainplain_zip():
    docx = plain_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
    assert sniff(docx) == "docx" and sniff(plain_zip({"a.txt": b"x"})) == "zip"


def test_zipcrypto_archive_made_by_info_zip_is_marked_protected(tmp_path):
    require_peer("zip")
    (tmp_path / "secret.txt").write_text("the content\n")
    subprocess.run(["zip", "-q", "-P", "Sesame-42", "locked.zip", "secret.txt"], cwd=tmp_path, check=True)
    msg = parse(mail(("locked.zip", (tmp_path / "locked.zip").read_bytes(), "application/zip")))
    z = msg.attachments[0]
    assert z.protected and z.unscannable is None
    assert [(c.filename, c.protected) for c in z.children] == [("secret.txt", True)]


def test_malformed_mime_is_a_verdict_not_a_crash():
    raw = (b"From: a@example.org\r\nSubject: broken\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
           b"--XYZ\r\nContent-Type: text/plain\r\n\r\nno closing boundary\r\n")
    msg = parse(raw)
    assert msg.malformed and "Boundary" in msg.malformed
    for junk in (b"\xff\xfe\x00garbage without headers", b"", b"Content-Type: multipart/mixed\r\n\r\n--"):
        assert isinstance(parse(junk), ParsedMessage)  # whatever the bytes, a parsed view comes back


def test_hostile_archives_become_unscannable_with_the_reason():
    cases = {
        "overlap.zip": (overlapping_bomb(), "overlapping"),
        "ratio.zip": (plain_zip({"zeros.bin": b"\x00" * 5_000_000}), "expands"),
        "deep.zip": (nested_zip(9, b"%PDF-1.4\n%%EOF\n"), "nesting deeper than 5"),
        "many.zip": (plain_zip({f"f{i}.txt": b"x" for i in range(1200)}), "1200 members"),
        "truncated.zip": (plain_zip({"a.txt": b"hello" * 1000})[:-40], "damaged archive"),
    }
    msg = parse(mail(*[(n, data, "application/zip") for n, (data, _) in cases.items()]), Limits())
    reasons = {a.filename: a.unscannable for a in msg.all_attachments() if a.unscannable}
    for name, (_, expected) in cases.items():
        found = [r for n, r in reasons.items() if n == name or n.startswith("level")]
        assert any(expected in (r or "") for r in found), (name, reasons)


def test_seven_zip_aes_archive_is_protected(tmp_path):
    if shutil.which("7z") is None:
        require_peer("7z")
    (tmp_path / "doc.txt").write_text("inside\n")
    subprocess.run(["7z", "a", "-tzip", "-mem=AES256", "-pSesame-42", "aes.zip", "doc.txt"], cwd=tmp_path,
                   check=True, capture_output=True)
    z = parse(mail(("aes.zip", (tmp_path / "aes.zip").read_bytes(), "application/zip"))).attachments[0]
    assert z.protected and z.children[0].protected
