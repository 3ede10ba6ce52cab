"""Text out of bytes: URLs, HTML, strings of binary files, and passphrases senders put in the message.

Matching is done on NFC text, so that "é" written as one code point and as
"e" plus a combining accent are the same letter to a filter, whatever tool
made the document.
"""

from __future__ import annotations

import html
import re
import unicodedata

#: URLs with a scheme, or starting with www. (as mail clients link them).
_URL = re.compile(r"""(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>"'`{}|\\^\[\]\x00-\x1f\x7f]{2,2000}""")
_HREF = re.compile(r"""(?i)\bhref\s*=\s*["']?([^"'\s>]+)""")
_TAG = re.compile(r"(?s)<(script|style)\b.*?</\1\s*>|<[^>]{0,2000}>")
# Eight-bit runs (cp1252: the "compressed" strings of legacy Office files keep accented letters there).
_ASCII_RUN = re.compile(rb"[\x20-\x7e\xa0-\xff\t\r\n]{4,}")
_UTF16_RUN = re.compile(rb"(?:[\x20-\x7e]\x00|[\xa0-\xff]\x00){4,}")

MAX_URLS = 500


def normalise(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def urls_in(text: str) -> list[str]:
    """URLs in plain or HTML text, in order of appearance, each once."""
    found: dict[str, None] = {}
    for m in _HREF.finditer(text):
        url = html.unescape(m.group(1))
        if re.match(r"(?i)(https?|ftp)://", url):
            found.setdefault(_clean(url))
    for m in _URL.finditer(text):
        found.setdefault(_clean(m.group(0)))
        if len(found) >= MAX_URLS:
            break
    return [u for u in found if u]


def _clean(url: str) -> str:
    url = url.rstrip(".,;:!?)]}>'\"")
    if url.lower().startswith("www."):
        url = "http://" + url
    return url


def html_text(markup: str) -> str:
    return normalise(html.unescape(_TAG.sub(" ", markup)))


def binary_strings(data: bytes, limit: int = 4 * 1024 * 1024) -> str:
    """Printable runs of a binary document (legacy Office text lives in such runs, often UTF-16)."""
    data = data[:limit]
    parts = [m.group(0).decode("cp1252", "replace") for m in _ASCII_RUN.finditer(data)]
    parts += [m.group(0).decode("utf-16-le", "replace") for m in _UTF16_RUN.finditer(data)]
    return normalise("\n".join(parts))


# The keywords senders use for "password" in English, French, German, Spanish, Portuguese and Italian.
_KEYWORDS = (r"pass(?:word|wort|phrase|code)?|pwd|mot\s+de\s+passe|kennwort|contrase(?:ñ|n)a|clave|senha|"
             r"palavra[- ]passe|parola\s+d'ordine|code\s+d'acc[eè]s")
_HARVEST = re.compile(
    rf"(?i)\b(?:{_KEYWORDS})\b\s*(?:is|est|ist|es|é|è|lautet|:|=|-)?\s*(?:is|est|ist|es|é|è)?\s*[:=]?\s*"
    r"""["'«“‘]?([^\s"'«»“”‘’]{3,64})""")
_TRAILING = ".,;:!?)]}"


def harvest_passphrases(text: str, limit: int = 8) -> list[str]:
    """Candidate passphrases the message text gives ("password: X", "mot de passe : X", "Passwort: X", ...)."""
    out: list[str] = []
    for m in _HARVEST.finditer(normalise(text)):
        word = m.group(1).rstrip(_TRAILING) if len(m.group(1)) > 3 else m.group(1)
        if word.lower() in {"is", "est", "ist", "es", "the", "le", "la", "der", "die", "das", "el", "o", "a"}:
            continue
        if word and word not in out:
            out.append(word)
        if len(out) >= limit:
            break
    return out
