"""A labelled corpus for the DLP classifiers, generated from the rules in the reference note
(../shared/reference/dlp-national-ids.md), written out again here, independently of scanning/dlp.

Every case is a short document with one item in it and the label that item
must get: a classifier key, or None (a near miss or a trap that must not
match). ``score`` counts precision and recall per classifier, per ID
occurrence.
"""

from __future__ import annotations

import datetime
import random
import re
from dataclasses import dataclass

# ---------------------------------------------------------------- the rules, from the reference note

SG_TABLE = {"S": "JZIHGFEDCBA", "T": "JZIHGFEDCBA", "F": "XWUTRQPNMLK", "G": "XWUTRQPNMLK", "M": "XWUTRQPNJLK"}
SG_OFFSET = {"S": 0, "T": 4, "F": 0, "G": 4, "M": 3}
TH_PROVINCES = [*range(10, 28), *range(30, 59), *range(60, 68), *range(70, 78), *range(80, 87), *range(90, 97)]
TH_UNASSIGNED = [p for p in range(10, 100) if p not in TH_PROVINCES]
MY_PB_VALID = [p for p in range(100) if p not in {0, 17, 18, 19, 20, 69, 70, 73, 80, 81, 94, 95, 96, 97}]
MY_PB_INVALID = [0, 17, 18, 19, 20, 69, 70, 73, 80, 81, 94, 95, 96, 97]
ID_PROVINCES = [*range(11, 20), 21, *range(31, 37), 51, 52, 53, *range(61, 66), *range(71, 77), 81, 82,
                *range(91, 97)]
ID_NOT_PROVINCES = [p for p in range(10, 100) if p not in ID_PROVINCES]


def sg_number(rng, prefix=None, wrong=False) -> str:
    prefix = prefix or rng.choice("STFGM")
    digits = [rng.randrange(10) for _ in range(7)]
    r = (sum(w * d for w, d in zip((2, 7, 6, 5, 4, 3, 2), digits)) + SG_OFFSET[prefix]) % 11
    letter = SG_TABLE[prefix][r]
    if wrong:
        letter = rng.choice([c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c != letter])
    return prefix + "".join(map(str, digits)) + letter


def th_digits(rng, first=None, province=None, wrong=False) -> str:
    d = [first if first is not None else rng.randint(1, 8)]
    p = province if province is not None else rng.choice(TH_PROVINCES)
    d += [p // 10, p % 10] + [rng.randrange(10) for _ in range(9)]
    s = sum((13 - i) * d[i] for i in range(12))
    check = (11 - s % 11) % 10
    if wrong:
        check = (check + rng.randint(1, 9)) % 10
    return "".join(map(str, d + [check]))


def th_written(rng, d: str) -> str:
    style = rng.choice(["bare", "-", " "])
    if style == "bare":
        return d
    return style.join([d[0], d[1:5], d[5:10], d[10:12], d[12]])


def random_date(rng) -> datetime.date:
    return datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 70))


def my_digits(rng, pb=None, bad_date=False) -> str:
    d = random_date(rng)
    yymmdd = d.strftime("%y%m%d")
    if bad_date:
        yymmdd = rng.choice([f"{d:%y}02{rng.randint(30, 31)}", f"{d:%y}{rng.randint(13, 19)}{d:%d}",
                             f"{d:%y}04{31}", f"{d:%y}{d:%m}{rng.randint(32, 39)}"])
    pb = pb if pb is not None else rng.choice(MY_PB_VALID)
    return f"{yymmdd}{pb:02d}{rng.randrange(1000):03d}{rng.randrange(10)}"


def my_written(rng, d: str) -> str:
    style = rng.choice(["bare", "-", "-", " "])
    return d if style == "bare" else style.join([d[:6], d[6:8], d[8:]])


def id_digits(rng, province=None, day_shift=None, month=None, serial=None) -> str:
    p = province if province is not None else rng.choice(ID_PROVINCES)
    regency = rng.choice([*range(1, 70), *range(71, 100)])
    district = rng.randint(1, 40)
    d = random_date(rng)
    day = d.day + (40 if rng.random() < 0.5 else 0) if day_shift is None else day_shift
    mm = d.month if month is None else month
    sn = rng.randint(1, 9999) if serial is None else serial
    return f"{p:02d}{regency:02d}{district:02d}{day:02d}{mm:02d}{d:%y}{sn:04d}"


def id_written(rng, d: str) -> str:
    style = rng.choice(["bare", "bare", ".", " ", "-"])
    return d if style == "bare" else style.join([d[0:2], d[2:4], d[4:6], d[6:12], d[12:]])


def ph_digits(rng) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(12))


def luhn_complete(rng, prefix: str, length: int = 16) -> str:
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, c in enumerate(reversed(body)):
        n = int(c)
        if i % 2 == 0:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return body + str((10 - total % 10) % 10)


# ---------------------------------------------------------------- text around the items

FILLER = {
    "en": ["Please find the details of the applicant below.", "Kind regards, the HR team.",
           "The document was reviewed on Monday and approved.", "Contact us if anything is unclear."],
    "th": ["กรุณาตรวจสอบข้อมูลของผู้สมัครด้านล่าง", "ขอบคุณที่ใช้บริการของเรา", "เอกสารนี้ได้รับการอนุมัติแล้ว"],
    "ms": ["Sila semak maklumat pemohon di bawah.", "Terima kasih atas kerjasama anda.", "Dokumen telah diluluskan."],
    "id": ["Mohon periksa data pemohon di bawah ini.", "Terima kasih atas perhatiannya.", "Dokumen sudah disetujui."],
    "fil": ["Pakisuri ang impormasyon ng aplikante sa ibaba.", "Salamat po sa inyong tulong."],
    "zh": ["请查看以下申请人的资料。", "谢谢您的合作。"],
}

KEYWORD_PHRASES = {
    "sg-nric": [("en", "NRIC No.: {}"), ("en", "FIN {}"), ("zh", "身份证号码 {}"), ("en", "Identity Card Number: {}")],
    "th-id": [("en", "Thai ID: {}"), ("th", "เลขประจำตัวประชาชน {}"), ("th", "เลขบัตรประชาชน: {}"),
              ("en", "citizen ID {}"), ("th", "บัตรประจำตัวประชาชนเลขที่{}")],
    "my-mykad": [("en", "IC No: {}"), ("ms", "No. Kad Pengenalan: {}"), ("ms", "MyKad {}"), ("en", "NRIC {}"),
                 ("ms", "No. K/P {}")],
    "id-ktp": [("id", "NIK: {}"), ("id", "No. KTP {}"), ("id", "Nomor Induk Kependudukan {}"),
               ("en", "KTP number {}"), ("id", "e-KTP: {}")],
    "ph-umid": [("en", "UMID CRN: {}"), ("fil", "Pinag-isang Multi-Layunin ID: {}"), ("en", "Common Reference "
                "Number {}"), ("en", "UMID No. {}")],
}
PLAIN_PHRASES = [("en", "Reference: {}"), ("en", "Number {} on file."), ("th", "หมายเลข {}"), ("ms", "Nombor: {}"),
                 ("id", "Nomor {}"), ("en", "{}")]


@dataclass(frozen=True)
class Case:
    kind: str  # what was generated: "valid sg-nric", "near-miss ...", "trap ..."
    label: str | None  # the classifier that must match, or None
    text: str
    item: str  # the ID-like string inside text


def _doc(rng, lang: str, phrase: str, item: str) -> str:
    before = " ".join(rng.sample(FILLER[lang], min(2, len(FILLER[lang]))))
    after = rng.choice(FILLER["en"])
    return f"{before}\n{phrase.format(item)}\n{after}"


_CARD_PREFIXES = ("4", "51", "52", "53", "54", "55", "22", "23", "24", "25", "26", "27", "34", "37", "6011", "65", "35")


def is_card(digits: str) -> bool:
    """A payment card number: 15 or 16 digits, an issuer prefix, and the Luhn check (ISO/IEC 7812)."""
    if len(digits) not in (15, 16) or not digits.startswith(_CARD_PREFIXES):
        return False
    total = sum(int(c) if i % 2 == 0 else (2 * int(c) - 9 if int(c) > 4 else 2 * int(c))
                for i, c in enumerate(reversed(digits)))
    return total % 10 == 0


def _case(rng, kind, label, item, keyword_for=None, phrases=None):
    lang, phrase = rng.choice(phrases or (KEYWORD_PHRASES[keyword_for] if keyword_for else PLAIN_PHRASES))
    if re.fullmatch(r"\d{15,16}|\d{4}([ -])\d{4}\1\d{4}\1\d{4}", item) and is_card(re.sub(r"\D", "", item)):
        label = "credit-card"  # about one bare NIK in ten is also a valid card: a card it is, by rule
    return Case(kind, label, _doc(rng, lang if lang in FILLER else "en", phrase, item), item)


def build(seed: int = 1427, per_class: int = 220) -> list[Case]:
    rng = random.Random(seed)
    cases: list[Case] = []
    n = per_class
    # Valid IDs in every written format, with keywords (every classifier) and without (checksum types).
    for _ in range(n):
        cases.append(_case(rng, "valid sg-nric + keyword", "sg-nric", sg_number(rng), "sg-nric"))
        cases.append(_case(rng, "valid sg-nric", "sg-nric", sg_number(rng).lower() if rng.random() < 0.1
                           else sg_number(rng)))
        cases.append(_case(rng, "valid th-id + keyword", "th-id", th_written(rng, th_digits(rng)), "th-id"))
        cases.append(_case(rng, "valid th-id", "th-id", th_written(rng, th_digits(rng))))
        cases.append(_case(rng, "valid my-mykad + keyword", "my-mykad", my_written(rng, my_digits(rng)), "my-mykad"))
        cases.append(_case(rng, "valid id-ktp + keyword", "id-ktp", id_written(rng, id_digits(rng)), "id-ktp"))
        crn = ph_digits(rng)
        cases.append(_case(rng, "valid ph-umid + keyword", "ph-umid",
                           f"{crn[:4]}-{crn[4:11]}-{crn[11]}" if rng.random() < 0.8 else crn, "ph-umid"))
        # No-checksum IDs without a keyword: by rule, no match.
        cases.append(_case(rng, "my-mykad without keyword", None, my_written(rng, my_digits(rng))))
        cases.append(_case(rng, "id-ktp without keyword", None, id_written(rng, id_digits(rng))))
    # Near misses (keywords present: the hard case).
    for _ in range(n):
        cases.append(_case(rng, "near-miss sg-nric check letter", None, sg_number(rng, wrong=True), "sg-nric"))
        cases.append(_case(rng, "near-miss th-id check digit", None, th_written(rng, th_digits(rng, wrong=True)),
                           "th-id"))
        cases.append(_case(rng, "near-miss th-id province", None,
                           th_written(rng, th_digits(rng, province=rng.choice(TH_UNASSIGNED))), "th-id"))
        cases.append(_case(rng, "near-miss my-mykad date", None, my_written(rng, my_digits(rng, bad_date=True)),
                           "my-mykad"))
        cases.append(_case(rng, "near-miss my-mykad place of birth", None,
                           my_written(rng, my_digits(rng, pb=rng.choice(MY_PB_INVALID))), "my-mykad"))
        bad_day = rng.choice([0, *range(32, 41), *range(72, 100)])
        cases.append(_case(rng, "near-miss id-ktp day", None, id_written(rng, id_digits(rng, day_shift=bad_day)),
                           "id-ktp"))
        cases.append(_case(rng, "near-miss id-ktp month", None,
                           id_written(rng, id_digits(rng, month=rng.choice([0, 13, 14, 19, 21, 99]))), "id-ktp"))
        cases.append(_case(rng, "near-miss id-ktp serial 0000", None, id_written(rng, id_digits(rng, serial=0)),
                           "id-ktp"))
        cases.append(_case(rng, "near-miss id-ktp province", None,
                           id_written(rng, id_digits(rng, province=rng.choice(ID_NOT_PROVINCES))), "id-ktp"))
        sss = ph_digits(rng)[:10]
        cases.append(_case(rng, "near-miss ph-umid SSS 2-7-1", None, f"{sss[:2]}-{sss[2:9]}-{sss[9]}", "ph-umid"))
        pcn = ph_digits(rng)
        cases.append(_case(rng, "near-miss ph-umid 4-4-4", None, f"{pcn[:4]}-{pcn[4:8]}-{pcn[8:]}", "ph-umid"))
        long = ph_digits(rng) + str(rng.randrange(10))
        cases.append(_case(rng, "near-miss ph-umid 4-8-1", None, f"{long[:4]}-{long[4:12]}-{long[12]}", "ph-umid"))
    # Traps.
    for _ in range(n):
        phone = rng.choice([f"+66 8{rng.randint(1, 9)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                            f"08{rng.randint(1, 9)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                            f"+60 1{rng.randint(0, 9)}-{rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                            f"601{rng.randint(10000000, 99999999)}",
                            f"+62 8{rng.randint(11, 99)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
                            f"08{rng.randint(1000000000, 9999999999)}",
                            f"+63 9{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                            f"+65 {rng.choice('89')}{rng.randint(100, 999)} {rng.randint(1000, 9999)}"])
        cases.append(_case(rng, "trap phone number", None, phone,
                           phrases=[("en", "Call me at {} tomorrow."), ("en", "Mobile: {}"), ("th", "โทร {}")]))
        now_ms = int(datetime.datetime.now().timestamp() * 1000)
        ts = str(now_ms + rng.randint(-3 * 365 * 86400 * 1000, 365 * 86400 * 1000))
        cases.append(_case(rng, "trap epoch-ms timestamp", None, ts,
                           phrases=[("en", "ts={} level=info msg=ok"), ("en", '{{"timestamp": {}}}'),
                                    ("en", "created_at {} by the scheduler")]))
        t = datetime.datetime(2000, 1, 1) + datetime.timedelta(seconds=rng.randrange(26 * 365 * 86400))
        cases.append(_case(rng, "trap YYMMDDhhmmss timestamp", None, t.strftime("%y%m%d%H%M%S"),
                           phrases=[("en", "time={} status=200"), ("en", "log ts {} job done"),
                                    ("ms", "Masa: timestamp {}")]))
        card = luhn_complete(rng, rng.choice(["4", "51", "52", "53", "54", "55", "2221", "6011"]))
        cases.append(_case(rng, "trap credit card", "credit-card", card if rng.random() < 0.7 else
                           " ".join(card[i:i + 4] for i in range(0, 16, 4)),
                           phrases=[("en", "Card number {} exp 12/29"), ("id", "Kartu kredit {} (KTP terlampir)"),
                                    ("en", "Paid with {}"), ("id", "NIK: {}")]))
        kk = id_digits(rng)[:6] + f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{rng.randint(0, 25):02d}" \
            f"{rng.randint(1, 9999):04d}"
        cases.append(_case(rng, "trap family card (KK)", None, kk,
                           phrases=[("id", "No. KK: {}"), ("id", "Nomor Kartu Keluarga {}"),
                                    ("id", "Kartu Keluarga {}")]))
        tin = th_digits(rng, first=0)
        cases.append(_case(rng, "trap company tax ID", None,
                           "-".join([tin[0], tin[1:3], tin[3], tin[4:7], tin[7:12], tin[12]]) if rng.random() < 0.5
                           else tin, phrases=[("en", "Company tax ID {}"), ("th", "เลขประจำตัวผู้เสียภาษีนิติบุคคล {}"),
                                              ("en", "Juristic person {}")]))
    rng.shuffle(cases)
    return cases


def score(cases: list[Case], scan) -> dict[str, dict]:
    """Per classifier: true and false positives and negatives, precision and recall, counted per occurrence."""
    stats: dict[str, dict] = {}
    for key in ("sg-nric", "th-id", "my-mykad", "id-ktp", "ph-umid", "credit-card"):
        stats[key] = {"tp": 0, "fp": 0, "fn": 0, "errors": []}
    for case in cases:
        start = case.text.index(case.item)
        end = start + len(case.item)
        found = [m for m in scan(case.text) if m.start < end and m.end > start]
        keys = {m.classifier for m in found}
        if case.label is not None:
            if case.label in keys:
                stats[case.label]["tp"] += 1
            else:
                stats[case.label]["fn"] += 1
                stats[case.label]["errors"].append(("missed", case))
        for key in keys - ({case.label} if case.label else set()):
            stats[key]["fp"] += 1
            stats[key]["errors"].append(("false", case))
    for s in stats.values():
        s["precision"] = s["tp"] / (s["tp"] + s["fp"]) if s["tp"] + s["fp"] else 1.0
        s["recall"] = s["tp"] / (s["tp"] + s["fn"]) if s["tp"] + s["fn"] else 1.0
    return stats
