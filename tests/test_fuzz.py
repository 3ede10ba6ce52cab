"""Fuzzing the message model and the filter grammar (hypothesis).

CI runs a bounded number of examples; ``FUZZ_EXAMPLES=20000 pytest
tests/test_fuzz.py`` (or ``bench/fuzz.sh``) runs a long campaign. Every input
that ever broke a contract is kept in REGRESSIONS below and runs every time.
"""

from __future__ import annotations

import os

from corpus import mail, nested_zip, pdf_with_link, plain_zip
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanning.extract.unlock import Unlocker
from scanning.filters import FilterError, parse_filters
from scanning.message import ParsedMessage, parse

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

SEEDS = [
    mail(("a.zip", plain_zip({"x.txt": b"hello", "y/z.html": b"<a href='http://a.example/'>x</a>"}),
          "application/zip"), ("b.pdf", pdf_with_link("text", "http://b.example/"), "application/pdf")),
    mail(("deep.zip", nested_zip(4), "application/zip"), body="password: abc123\n"),
    b"From: a@b\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n"
    b"--x\r\nContent-Disposition: attachment; filename*=utf-8''%E2%82%AC.txt\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--x--\r\n",
]

#: Inputs that once broke a contract (kept as regression tests; add new finds here).
REGRESSIONS: list[bytes] = [
    b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n\r\n--",
    b"Content-Type: text/plain; charset=\"no-such-charset\"\r\n\r\nbody",
    b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n",
]


def _mutate(seed: bytes, edits) -> bytes:
    data = bytearray(seed)
    for kind, pos, value in edits:
        if not data:
            break
        i = pos % len(data)
        if kind == 0:
            data[i] = value
        elif kind == 1:
            data.insert(i, value)
        elif kind == 2:
            del data[i:i + value % 64 + 1]
        else:
            data = data[:i]
    return bytes(data)


def _check(raw: bytes) -> None:
    msg = parse(raw, unlocker=Unlocker([("priority 0", "abc123")], 0.2), harvest=True)
    assert isinstance(msg, ParsedMessage)
    for a in msg.all_attachments():
        assert a.size >= 0 and (a.sha256 == "" or len(a.sha256) == 64)


@FUZZ
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10**6), st.integers(0, 255)),
                                        max_size=12))
def test_mutated_messages_never_break_the_parser(seed, edits):
    _check(_mutate(seed, edits))


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_never_break_the_parser(raw):
    _check(raw)


def test_regressions():
    for raw in REGRESSIONS:
        _check(raw)


_TOKENS = ["if", "else", "(", ")", "{", "}", ";", "AND", "OR", "NOT", "true", "subject", "==", "!=", "<", ">=",
           '"(?i)x"', "'unterminated", "12K", "-3.5", "log-entry", "drop", "header", "('X')", ",", ".", ":", "!",
           "attachment-size", "url-reputation(-10, -6)", "#c\n", "\n", "name", "$MID", '"["', "bogus-rule"]


@FUZZ
@given(st.lists(st.sampled_from(_TOKENS), max_size=30))
def test_filter_grammar_accepts_or_refuses_with_a_position(tokens):
    text = " ".join(tokens)
    try:
        parse_filters(text)
    except FilterError as e:
        assert str(e)


@FUZZ
@given(st.text(max_size=300))
def test_filter_grammar_on_any_text(text):
    try:
        parse_filters(text)
    except FilterError:
        pass
