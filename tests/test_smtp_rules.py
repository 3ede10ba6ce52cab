"""The listener's line-ending rule (RFC 5321 2.3.8) on any bytes."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from asyncos_cli.relay.listener import has_bare_cr_or_lf

#: The rule as written: a CR not followed by LF, or an LF not preceded by CR.
RULE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from([b"\r", b"\n", b"\r\n", b"a", b".", b"\r\r\n", b"\n\r"]), max_size=30).map(b"".join))
def test_the_fast_check_is_the_rule(data):
    assert has_bare_cr_or_lf(data) == bool(RULE.search(data))
