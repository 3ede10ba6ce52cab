"""Test inputs made by real tools: Info-ZIP, 7-Zip, qpdf, pikepdf; Office-made files in tests/fixtures/office."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import zipfile
from email.message import EmailMessage
from pathlib import Path

from conftest import require_peer

OFFICE = Path(__file__).parent / "fixtures" / "office"
OFFICE_PASSPHRASE = "Password1234_"


def mail(*attachments: tuple[str, bytes, str], body: str = "See the attachments.\n", subject: str = "files",
         message_id: str = "<m1@x>") -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = "a@example.org", "b@example.com", subject, message_id
    m.set_content(body)
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def pdf_with_link(text: str, uri: str) -> bytes:
    """A one-page PDF with a line of text and a link annotation to ``uri`` (built with pikepdf)."""
    import pikepdf

    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    stream = pdf.make_stream(b"BT /F1 12 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET")
    page = pikepdf.Page(pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=[0, 0, 612, 792],
                                           Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
                                           Contents=stream))
    link = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[72, 700, 300, 730],
                              A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String(uri)))
    page.obj["/Annots"] = pdf.make_indirect(pikepdf.Array([link]))
    pdf.pages.append(page)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def qpdf_encrypted(plain: bytes, passphrase: str, kind: str, tmp: Path) -> bytes:
    """kind: aes256 (R6), aes128 (R4), rc4 (R3 128-bit)."""
    require_peer("qpdf")
    src, dst = tmp / f"plain-{kind}.pdf", tmp / f"enc-{kind}.pdf"
    src.write_bytes(plain)
    args = {"aes256": ["256"], "aes128": ["128", "--use-aes=y"], "rc4": ["128", "--use-aes=n"]}[kind]
    weak = ["--allow-weak-crypto"] if kind == "rc4" else []
    subprocess.run(["qpdf", *weak, "--encrypt", passphrase, "owner-" + passphrase, *args, "--", str(src), str(dst)],
                   check=True, capture_output=True)
    return dst.read_bytes()


def info_zip(members: dict[str, bytes], passphrase: str, tmp: Path, store: bool = False) -> bytes:
    """A ZipCrypto archive made by Info-ZIP's zip -P (``store``: members not compressed, zip -0)."""
    require_peer("zip")
    work = tmp / "zipwork"
    work.mkdir(exist_ok=True)
    for name, data in members.items():
        (work / name).write_bytes(data)
    out = tmp / "zipcrypto.zip"
    out.unlink(missing_ok=True)
    subprocess.run(["zip", "-q", *(["-0"] if store else []), "-P", passphrase, str(out), *members], cwd=work,
                   check=True)
    return out.read_bytes()


def seven_zip_aes(members: dict[str, bytes], passphrase: str, tmp: Path) -> bytes:
    """A WinZip-AES-256 zip made by 7-Zip."""
    if shutil.which("7z") is None:
        require_peer("7z")
    work = tmp / "7zwork"
    work.mkdir(exist_ok=True)
    for name, data in members.items():
        (work / name).write_bytes(data)
    out = tmp / "aes.zip"
    out.unlink(missing_ok=True)
    subprocess.run(["7z", "a", "-tzip", "-mem=AES256", f"-p{passphrase}", str(out), *members], cwd=work,
                   check=True, capture_output=True)
    return out.read_bytes()


def seven_zip(members: dict[str, bytes], tmp: Path, passphrase: str = "", encrypt_headers: bool = False) -> bytes:
    """A .7z archive made by 7-Zip: plain, AES-256 (-p), and with encrypted headers (-mhe=on)."""
    if shutil.which("7z") is None:
        require_peer("7z")
    work = tmp / "7zwork7"
    work.mkdir(exist_ok=True)
    for name, data in members.items():
        (work / name).write_bytes(data)
    out = tmp / "archive.7z"
    out.unlink(missing_ok=True)
    options = [f"-p{passphrase}"] if passphrase else []
    options += ["-mhe=on"] if encrypt_headers else []
    subprocess.run(["7z", "a", "-t7z", *options, str(out), *members], cwd=work, check=True, capture_output=True)
    return out.read_bytes()


def plain_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def overlapping_bomb(copies: int = 50) -> bytes:
    """Central-directory entries all pointing at the same local file (the CVE-2024-0450 trick)."""
    raw = plain_zip({"a": b"\x00" * 10000})
    cd_offset = struct.unpack("<I", raw[-6:-2])[0]
    body, central, eocd = raw[:cd_offset], raw[cd_offset:-22], bytearray(raw[-22:])
    entries = central * copies
    struct.pack_into("<HHII", eocd, 8, copies, copies, len(entries), len(body))
    return body + entries + bytes(eocd)


def nested_zip(levels: int, core: bytes = b"core") -> bytes:
    data = core
    for i in range(levels):
        data = plain_zip({f"level{i}.zip" if i else "core.txt": data})
    return data


def many_spins_docx(spins: int = 10_000_000) -> bytes:
    """The Office-made agile docx, its EncryptionInfo claiming ``spins`` key-derivation rounds.

    The streams are Office's; only the spinCount attribute changes, and the
    container is written again by msoffcrypto-tool's OLE writer.
    """
    import olefile
    from msoffcrypto.method.container.ecma376_encrypted import ECMA376Encrypted

    ole = olefile.OleFileIO((OFFICE / "example_password.docx").read_bytes())
    info = ole.openstream("EncryptionInfo").read()
    package = ole.openstream("EncryptedPackage").read()
    changed = info.replace(b'spinCount="100000"', f'spinCount="{spins}"'.encode())
    assert changed != info
    out = io.BytesIO()
    ECMA376Encrypted(package, changed).write_to(out)
    return out.getvalue()


def msoffcrypto_docx(text: str, passphrase: str) -> bytes:
    """A docx encrypted by msoffcrypto-tool (agile, AES-256, 100,000 spins).

    The package is padded past 4 KiB with an incompressible part: msoffcrypto-tool
    6.1 writes smaller packages wrongly (see tests/fixtures/office/README.md).
    """
    import os

    from msoffcrypto.format.ooxml import OOXMLFile

    body = (f'<w:document><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>').encode()
    types = b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
    plain = plain_zip({"[Content_Types].xml": types, "word/document.xml": body,
                       "word/media/noise.bin": os.urandom(6000)})
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(plain)).encrypt(passphrase, out)
    return out.getvalue()
