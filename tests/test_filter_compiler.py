"""Message filters are compiled once into callables; the compiled form keeps the language's meaning."""

from __future__ import annotations

from corpus import mail as _mail

from scanning.filters import Facts, parse_filters, run_filters
from scanning.message import parse
from scanning.pipeline import Envelope

SCRIPT = """
chain: if (subject == "^nothing") { log-entry("first"); }
       else if (mail-from == "@example\\\\.org$" AND NOT rcpt-to == "vip@") { insert-header("X-Chain", "$FilterName"); }
       else { log-entry("else"); } .
attach: if (attachment-filename == "\\\\.exe$" OR attachment-size > 10M) {
          drop-attachments-by-name("\\\\.exe$"); strip-header("X-Old"); notify("sec@example.com");
        } .
stop: if (true) { skip-filters(); log-entry("never"); } .
later: if (true) { quarantine("Policy"); } .
"""


def _facts(raw: bytes, sender: str = "a@example.org", rcpt: str = "b@example.com") -> Facts:
    return Facts(parse(raw), Envelope(sender, (rcpt,)), "DEFAULT", "gw.example.com")


def test_a_compiled_filter_is_a_callable_not_a_tree():
    filters = parse_filters(SCRIPT)
    assert [f.name for f in filters] == ["chain", "attach", "stop", "later"]
    assert all(callable(f.body) and type(f.body).__name__ == "function" for f in filters)


def test_else_if_chains_actions_and_skip_filters_keep_their_meaning():
    raw = _mail(("tool.exe", b"MZ" + b"\0" * 32, "application/octet-stream"), ("a.txt", b"x", "text/plain"),
                subject="hello")
    out = run_filters(parse_filters(SCRIPT), _facts(raw))
    # An else-if branch that matched counts as the filter matching; "stop" ends the run before "later".
    assert out.matched == ["chain", "attach", "stop"]
    assert out.add_headers == [("X-Chain", "chain")]
    assert [d["name"] for d in out.dropped_attachments] == ["tool.exe"]
    assert out.strip_headers == ["X-Old"] and out.notify == ["sec@example.com"]
    assert out.log_entries == [] and out.final is None


def test_the_else_branch_runs_but_does_not_count_as_a_match():
    raw = _mail(("a.txt", b"x", "text/plain"), subject="hello")
    out = run_filters(parse_filters(SCRIPT), _facts(raw, sender="a@other.example", rcpt="vip@example.com"))
    assert out.log_entries == ["else"] and "chain" not in out.matched
