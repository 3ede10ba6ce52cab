"""Filters find words in extracted text written in English, Italian, Portuguese, Spanish, German and French."""

from __future__ import annotations

import unicodedata

import pytest
from corpus import mail, pdf_with_link, plain_zip

from asyncos_cli.config.schema import Config, MessageFilter, MessageFiltersSection
from scanning.message import parse
from scanning.pipeline import Envelope, scan


def _docx(text: str) -> bytes:
    body = f'<w:document><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>'
    return plain_zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": body.encode("utf-8")})


def _matches(raw: bytes, rule: str) -> bool:
    config = Config.default().with_section(MessageFiltersSection((
        MessageFilter("probe", f'probe: if ({rule}) {{ log-entry("hit"); }}'),)))
    verdict = scan(parse(raw), Envelope("a@example.org", ("b@example.com",)), config)[0]
    return verdict.findings["filters"]["log_entries"] == ["hit"]


@pytest.mark.parametrize("written, pattern", [
    ("Il contratto è riservato", "contratto è riservato"),          # Italian
    ("Relatório de produção confidencial", "(?i)RELATÓRIO DE PRODUÇÃO"),  # Portuguese
    ("Información para el año fiscal", "(?i)información.*AÑO"),      # Spanish
    ("Vertrauliche Straße Größe", "(?i)STRASSE GRÖSSE"),              # German: ß folds to ss
    ("Données très confidentielles à l'été", "(?i)DONNÉES TRÈS"),     # French
    ("Quarterly figures enclosed", "(?i)QUARTERLY FIGURES"),          # English
])
@pytest.mark.parametrize("form", ["NFC", "NFD"])
@pytest.mark.parametrize("container", ["txt", "docx", "zip"])
def test_attachment_text_matches_across_languages_and_unicode_forms(written, pattern, form, container):
    text = unicodedata.normalize(form, written)
    if container == "txt":
        att = ("note.txt", text.encode("utf-8"), "text/plain")
    elif container == "docx":
        att = ("note.docx", _docx(text), "application/octet-stream")
    else:
        att = ("note.zip", plain_zip({"inner/note.txt": text.encode("utf-8")}), "application/zip")
    assert _matches(mail(att), f'attachment-contains("{pattern}")')
    assert not _matches(mail(att), 'attachment-contains("(?i)nothing like this")')


def test_pdf_text_and_body_text_are_matched_too():
    pdf = pdf_with_link("Resume des donnees", "http://a.example/")
    assert _matches(mail(("r.pdf", pdf, "application/pdf")), 'attachment-contains("(?i)résumé|resume")')
    body = unicodedata.normalize("NFD", "Le mot de passe est dans la pièce jointe")
    assert _matches(mail(body=body), 'body-contains("pièce jointe")')
    assert _matches(mail(body=body), 'only-body-contains("(?i)PIÈCE")')
