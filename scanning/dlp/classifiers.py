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

import datetime
import re
import time
from dataclasses import dataclass

KEYS = ("sg-nric", "th-id", "my-mykad", "id-ktp", "ph-umid")
NAMES = {"sg-nric": "Singapore NRIC/FIN", "th-id": "Thailand ID", "my-mykad": "Malaysia MyKad",
         "id-ktp": "Indonesia KTP (NIK)", "ph-umid": "Philippines UMID"}
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


def mask(value: str) -> str:
    """Everything but the last four characters hidden (separators kept, so the shape still shows)."""
    seen, out = 0, []
    keep = sum(c.isalnum() for c in value) - 4
    for c in value:
        if c.isalnum():
            out.append(c if seen >= keep else "*")
            seen += 1
        else:
            out.append(c)
    return "".join(out)


# ---------------------------------------------------------------- keywords

def _keywords(words: list[str]) -> re.Pattern:
    # ASCII words need boundaries ("ic" must not match "public"); Thai and CJK are matched as substrings.
    parts = []
    for w in sorted(words, key=len, reverse=True):
        body = re.escape(w).replace(r"\ ", r"\s+")
        parts.append(rf"(?<![A-Za-z]){body}(?![A-Za-z])" if w.isascii() else body)
    return re.compile("|".join(parts), re.IGNORECASE)


KEYWORDS = {
    "sg-nric": _keywords(["National Registration Identity Card", "Identity Card Number", "NRIC", "NRIC No",
                          "NRIC/FIN", "FIN", "Foreign Identification Number", "IC", "I/C", "IC No", "UIN",
                          "uinfin", "身份证", "身份證"]),
    "th-id": _keywords(["Thai National ID", "Thai ID", "Thai ID Number", "Thai ID card", "TNIN", "ID Number",
                        "Identification Number", "citizen ID", "national ID", "เลขประจำตัวประชาชน",
                        "เลขบัตรประชาชน", "รหัสปชช", "บัตรประชาชน", "รหัสบัตรประชาชน", "บัตรประจำตัวประชาชน",
                        "เลขที่บัตรประชาชน", "เลขประจำตัวผู้เสียภาษี"]),
    "my-mykad": _keywords(["MyKad", "MyKid", "MyKas", "MyPR", "MyTentera", "NRIC", "IC", "IC No", "IC number",
                           "I/C", "I/C No", "K/P", "K/P No", "No. K/P", "KP", "KP No", "identity card",
                           "identification card", "ID card", "kad pengenalan", "kad pengenalan malaysia",
                           "No. Kad Pengenalan", "nombor kad pengenalan", "Malaysian identity card",
                           "Malaysia identity card", "personal identification card", "kad akuan diri",
                           "kad aplikasi digital", "digital application card", "身份证"]),
    "id-ktp": _keywords(["KTP", "e-KTP", "KTP-el", "Kartu Tanda Penduduk", "Nomor Induk Kependudukan", "NIK",
                         "No. KTP", "Nomor KTP", "No. NIK", "NIK KTP", "NPWP"]),
    "ph-umid": _keywords(["Unified Multi-Purpose ID", "Unified Multi Purpose ID", "UMID", "UMID No", "UMID CRN",
                          "CRN", "Common Reference Number", "Pinag-isang Multi-Layunin ID", "Identity Card"]),
}
_KK = re.compile(r"(?<![A-Za-z])(?:No\.?\s*KK|Nomor\s+KK|Kartu\s+Keluarga|Nomor\s+Kartu\s+Keluarga|family\s+card)"
                 r"(?![A-Za-z])", re.IGNORECASE)
_TIME_CONTEXT = re.compile(r"(?<![A-Za-z])(?:timestamps?|ts|epoch|ms|millis|created(?:_at)?|updated(?:_at)?|"
                           r"logged|time\s*[=:]|datetime)(?![A-Za-z])", re.IGNORECASE)
_TH_COMPANY = re.compile(r"(?<![A-Za-z])(?:company|juristic|corporate|นิติบุคคล|บริษัท|tax\s+ID\s+of)(?![A-Za-z])",
                         re.IGNORECASE)


def _near(pattern: re.Pattern, text: str, start: int, end: int, window: int = WINDOW) -> bool:
    return pattern.search(text, max(0, start - window), min(len(text), end + window)) is not None


# ---------------------------------------------------------------- structure checks

_SG_TABLES = {"ST": "JZIHGFEDCBA", "FG": "XWUTRQPNMLK", "M": "XWUTRQPNJLK"}
_SG_OFFSET = {"S": 0, "F": 0, "T": 4, "G": 4, "M": 3}
_SG_WEIGHTS = (2, 7, 6, 5, 4, 3, 2)


def sg_valid(token: str) -> bool:
    t = token.upper()
    prefix, digits, check = t[0], t[1:8], t[8]
    r = (sum(w * int(d) for w, d in zip(_SG_WEIGHTS, digits)) + _SG_OFFSET[prefix]) % 11
    table = _SG_TABLES["ST" if prefix in "ST" else "FG" if prefix in "FG" else "M"]
    return table[r] == check


_TH_PROVINCES = {*range(10, 28), *range(30, 50), *range(50, 59), *range(60, 68), *range(70, 78), *range(80, 87),
                 *range(90, 97)}


def th_checksum(d: str) -> bool:
    s = sum((13 - i) * int(d[i]) for i in range(12))
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


def boring(d: str) -> bool:
    """Repeated or sequential digits: not an ID anyone was issued."""
    if len(set(d)) == 1:
        return True
    steps = {(int(b) - int(a)) % 10 for a, b in zip(d, d[1:])}
    return steps in ({1}, {9})


def _epoch_ms_recent(d: str) -> bool:
    return abs(int(d) / 1000 - time.time()) < 5 * 365.25 * 86400


def _clock(d: str) -> bool:
    """YYMMDDhhmmss that reads as a time of day."""
    return int(d[6:8]) < 24 and int(d[8:10]) < 60 and int(d[10:12]) < 60


# ---------------------------------------------------------------- finding candidates

#: Digit runs (groups joined by one space, hyphen or dot). One pass finds every candidate: the NRIC too
#: (its seven digits, between letters). Written digit-first so the engine can skip to the next digit fast.
_DIGITS = re.compile(r"[0-9](?<![0-9_][0-9])[0-9]*(?:[ .\-][0-9]+)*(?![0-9_])")
_SPLIT = re.compile(r"([ .\-])")

#: (classifier, digit-group lengths, separators allowed); bare forms are one group.
_FORMATS = {
    (13,): ("th-id",), (1, 4, 5, 2, 1): ("th-id",),
    (12,): ("my-mykad", "ph-umid"), (6, 2, 4): ("my-mykad",), (4, 7, 1): ("ph-umid",),
    (16,): ("id-ktp",), (2, 2, 2, 6, 4): ("id-ktp",),
}
_SEPARATORS = {"th-id": " -", "my-mykad": " -", "ph-umid": " -", "id-ktp": " .-"}
_MAX_GROUPS = 5


def scan(text: str, wanted=KEYS) -> list[Match]:
    """Every national ID in ``text`` for the classifier keys in ``wanted``, in order of position."""
    wanted = set(wanted)
    sg, others = "sg-nric" in wanted, bool(wanted - {"sg-nric"})
    out: list[Match] = []
    size = len(text)
    for m in _DIGITS.finditer(text):
        start, end = m.span()
        before = text[start - 1] if start else " "
        after = text[end] if end < size else " "
        if _ascii_letter(before):
            if sg and end - start == 7 and before in "STFGMstfgm" and _ascii_letter(after) \
                    and not (start > 1 and _ascii_word(text[start - 2])) \
                    and not (end + 1 < size and _ascii_word(text[end + 1])):
                _nric(text, start - 1, end + 1, out)
            continue
        if _ascii_letter(after) or not others or end - start < 12:
            continue
        _digits_run(text, m, wanted, out)
    out.sort(key=lambda x: x.start)
    return out


def _ascii_letter(c: str) -> bool:
    return "a" <= c <= "z" or "A" <= c <= "Z"


def _ascii_word(c: str) -> bool:
    return _ascii_letter(c) or "0" <= c <= "9" or c == "_"


def _nric(text: str, start: int, end: int, out: list[Match]) -> None:
    token = text[start:end]
    if sg_valid(token):
        conf = 85 if _near(KEYWORDS["sg-nric"], text, start, end) else 75
        out.append(Match("sg-nric", conf, start, end, mask(token)))


def _digits_run(text: str, m: re.Match, wanted: set, out: list[Match]) -> None:
    parts = _SPLIT.split(m.group())  # groups at even indexes, separators at odd
    groups, seps = parts[0::2], parts[1::2]
    offsets, pos = [], m.start()
    for i, g in enumerate(groups):
        offsets.append(pos)
        pos += len(g) + (len(seps[i]) if i < len(seps) else 0)
    n = len(groups)
    i = 0
    while i < n:
        found = False
        # A sub-run must begin and end at spaces (or the run's ends): never inside a hyphenated number.
        if i == 0 or seps[i - 1] == " ":
            for j in range(min(n, i + _MAX_GROUPS), i, -1):
                if j < n and seps[j - 1] != " ":
                    continue
                inner = seps[i:j - 1]
                if inner and len(set(inner)) != 1:
                    continue
                shape = tuple(len(g) for g in groups[i:j])
                keys = _FORMATS.get(shape)
                if not keys:
                    continue
                start, end = offsets[i], offsets[j - 1] + len(groups[j - 1])
                digits = "".join(groups[i:j])
                bare = j - i == 1
                for key in keys:
                    if key in wanted and (bare or inner[0] in _SEPARATORS[key]):
                        match = _CHECKS[key](text, digits, start, end, bare)
                        if match is not None:
                            out.append(match)
                            found = True
                            break
                if found:
                    i = j
                    break
        if not found:
            i += 1


def _th(text, d, start, end, bare) -> Match | None:
    first, province = int(d[0]), int(d[1:3])
    if province not in _TH_PROVINCES or not th_checksum(d) or boring(d):
        return None
    keyword = _near(KEYWORDS["th-id"], text, start, end)
    if first == 0 and (not keyword or _near(_TH_COMPANY, text, start, end, 80)):
        return None  # a leading 0 is a company tax ID unless a personal-ID keyword says otherwise
    recent_epoch_ms = bare and _epoch_ms_recent(d)
    if recent_epoch_ms and _near(_TIME_CONTEXT, text, start, end, 40):
        return None  # an epoch-milliseconds timestamp in a log line or a record
    if first == 9:
        conf = 60 if keyword else 0
    elif recent_epoch_ms and not keyword:
        conf = LOW  # could be a timestamp: counted only by policies that accept low confidence
    else:
        conf = 85 if keyword else 75
    return Match("th-id", conf, start, end, mask(text[start:end])) if conf else None


def _my(text, d, start, end, bare) -> Match | None:
    if not my_valid(d) or boring(d) or not _near(KEYWORDS["my-mykad"], text, start, end):
        return None
    if bare and _clock(d) and _near(_TIME_CONTEXT, text, start, end, 40):
        return None  # YYMMDDhhmmss in time context
    return Match("my-mykad", 85 if not bare else 80, start, end, mask(text[start:end]))


_CARD_WORDS = re.compile(r"(?<![A-Za-z])(?:card|kartu\s+kredit|kartu\s+debit|credit|debit|visa|mastercard|"
                         r"amex|jcb|exp(?:iry|ires)?|cvv|cvc)(?![A-Za-z])", re.IGNORECASE)


def _id(text, d, start, end, bare) -> Match | None:
    if not id_valid(d) or boring(d):
        return None
    keyword = _near(KEYWORDS["id-ktp"], text, start, end)
    if not keyword:
        return None
    if looks_like_card(d):
        # About one NIK in ten passes Luhn with a card prefix: it stays a NIK only when a NIK label
        # is right before it and nothing around it speaks of cards.
        if KEYWORDS["id-ktp"].search(text, max(0, start - 40), start) is None or \
                _near(_CARD_WORDS, text, start, end, 60):
            return None
    kk = _KK.search(text, max(0, start - 80), start)
    if kk is not None and not KEYWORDS["id-ktp"].search(text, kk.end(), start):
        return None  # a family-card (KK) number: the KK label is the closest before it
    return Match("id-ktp", 85, start, end, mask(text[start:end]))


def _ph(text, d, start, end, bare) -> Match | None:
    if boring(d) or not _near(KEYWORDS["ph-umid"], text, start, end):
        return None
    return Match("ph-umid", 80 if bare else 85, start, end, mask(text[start:end]))


_CHECKS = {"th-id": _th, "my-mykad": _my, "id-ktp": _id, "ph-umid": _ph}
