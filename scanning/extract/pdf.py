"""PDF: open (with passphrases when encrypted), then link targets and text.

pikepdf (libqpdf, C++) opens and decrypts RC4 and AES (128 and 256) files
and reads link annotations. It has no text extraction, so the text here is
the string operands of the pages' text operators (Tj, TJ, ', "): enough for
filters to find words and URLs, not a layout-faithful rendering.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

from .text import normalise, urls_in
from .unlock import NOT_OPENED, Unlocker

MAX_PAGES = 200
_TEXT_OPERATORS = {"Tj", "TJ", "'", '"'}


class PdfProblem(Exception):
    """Damaged, over a bound, or protected with no passphrase that fits."""


@dataclass
class PdfContent:
    text: str = ""
    urls: list[str] = field(default_factory=list)
    encrypted: bool = False
    label: str = ""  # which candidate opened it, when encrypted
    method: str = ""
    #: qpdf had to repair the file (truncated, broken cross-references): what it said. The text and
    #: URLs are what could be recovered, so the attachment still counts as not fully scanned.
    damaged: str = ""


def read(data: bytes, unlocker: Unlocker, max_seconds: float) -> PdfContent:
    import pikepdf

    started = time.monotonic()
    pdf, label = _open(data, unlocker)
    try:
        content = PdfContent(encrypted=pdf.is_encrypted, label=label)
        if pdf.is_encrypted:
            enc = pdf.encryption
            content.method = f"R{enc.R} {enc.bits}-bit {'AES' if enc.R >= 4 else 'RC4'}"
        texts: list[str] = []
        for n, page in enumerate(pdf.pages):
            if n >= MAX_PAGES or time.monotonic() - started > max_seconds:
                raise PdfProblem(f"PDF took longer than {max_seconds:g} s or has over {MAX_PAGES} pages")
            for annot in page.get("/Annots", None) or []:
                uri = _uri(annot)
                if uri:
                    content.urls.append(uri)
            try:
                for operands, operator in pikepdf.parse_content_stream(page):
                    if str(operator) in _TEXT_OPERATORS:
                        texts.append(_strings(operands))
            except pikepdf.PdfError:
                continue  # one damaged content stream: the other pages still count
        content.text = normalise(" ".join(t for t in texts if t))
        warnings = [w.split(": ", 1)[-1] for w in pdf.get_warnings()]
        if warnings:
            content.damaged = "; ".join(dict.fromkeys(warnings[:3]))
        for url in urls_in(content.text):
            if url not in content.urls:
                content.urls.append(url)
        return content
    except PdfProblem:
        raise
    except Exception as e:  # pikepdf/qpdf on hostile input: a verdict, never a crash
        raise PdfProblem(f"damaged PDF ({type(e).__name__})") from None
    finally:
        pdf.close()


def _open(data: bytes, unlocker: Unlocker):
    import pikepdf

    try:
        return pikepdf.open(io.BytesIO(data)), ""  # the empty user password opens owner-only files
    except pikepdf.PasswordError:
        pass
    except Exception as e:
        raise PdfProblem(f"damaged PDF ({type(e).__name__})") from None
    for label, passphrase in unlocker.attempts(0.01):  # BudgetExceeded goes up to the message's extraction
        try:
            return pikepdf.open(io.BytesIO(data), password=passphrase), label
        except pikepdf.PasswordError:
            continue
        except Exception as e:
            raise PdfProblem(f"damaged PDF ({type(e).__name__})") from None
    raise PdfProblem(NOT_OPENED)


def _uri(annot) -> str:
    try:
        action = annot.get("/A")
        if action is not None and str(action.get("/S")) == "/URI":
            return str(action.get("/URI"))
    except Exception:  # a malformed annotation is skipped, not fatal
        return ""
    return ""


def _strings(operands) -> str:
    import pikepdf

    out = []
    for op in operands:
        if isinstance(op, pikepdf.String):
            out.append(str(op))
        elif isinstance(op, pikepdf.Array):
            out.append("".join(str(x) for x in op if isinstance(x, pikepdf.String)))
    return "".join(out)
