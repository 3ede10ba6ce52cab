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
    "overlapping zip bomb", "ratio zip bomb", "recursive nesting (12 levels)", "zip-slip names", "many members",
    "truncated PDF", "truncated docx", "truncated xls", "Office, ten million spins", "malformed MIME",
    "42.zip-style layers (128 MB)", "gzip bomb", "RAR archive",
])
def test_hostile_sample_is_a_verdict_within_the_memory_bound(hostile, label):
    result = measure(hostile[label])
    assert result["stages"], f"{label}: no unscannable or malformed verdict: {result}"
    assert result["mb"] <= MEMORY_BOUND_MB, f"{label}: {result['mb']:.0f} MB above the baseline"


def test_large_text_is_scanned_within_the_memory_bound(hostile):
    result = measure(hostile["8 MB of text"])
    assert result["mb"] <= MEMORY_BOUND_MB
