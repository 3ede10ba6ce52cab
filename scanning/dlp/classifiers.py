"""National ID classifiers: Singapore NRIC/FIN, Thailand PIN, Malaysia MyKad, Indonesia NIK, Philippines UMID CRN.

Rules are the ones in the project's reference note (dlp-national-ids.md),
built from the primary sources and checked against python-stdnum at test
time. How a match is found:

1. One pass of two regular expressions over the text: an NRIC-shaped token
   (letter, seven digits, letter), or a run of digit groups joined by single
   separators (space, hyphen, dot). Runs are cut at ASCII letters and digits
   only, so Thai text written without spaces around a number still counts.
2. Each run is tried as every written format of every ID (bare digits, or
   the ID's grouping with one consistent separator). A sub-run is taken only
   between spaces, never out of a hyphenated or dotted number, so card
   numbers and IBANs are not sliced into IDs.
3. Structure checks (dates, region and place-of-birth codes, gender
   encoding) and the checksum where one exists (SG, TH).
4. Context: keywords in English and the local languages within 300
   characters raise confidence. IDs with no checksum (MY, ID, PH) need a
   keyword: without one there is no match.
5. Traps are excluded: Luhn-valid card numbers with a card prefix,
   timestamps (epoch milliseconds, YYMMDDhhmmss) in time context, family-card
   (KK) numbers, Thai company tax IDs, repeated or sequential digits.

A match carries the classifier key, a confidence (0-100), its position and
a masked excerpt; the full number never leaves this module.
"""

from __future__ import annotations

import bisect
import datetime
import re
import time
from dataclasses import dataclass
from operator import mul

from asyncos_cli.config.dlp import DLP_CLASSIFIER_NAMES

KEYS = ("sg-nric", "th-id", "my-mykad", "id-ktp", "ph-umid", "credit-card")
NAMES = DLP_CLASSIFIER_NAMES
WINDOW = 300
#: Confidence of a match that is probably but not surely an ID (the Purview "low" level).
LOW = 40


@dataclass(frozen=True)
class Match:
    classifier: str
    confidence: int
    start: int
    end: int
    masked: str

    def to_json(self) -> dict:
        return {"classifier": self.classifier, "confidence": self.confidence, "start": self.start, "end": self.end,
                "masked": self.masked}


_HIDE = str.maketrans({c: "*" for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"})


def mask(value: str) -> str:
    """Everything but the last four characters hidden (separators kept, so the shape still shows)."""
    kept, cut = 0, len(value)
    while cut > 0 and kept < 4:
        cut -= 1
        if value[cut].isalnum():
            kept += 1
    head = value[:cut]
    if not head.isascii():  # full-width or other scripts' digits are hidden as well as ASCII ones
        return "".join("*" if c.isalnum() else c for c in head) + value[cut:]
    return head.translate(_HIDE) + value[cut:]


# ---------------------------------------------------------------- keywords and context words


class _Words:
    """A list of words; ASCII words must stand alone ("ic" is not in "public"), Thai and CJK are substrings."""

    def __init__(self, words: list[str]):
        self.words = {w.lower() for w in words}


def _spaced(*phrases: str) -> list[str]:
    """Phrases as written with one space, none, or a dot: "No. KK", "No KK", "No.KK"."""
    out = []
    for p in phrases:
        out += [p, p.replace(". ", "."), p.replace(". ", " "), p.replace(" ", "")]
    return out


KEYWORDS = {
    "sg-nric": _Words(["National Registration Identity Card", "Identity Card Number", "NRIC", "NRIC No",
                       "NRIC/FIN", "FIN", "Foreign Identification Number", "IC", "I/C", "IC No", "UIN",
                       "uinfin", "身份证", "身份證"]),
    "th-id": _Words(["Thai National ID", "Thai ID", "Thai ID Number", "Thai ID card", "TNIN", "ID Number",
                     "Identification Number", "citizen ID", "national ID", "เลขประจำตัวประชาชน",
                     "เลขบัตรประชาชน", "รหัสปชช", "บัตรประชาชน", "รหัสบัตรประชาชน", "บัตรประจำตัวประชาชน",
                     "เลขที่บัตรประชาชน", "เลขประจำตัวผู้เสียภาษี"]),
    "my-mykad": _Words(["MyKad", "MyKid", "MyKas", "MyPR", "MyTentera", "NRIC", "IC", "IC No", "IC number",
                        "I/C", "I/C No", "K/P", "K/P No", "No. K/P", "KP", "KP No", "identity card",
                        "identification card", "ID card", "kad pengenalan", "kad pengenalan malaysia",
                        "No. Kad Pengenalan", "nombor kad pengenalan", "Malaysian identity card",
                        "Malaysia identity card", "personal identification card", "kad akuan diri",
                        "kad aplikasi digital", "digital application card", "身份证"]),
    "id-ktp": _Words(["KTP", "e-KTP", "KTP-el", "Kartu Tanda Penduduk", "Nomor Induk Kependudukan", "NIK",
                      "No. KTP", "Nomor KTP", "No. NIK", "NIK KTP", "NPWP"]),
    "ph-umid": _Words(["Unified Multi-Purpose ID", "Unified Multi Purpose ID", "UMID", "UMID No", "UMID CRN",
                       "CRN", "Common Reference Number", "Pinag-isang Multi-Layunin ID", "Identity Card"]),
    # Context that says "not an ID": family cards, timestamps, companies, payment cards.
    "kk": _Words([*_spaced("No. KK", "Nomor KK"), "Kartu Keluarga", "Nomor Kartu Keluarga", "family card"]),
    "time": _Words(["timestamp", "timestamps", "ts", "epoch", "ms", "millis", "created", "created_at", "updated",
                    "updated_at", "logged", "datetime", "time=", "time:", "time =", "time :"]),
    "company": _Words(["company", "juristic", "corporate", "นิติบุคคล", "บริษัท"]),
    "card": _Words(["card", "kartu kredit", "kartu debit", "credit", "debit", "visa", "mastercard", "amex", "jcb",
                    "exp", "expiry", "expires", "cvv", "cvc"]),
}


def _all_words():
    """Every word of every list, found in one pass, and which lists each word is in."""
    from .keywords import WordFinder

    owners: dict[str, set[str]] = {}
    for name, words in KEYWORDS.items():
        for w in words.words:
            owners.setdefault(w, set()).add(name)
    return WordFinder(sorted(owners)), owners


_ALL_WORDS, _OWNERS = _all_words()


class _Context:
    """Where each word list occurs in one text: one pass over the lower-cased text for all the lists,
    made only when the first candidate asks."""

    def __init__(self, text: str):
        self.text = text
        self._hits: dict[str, list[int]] | None = None

    def _find(self) -> dict[str, list[int]]:
        lower = self.text.lower()
        hits: dict[str, list[int]] = {name: [] for name in KEYWORDS}
        size = len(lower)
        for start, word in _ALL_WORDS.find(lower):
            if word.isascii():
                end = start + len(word)
                before = lower[start - 1] if start else " "
                after = lower[end] if end < size else " "
                if "a" <= before <= "z" or "a" <= after <= "z":
                    continue
            for name in _OWNERS[word]:
                hits[name].append(start)
        for positions in hits.values():
            positions.sort()
        return hits

    def positions(self, name: str) -> list[int]:
        if self._hits is None:
            self._hits = self._find()
        return self._hits[name]

    def near(self, name: str, start: int, end: int, window: int = WINDOW) -> bool:
        hits = self.positions(name)
        i = bisect.bisect_left(hits, start - window)
        return i < len(hits) and hits[i] <= end + window

    def before(self, name: str, start: int, window: int) -> int | None:
        """The position of the closest occurrence in the ``window`` characters before ``start``."""
        hits = self.positions(name)
        i = bisect.bisect_left(hits, start) - 1
        return hits[i] if i >= 0 and hits[i] >= start - window else None


# ---------------------------------------------------------------- structure checks

_SG_TABLES = {"ST": "JZIHGFEDCBA", "FG": "XWUTRQPNMLK", "M": "XWUTRQPNJLK"}
_SG_OFFSET = {"S": 0, "F": 0, "T": 4, "G": 4, "M": 3}
_SG_WEIGHTS = (2, 7, 6, 5, 4, 3, 2)


def _weighted(weights: tuple[int, ...], digits: str) -> int:
    """Sum of weight x digit, computed on the ASCII codes in C (map/sum), the '0' offsets taken out after."""
    return sum(map(mul, weights, digits.encode("ascii"))) - 48 * sum(weights)


def sg_valid(token: str) -> bool:
    t = token.upper()
    prefix, digits, check = t[0], t[1:8], t[8]
    r = (_weighted(_SG_WEIGHTS, digits) + _SG_OFFSET[prefix]) % 11
    table = _SG_TABLES["ST" if prefix in "ST" else "FG" if prefix in "FG" else "M"]
    return table[r] == check


_TH_PROVINCES = {*range(10, 28), *range(30, 50), *range(50, 59), *range(60, 68), *range(70, 78), *range(80, 87),
                 *range(90, 97)}


_TH_WEIGHTS = tuple(range(13, 1, -1))


def th_checksum(d: str) -> bool:
    s = _weighted(_TH_WEIGHTS, d[:12])
    return (11 - s % 11) % 10 == int(d[12])


_MY_INVALID_PB = {0, *range(17, 21), 69, 70, 73, 80, 81, *range(94, 98)}


def _date(year2: int, month: int, day: int) -> bool:
    for century in (1900, 2000):
        try:
            datetime.date(century + year2, month, day)
            return True
        except ValueError:
            continue
    return False


def my_valid(d: str) -> bool:
    return _date(int(d[0:2]), int(d[2:4]), int(d[4:6])) and int(d[6:8]) not in _MY_INVALID_PB


_ID_PROVINCES = {*range(11, 20), 21, *range(31, 37), *range(51, 54), *range(61, 66), *range(71, 77), 81, 82,
                 *range(91, 97)}


def id_valid(d: str) -> bool:
    province, regency, district = int(d[0:2]), int(d[2:4]), int(d[4:6])
    day, month, year = int(d[6:8]), int(d[8:10]), int(d[10:12])
    if province not in _ID_PROVINCES or not (1 <= regency <= 69 or 71 <= regency <= 99) or district == 0:
        return False
    if 41 <= day <= 71:
        day -= 40  # women: +40 on the day
    elif not 1 <= day <= 31:
        return False
    return _date(year, month, day) and d[12:] != "0000"


def luhn(d: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(d)):
        n = int(c)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


_CARD_IIN = re.compile(r"^(?:4|5[1-5]|2[2-7]|3[47]|6(?:011|5)|35)")


def looks_like_card(d: str) -> bool:
    return len(d) in (15, 16) and bool(_CARD_IIN.match(d)) and luhn(d)


_ASCENDING = "0123456789" * 3
_DESCENDING = "9876543210" * 3


def boring(d: str) -> bool:
    """Repeated or sequential digits: not an ID anyone was issued."""
    return d.count(d[0]) == len(d) or d in _ASCENDING or d in _DESCENDING


def _epoch_ms_recent(d: str) -> bool:
    return abs(int(d) / 1000 - time.time()) < 5 * 365.25 * 86400


def _clock(d: str) -> bool:
    """YYMMDDhhmmss that reads as a time of day."""
    return int(d[6:8]) < 24 and int(d[8:10]) < 60 and int(d[10:12]) < 60


# ---------------------------------------------------------------- finding candidates

#: One pass finds every candidate, and its written form: the engine, not Python, tells a Thai ID grouped
#: 1-4-5-2-1 from a MyKad 6-2-4 or a NIK 2-2-2-6-4 (one separator throughout), a bare number of 12, 13 or 16
#: digits, or an NRIC/FIN. A candidate is never cut out of a longer number: no digit or letter may touch
#: it, nor a hyphen or dot followed by a digit. It begins with a digit, so the engine skips ahead fast.
_CANDIDATE = re.compile(r"""
[0-9](?:
  (?<![0-9A-Za-z_][0-9])(?<![0-9][.\-][0-9])
  (?:
     (?P<th_g>(?P<s1>[ \-])[0-9]{4}(?P=s1)[0-9]{5}(?P=s1)[0-9]{2}(?P=s1)[0-9])
    |(?P<my_g>[0-9]{5}(?P<s2>[ \-])[0-9]{2}(?P=s2)[0-9]{4})
    |(?P<ph_g>[0-9]{3}(?P<s3>[ \-])[0-9]{7}(?P=s3)[0-9])
    |(?P<id_g>[0-9](?P<s4>[ .\-])[0-9]{2}(?P=s4)[0-9]{2}(?P=s4)[0-9]{6}(?P=s4)[0-9]{4})
    |(?P<cc_g>[0-9]{3}(?P<s5>[ \-])[0-9]{4}(?P=s5)[0-9]{4}(?P=s5)[0-9]{4}|[0-9]{3}(?P<s6>[ \-])[0-9]{6}(?P=s6)[0-9]{5})
    |(?P<bare>[0-9]{15}|[0-9]{14}|[0-9]{12}|[0-9]{11})
  )
  (?![0-9A-Za-z_])(?![.\-][0-9])
 |(?<=[STFGMstfgm][0-9])(?<![0-9A-Za-z_][STFGMstfgm][0-9])(?P<nric>[0-9]{6}[A-Za-z])(?![0-9A-Za-z_])
)""", re.X)
_GROUPED = {"th_g": ("th-id",), "my_g": ("my-mykad",), "ph_g": ("ph-umid",), "id_g": ("id-ktp",),
            "cc_g": ("credit-card",)}
#: A 16-digit run is tried as a card first: a Luhn-valid number with a card prefix is a card, whatever is near it.
_BARE_KEYS = {13: ("th-id",), 12: ("my-mykad", "ph-umid"), 16: ("credit-card", "id-ktp"), 15: ("credit-card",)}


def _fold_table() -> dict[int, str]:
    """Characters that write the same number or ID differently, to their ASCII form, one for one (positions stay)."""
    table: dict[int, str] = {}
    for zero in (0xFF10, 0x0660, 0x06F0, 0x0E50, 0x0966, 0x09E6, 0x1040):  # full-width, Arabic-Indic, Extended
        for i in range(10):                                               # Arabic-Indic, Thai, Devanagari,
            table[zero + i] = str(i)                                      # Bengali, Myanmar digits
    for i in range(26):
        table[0xFF21 + i], table[0xFF41 + i] = chr(65 + i), chr(97 + i)  # full-width letters
    for space in (0x00A0, 0x2007, 0x2009, 0x200A, 0x202F, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2008, 0x205F,
                  0x3000):
        table[space] = " "  # no-break, figure, thin, hair, narrow and other spaces
    for dash in (0x2010, 0x2011, 0x2012, 0x2013, 0x2212, 0xFF0D, 0xFE63):
        table[dash] = "-"
    table[0xFF0E] = "."
    return table


_FOLD = _fold_table()
#: Text that is not ASCII is searched once for a character to fold (a pass at about 300 MB/s); folding happens
#: only when one is found. (Joined into the candidate pattern it cost more: the engine's fast skip to a digit
#: is lost.)
_FOLDABLE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD)) + "]")
#: The start of a URL: an ID in a link's path or query is part of the link, not a document's ID.
_URL_START = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.\-]*://|www\.)\S*$")


def _in_url(text: str, start: int) -> bool:
    """Whether the characters just before ``start`` (back to the last white space) open a URL."""
    lo = max(0, start - 2048)
    head = text[lo:start]
    space = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"), head.rfind("<"), head.rfind('"'))
    return bool(_URL_START.search(head[space + 1:]))


def scan(text: str, wanted=KEYS) -> list[Match]:
    """Every national ID in ``text`` for the classifier keys in ``wanted``, in order of position.

    Digits and letters written otherwise (full-width, Arabic-Indic, Thai...) and the various spaces and dashes
    are folded first, one character for one, so a match's position and its masked value are the original's."""
    original = text
    if not text.isascii() and _FOLDABLE.search(text):
        text = text.translate(_FOLD)  # one character for one: positions stay
    out = [m for m in _scan(text, wanted) if not _in_url(text, m.start)]
    if text is not original:
        out = [Match(m.classifier, m.confidence, m.start, m.end, mask(original[m.start:m.end])) for m in out]
    return out


try:
    from ._runs import number_runs
except ImportError:  # no compiler at install time: the pattern reads the whole text
    number_runs = None
#: The fewest digits a candidate holds (an NRIC's seven).
_MIN_DIGITS = 7
#: Runs closer than this come back as one span (one call of the pattern per dense stretch of text).
_MERGE_GAP = 96


def _candidates(text: str):
    """The candidate pattern's matches: over the runs of digits the C pass finds (the same matches, since a
    candidate is digits and single separators: one run holds it), or over the whole text without it. The
    pattern sees two characters past a run, for its look-aheads; its look-behinds see the real text."""
    if number_runs is None:
        return _CANDIDATE.finditer(text)
    n = len(text)
    return (m for start, end in number_runs(text, _MIN_DIGITS, _MERGE_GAP)
            for m in _CANDIDATE.finditer(text, start, min(n, end + 2)))


def _scan(text: str, wanted) -> list[Match]:
    wanted = set(wanted)
    out: list[Match] = []
    ctx = _Context(text)
    sg = "sg-nric" in wanted
    # The checks each written form calls, in order, for the classifiers asked: looked up once per scan.
    bare_checks = {n: [_CHECKS[k] for k in keys if k in wanted] for n, keys in _BARE_KEYS.items()}
    grouped_checks = {form: [_CHECKS[k] for k in keys if k in wanted] for form, keys in _GROUPED.items()}
    for m in _candidates(text):
        form = m.lastgroup
        if form == "nric":
            if sg:
                _nric(ctx, m.start() - 1, m.end(), out)
            continue
        run = m.group()
        if form == "bare":
            checks, digits, bare = bare_checks[len(run)], run, True
        else:
            checks, bare = grouped_checks[form], False
            if not checks:
                continue
            digits = run.replace(run[len(run) - len(run.lstrip("0123456789"))], "")
        start, end = m.span()
        for check in checks:
            match = check(ctx, digits, start, end, bare)
            if match is not None:
                out.append(match)
                break
    if len(out) > 1:
        out.sort(key=lambda x: x.start)
    return out


def _nric(ctx: _Context, start: int, end: int, out: list[Match]) -> None:
    token = ctx.text[start:end]
    if sg_valid(token):
        conf = 85 if ctx.near("sg-nric", start, end) else 75
        out.append(Match("sg-nric", conf, start, end, mask(token)))


def _th(ctx: _Context, d, start, end, bare) -> Match | None:
    first, province = int(d[0]), int(d[1:3])
    if province not in _TH_PROVINCES or not th_checksum(d) or boring(d):
        return None
    keyword = ctx.near("th-id", start, end)
    if first == 0 and (not keyword or ctx.near("company", start, end, 80)):
        return None  # a leading 0 is a company tax ID unless a personal-ID keyword says otherwise
    recent_epoch_ms = bare and _epoch_ms_recent(d)
    if recent_epoch_ms and ctx.near("time", start, end, 40):
        return None  # an epoch-milliseconds timestamp in a log line or a record
    if first == 9:
        conf = 60 if keyword else 0
    elif recent_epoch_ms and not keyword:
        conf = LOW  # could be a timestamp: counted only by policies that accept low confidence
    else:
        conf = 85 if keyword else 75
    return Match("th-id", conf, start, end, mask(ctx.text[start:end])) if conf else None


def _my(ctx: _Context, d, start, end, bare) -> Match | None:
    # The keyword first: it is a dictionary and a bisect, where the date check builds a date (same answer).
    if not ctx.near("my-mykad", start, end) or not my_valid(d) or boring(d):
        return None
    if bare and _clock(d):
        if ctx.near("time", start, end, 40):
            return None  # YYMMDDhhmmss in time context
        # It also reads as a time: a MyKad label right before it makes it likely, a keyword further off only
        # possible (counted by policies that accept low confidence).
        conf = 65 if ctx.before("my-mykad", start, 40) is not None else LOW
        return Match("my-mykad", conf, start, end, mask(ctx.text[start:end]))
    return Match("my-mykad", 85 if not bare else 80, start, end, mask(ctx.text[start:end]))


def _id(ctx: _Context, d, start, end, bare) -> Match | None:
    if not ctx.near("id-ktp", start, end) or not id_valid(d) or boring(d):
        return None
    if bare and looks_like_card(d):
        return None  # written as a card would be, a Luhn-valid number with a card prefix is a card, even beside "NIK"
    kk = ctx.before("kk", start, 80)
    if kk is not None and (ctx.before("id-ktp", start, start - kk) is None):
        return None  # a family-card (KK) number: the KK label is the closest before it
    return Match("id-ktp", 85, start, end, mask(ctx.text[start:end]))


def _ph(ctx: _Context, d, start, end, bare) -> Match | None:
    if not ctx.near("ph-umid", start, end) or boring(d):
        return None
    return Match("ph-umid", 80 if bare else 85, start, end, mask(ctx.text[start:end]))


def _card(ctx: _Context, d, start, end, bare) -> Match | None:
    if not looks_like_card(d) or boring(d):
        return None
    return Match("credit-card", 85 if ctx.near("card", start, end, 60) else 75, start, end,
                 mask(ctx.text[start:end]))


_CHECKS = {"th-id": _th, "my-mykad": _my, "id-ktp": _id, "ph-umid": _ph, "credit-card": _card}
