"""The national ID classifiers against a labelled corpus built from the reference note's rules."""

from __future__ import annotations

import re

import dlp_corpus
import pytest

from scanning.dlp.classifiers import scan

TARGET = 0.99


@pytest.fixture(scope="module")
def corpus():
    return dlp_corpus.build(seed=1427, per_class=220)


def test_corpus_has_the_classes_the_issue_names(corpus):
    kinds = {}
    for case in corpus:
        kinds[case.kind] = kinds.get(case.kind, 0) + 1
    traps = [k for k in kinds if k.startswith(("near-miss", "trap"))]
    assert {"trap phone number", "trap epoch-ms timestamp", "trap YYMMDDhhmmss timestamp", "trap credit card",
            "trap family card (KK)", "trap company tax ID"} <= set(traps)
    assert all(kinds[k] >= 200 for k in traps), kinds


def test_precision_and_recall_per_classifier(corpus):
    stats = dlp_corpus.score(corpus, scan)
    report = {k: (round(s["precision"], 4), round(s["recall"], 4), s["tp"], s["fp"], s["fn"]) for k, s in stats.items()}
    for key, s in stats.items():
        examples = [(kind, c.kind, c.item) for kind, c in s["errors"][:5]]
        assert s["precision"] >= TARGET and s["recall"] >= TARGET, (key, report[key], examples)
        assert s["tp"] >= 200, (key, report[key])


def test_generated_thai_and_malaysian_numbers_agree_with_python_stdnum(corpus):
    from stdnum.my import nric
    from stdnum.th import pin

    checked = 0
    for case in corpus:
        digits = re.sub(r"\D", "", case.item)
        if case.kind.startswith("valid th-id"):
            assert pin.is_valid(digits), case.item
            checked += 1
        elif case.kind.startswith("valid my-mykad"):
            assert nric.is_valid(digits), case.item
            checked += 1
        elif case.kind == "near-miss th-id check digit":
            assert not pin.is_valid(digits), case.item
        elif case.kind == "near-miss my-mykad date":
            assert not nric.is_valid(digits), case.item
    assert checked >= 600


@pytest.mark.parametrize("text, key", [
    ("NRIC S1234567D", "sg-nric"), ("FIN T0312345B", "sg-nric"), ("FIN M5012345J", "sg-nric"),
    ("Thai ID 1-1015-56789-01-4", "th-id"), ("Thai ID 3-5099-00012-34-8", "th-id"), ("Thai ID 8-1002-00123-45-3", "th-id"),
    ("IC No 850315-10-5123", "my-mykad"), ("IC No 000229-14-0482", "my-mykad"), ("IC No 991231-66-7775", "my-mykad"),
    ("NIK 3174051503850002", "id-ktp"), ("NIK 3273015708920001", "id-ktp"), ("NIK 6571024112000007", "id-ktp"),
    ("UMID 0111-2345678-9", "ph-umid"), ("UMID 0028-7654321-0", "ph-umid"), ("UMID 0100-1357913-4", "ph-umid"),
])
def test_the_reference_notes_valid_examples(text, key):
    assert [m.classifier for m in scan(text)] == [key]


@pytest.mark.parametrize("text", [
    "NRIC S1234567A", "NRIC T1234567D", "FIN M5012345M",
    "Thai ID 1-1015-56789-01-5", "Thai ID 3-5099-00012-38-4", "Thai ID 1-2810-00123-45-2",
    "IC No 850231-10-5123", "IC No 850315-17-5123", "IC No 850315-70-5123",
    "NIK 3174053203850002", "NIK 3174051513850002", "NIK 3174051503850000",
    "UMID 34-1234567-8", "UMID 1234-5678-9012", "UMID 0111-23456789-0",
])
def test_the_reference_notes_near_misses(text):
    assert scan(text) == []


def test_matches_are_masked_and_keep_their_position():
    text = "Thai ID 1-1015-56789-01-4 and NRIC S1234567D"
    found = scan(text)
    assert [m.masked for m in found] == ["*-****-****9-01-4", "*****567D"]
    assert text[found[0].start:found[0].end] == "1-1015-56789-01-4"
    assert all("1015" not in m.masked and "1234" not in m.masked for m in found)


def test_numbers_are_not_sliced_out_of_longer_ones():
    assert scan("IBAN NIK 31-74-05-150385-0002-77") == []
    assert scan("Card 4111-1111-1111-1111-1111 NRIC") == []
    assert scan("ref S1234567DX, xS1234567D") == []


def test_the_keyword_automaton_finds_every_occurrence():
    """The C automaton against a brute-force search, on words that overlap and share prefixes."""
    import random

    from scanning.dlp import keywords

    words = ["ic", "ic no", "nric", "kp", "k/p", "no. k/p", "he", "she", "hers", "เลขบัตรประชาชน", "บัตรประชาชน",
             "身份证", "nik", "ktp", "e-ktp"]
    finder = keywords.WordFinder(words)
    rng = random.Random(4)
    alphabet = list("icnorkp/. hesขบัตรประชาชนเล身份证t-")
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        expected = sorted((i, w) for w in words for i in range(len(text)) if text.startswith(w, i))
        found = sorted(finder.find(text))
        if keywords.IMPLEMENTATION == "C":
            assert found == expected, text
        else:  # the regular expression fallback finds non-overlapping occurrences
            assert set(found) <= set(expected)


def test_the_regular_expression_fallback_finds_the_words_too(monkeypatch):
    from scanning.dlp import keywords

    monkeypatch.setattr(keywords, "Automaton", None)
    finder = keywords.WordFinder(["ic no", "ic", "บัตรประชาชน"])
    assert finder.find("my ic no: 1, บัตรประชาชน") == [(3, "ic no"), (13, "บัตรประชาชน")]


def test_ids_written_in_other_digits_and_spaces_are_found_and_masked_as_written():
    """Full-width, Arabic-Indic and Thai digits, no-break and thin spaces are folded before matching (#27)."""
    from scanning.dlp.classifiers import scan

    thai_id = "1-1015-56789-01-4"
    thai = "".join(chr(0x0E50 + int(c)) if c.isdigit() else c for c in thai_id)
    arabic = "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in thai_id)
    cases = [
        ("Employee NRIC Ｓ１２３４５６７Ｄ, please update.", "sg-nric", "*****５６７Ｄ"),
        (f"เลขประจำตัวประชาชน {thai}", "th-id", "*-****-****๙-๐๑-๔"),
        (f"Thai ID {arabic}", "th-id", "*-****-****٩-٠١-٤"),
        ("IC No 850315\u00a010\u00a05123", "my-mykad", "******\u00a0**\u00a05123"),
        ("IC No 850315\u202f10\u202f5123", "my-mykad", "******\u202f**\u202f5123"),
        ("IC No 850315\u201110\u20115123", "my-mykad", "******\u2011**\u20115123"),
    ]
    for text, key, masked in cases:
        found = scan(text)
        assert [(m.classifier, m.masked) for m in found] == [(key, masked)], text
        m = found[0]
        assert text[m.start:m.end].endswith(masked[-4:])  # the position is the original text's


def test_an_id_inside_a_url_is_part_of_the_link_not_a_match():
    from scanning.dlp.classifiers import scan

    assert scan("see https://hr.example.com/staff/S1234567D/profile") == []
    assert scan("open www.example.com/?nric=S1234567D now") == []
    assert [m.classifier for m in scan("NRIC S1234567D, profile at https://hr.example.com/staff")] == ["sg-nric"]


def test_a_card_number_beside_a_nik_keyword_is_a_card():
    """A Luhn-valid number with a card prefix, written bare or in fours, is a card even after "NIK" (#27); a NIK
    that is no card stays a NIK."""
    for text in ("NIK: 5210061112890014", "NIK 5210 0611 1289 0014", "Kartu kredit 4111111111111111"):
        assert [m.classifier for m in scan(text)] == ["credit-card"], text
    assert [m.classifier for m in scan("NIK: 5210061112890003")] == ["id-ktp"]
    assert scan("NIK: 5210061112890014", wanted=("id-ktp",)) == []  # not reported as a NIK either way
    assert [m.masked for m in scan("Card 3782 822463 10005")] == ["**** ****** *0005"]


def test_a_bare_mykad_that_reads_as_a_time_scores_lower():
    """YYMMDDhhmmss passes every MyKad check: without time words it is still a match, but a weaker one (#27)."""
    def confidence(text):
        found = scan(text, wanted=("my-mykad",))
        return found[0].confidence if found else None

    grouped, bare = confidence("IC No 850315-10-5123"), confidence("IC No 850315875123")
    clock_labelled = confidence("IC No 241204153045")
    clock_far = confidence("IC No is on the form. Reference number of the request 241204153045.")
    assert grouped > bare > clock_labelled > clock_far
    assert confidence("log timestamp 241204153045 job done, IC No") is None


def test_the_c_pass_over_runs_of_digits_finds_exactly_what_the_pattern_finds_in_the_whole_text():
    """The candidate pattern runs only over the spans scanning.dlp._runs finds (#27: 100 MB/s on mail-like
    text): on random text in every string width, dense with digits and separators, the matches are identical."""
    import random

    from scanning.dlp import classifiers as C

    assert C.number_runs is not None, "scanning.dlp._runs was not built (pip install -e . builds it)"
    rng = random.Random(11)
    for extra in ("x", "é", "ก", "😀"):
        alphabet = list("0123456789 .-SFTGMsA\n_,") + [extra] * 2
        for _ in range(1500):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 600)))
            whole = [(m.span(), m.lastgroup) for m in C._CANDIDATE.finditer(text)]
            assert [(m.span(), m.lastgroup) for m in C._candidates(text)] == whole, text
