"""Text and hyperlinks of Office Open XML packages (docx, xlsx, pptx), from their already-bounded zip members."""

from __future__ import annotations

import re

from .text import normalise, urls_in

_TEXT_PARTS = re.compile(r"^(word/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml|"
                         r"xl/sharedStrings\.xml|xl/worksheets/sheet\d+\.xml|ppt/slides/slide\d+\.xml|"
                         r"ppt/notesSlides/notesSlide\d+\.xml)$")
_RUN_TEXT = re.compile(rb"<(?:w:t|a:t|t)(?:\s[^>]*)?>([^<]*)</(?:w:t|a:t|t)>")
_PARAGRAPH_END = re.compile(rb"</(?:w:p|a:p|si|row)>")
_EXTERNAL = re.compile(rb"""<Relationship\b[^>]*?Target="([^"]+)"[^>]*?TargetMode="External"|"""
                       rb"""<Relationship\b[^>]*?TargetMode="External"[^>]*?Target="([^"]+)\"""")


def extract(members) -> tuple[str, list[str]]:
    """(text, urls) of a package: the visible text runs, external relationship targets, URLs in the text."""
    import html

    texts: list[str] = []
    urls: list[str] = []
    for m in members:
        if m.protected:
            continue
        if m.name.endswith(".rels"):
            for a, b in _EXTERNAL.findall(m.data):
                target = html.unescape((a or b).decode("utf-8", "replace"))
                if re.match(r"(?i)(https?|ftp|mailto):", target) and target not in urls:
                    urls.append(target)
        elif _TEXT_PARTS.match(m.name):
            for paragraph in _PARAGRAPH_END.split(m.data):
                runs = _RUN_TEXT.findall(paragraph)
                if runs:
                    texts.append("".join(html.unescape(t.decode("utf-8", "replace")) for t in runs) + "\n")
    text = normalise("".join(texts))
    for url in urls_in(text):
        if url not in urls:
            urls.append(url)
    return text, urls
