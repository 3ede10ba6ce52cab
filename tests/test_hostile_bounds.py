"""Every hostile sample gets a verdict (unscannable or malformed), in a process of its own, within the memory bound.

Time is printed by bench/hostile.py, not asserted here (no timing thresholds in tests).
"""

from __future__ import annotations

import pytest
from hostile import measure, samples

MEMORY_BOUND_MB = 256


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return samples(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("label", [
    "overlapping zip bomb", "ratio zip bomb", "recursive nesting (12 levels)", "many members",
    "truncated PDF", "truncated docx", "truncated xls", "Office, ten million spins", "malformed MIME",
    "42.zip-style layers (128 MB)", "gzip bomb", "RAR archive", "zip-slip names",
])
def test_hostile_sample_is_a_verdict_within_the_memory_bound(hostile, label):
    result = measure(hostile[label])
    assert result["stages"], f"{label}: no unscannable or malformed verdict: {result}"
    # A damaged attachment is that attachment's verdict, never the whole message's "unparsable MIME".
    assert not any("unparsable MIME" in s[2] for s in result["stages"]) or label == "malformed MIME", result
    assert result["mb"] <= MEMORY_BOUND_MB, f"{label}: {result['mb']:.0f} MB above the baseline"


def test_large_text_is_scanned_within_the_memory_bound(hostile):
    result = measure(hostile["8 MB of text"])
    assert result["mb"] <= MEMORY_BOUND_MB


def test_memory_a_message_may_use_is_capped_beyond_the_byte_budget():
    """With the expansion budget opened wide, the worker's memory cap for the message still stops a gzip bomb: the
    decoder's allocation fails and the attachment is unscannable, the worker lives on (#27)."""
    import gzip

    import corpus

    raw = corpus.mail(("zeros.gz", gzip.compress(bytes(200_000_000), 9), "application/gzip"))
    result = measure(raw, max_expanded_bytes=1024**3, max_ratio=100_000, max_memory_bytes=32 * 1024 * 1024,
                     max_seconds=60)
    reasons = [s[2] for s in result["stages"]]
    assert any("more than the 33554432 bytes of memory a message may use" in r for r in reasons), result
    assert result["mb"] <= 64, result
    wide = measure(raw, max_expanded_bytes=1024**3, max_ratio=100_000, max_memory_bytes=1024**3, max_seconds=60)
    assert not any("memory" in s[2] for s in wide["stages"])  # the cap, not something else, stopped it


def test_names_that_escape_are_reported_and_their_content_still_scanned(tmp_path):
    """A zip-slip archive is not skipped whole (a way to hide a payload): every member is scanned, the archive
    flagged with the names (#27)."""
    import corpus

    from scanning.message import parse

    raw = corpus.mail(("slip.zip", corpus.plain_zip({"../../etc/cron.d/evil": b"see http://evil.example.net/x\n",
                                                     "/abs/path": b"y", "ok.txt": b"fine"}),
                       "application/zip"))
    archive, *members = parse(raw).all_attachments()
    assert archive.unscannable is None
    assert archive.flags == ("member name escapes the archive: '../../etc/cron.d/evil'",
                             "member name escapes the archive: '/abs/path'")
    assert [m.filename for m in members] == ["../../etc/cron.d/evil", "/abs/path", "ok.txt"]
    assert members[0].urls == ("http://evil.example.net/x",)


def _patched_zip(local: dict[int, bytes], central: dict[int, bytes]) -> bytes:
    """One deflated member "a.txt", with bytes overwritten at offsets of its local header and its directory entry."""
    import corpus

    raw = bytearray(corpus.plain_zip({"a.txt": b"see http://hidden.example.net/x\n"}))
    cd = raw.rindex(b"PK\x01\x02")
    for offset, value in local.items():
        raw[offset:offset + len(value)] = value
    for offset, value in central.items():
        raw[cd + offset:cd + offset + len(value)] = value
    return bytes(raw)


@pytest.mark.parametrize("label, local, central, reason", [
    ("a CRC that lies in both headers", {14: b"\x00\x00\x00\x00"}, {16: b"\x00\x00\x00\x00"}, "cannot be read"),
    ("local sizes that differ from the directory's", {22: b"\x05\x00\x00\x00"}, {},
     "local header and directory disagree (sizes)"),
    ("a local compression method that differs", {8: b"\x00\x00"}, {}, "disagree (compression method)"),
    ("a local name that differs", {30: b"b"}, {}, "disagree (name)"),
])
def test_archives_that_lie_are_unscannable(label, local, central, reason):
    """Built byte by byte: a reader that trusts the local headers, or ignores the CRC, would unpack something
    other than what was scanned (#27)."""
    import corpus

    from scanning.message import parse

    (archive, *members) = parse(corpus.mail(("lie.zip", _patched_zip(local, central), "application/zip"))) \
        .all_attachments()
    assert archive.unscannable and reason in archive.unscannable, (label, archive.unscannable)
    assert members == []
