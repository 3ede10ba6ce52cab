"""The DKIM verifier process beside the relay's loop: same answers as verifying in the relay, and a process that
dies or hangs never costs a message its verification."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from asyncos_cli.config.schema import DkimVerificationProfile
from asyncos_cli.relay import dkimverifier
from asyncos_cli.relay.dkimcheck import key_names
from asyncos_cli.relay.dkimverifier import DkimVerifier
from scanning import dkim

#: The DEFAULT verification profile's limits, as the relay sends them.
LIMITS = DkimVerificationProfile("DEFAULT").limits()
MESSAGE = (b"From: Alice <alice@example.org>\r\nTo: bob@example.com\r\nSubject: hello\r\n"
           b"Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n\r\nBody text  with\tspaces \r\n")


@pytest.fixture(scope="module")
def signed():
    """A message signed twice (RSA and ed25519) and the two key records by their DNS names."""
    rsa, ed = dkim.generate("rsa", 2048), dkim.generate("ed25519")
    headers = ("From", "To", "Subject", "Date")
    message = (dkim.sign(MESSAGE, "example.org", "ed", "ed25519", ed, headers, "relaxed/relaxed")
               + dkim.sign(MESSAGE, "example.org", "rsa", "rsa", rsa, headers, "simple/simple") + MESSAGE)
    keys = {"ed._domainkey.example.org": dkim.public_record("ed25519", ed).encode(),
            "rsa._domainkey.example.org": dkim.public_record("rsa", rsa).encode()}
    return message, keys


def _with_verifier(scenario):
    """``scenario(verifier)`` on a fresh event loop and verifier, the verifier stopped afterwards."""

    async def main():
        verifier = DkimVerifier()
        try:
            return await scenario(verifier)
        finally:
            verifier.close()

    return asyncio.run(main())


def _in_relay(message: bytes, keys: dict) -> tuple:
    return tuple(dkim.verify(message, lambda name: keys.get(name.lower().rstrip("."), b""), 5, 1024))


def test_the_process_answers_as_the_relay_would(signed):
    message, keys = signed
    changed = message.replace(b"Body text", b"Body test")

    async def scenario(verifier):
        # Many at once from the start (one process started for them all), pipelined over the one
        # connection: each answer reaches its own session.
        many = await asyncio.gather(*(verifier.verify(m, keys, LIMITS) for m in [message, changed] * 20))
        good = await verifier.verify(message, keys, LIMITS)
        bad = await verifier.verify(changed, keys, LIMITS)
        return good, bad, many, (verifier.verified, verifier.started)

    good, bad, many, verified = _with_verifier(scenario)
    assert [r.result for r in good] == ["pass", "pass"]
    assert good == _in_relay(message, keys)
    assert [r.result for r in bad] == ["fail", "fail"] and bad == _in_relay(changed, keys)
    assert many == [good, bad] * 20 and verified == (42, 1)


def test_requests_made_while_a_batch_is_in_flight_go_together_when_it_is_answered(signed):
    message, keys = signed
    changed = message.replace(b"Body text", b"Body test")

    async def scenario(verifier):
        assert await verifier.verify(message, keys, LIMITS)
        os.kill(verifier._proc.pid, signal.SIGSTOP)  # the next request stays in flight
        first = asyncio.ensure_future(verifier.verify(changed, keys, LIMITS))
        await asyncio.sleep(0.2)
        rest = [asyncio.ensure_future(verifier.verify(m, keys, LIMITS)) for m in [message, changed] * 5]
        await asyncio.sleep(0.2)
        writes_while_stopped = verifier.writes
        os.kill(verifier._proc.pid, signal.SIGCONT)
        answers = await asyncio.wait_for(asyncio.gather(first, *rest), 20)
        return writes_while_stopped, verifier.writes, answers, verifier.state()

    writes_while_stopped, writes, answers, state = _with_verifier(scenario)
    assert writes_while_stopped == 2  # the first message's write and the one in flight: the ten wait
    assert writes == 3  # the ten in one write, once the one in flight was answered
    assert answers == [_in_relay(changed, keys)] + [_in_relay(m, keys) for m in [message, changed] * 5]
    assert "12 messages verified, the requests sent in 3 writes" in state


def test_requests_a_moment_apart_share_a_write_and_a_full_batch_goes_at_once(signed, monkeypatch):
    message, keys = signed
    monkeypatch.setattr(dkimverifier, "GATHER_SECONDS", 0.3)
    monkeypatch.setattr(dkimverifier, "GATHER_MESSAGES", 4)

    async def scenario(verifier):
        assert await verifier.verify(message, keys, LIMITS)
        before = verifier.writes
        spaced = []
        for _ in range(3):  # 0.05 s apart, all inside the gathering time
            spaced.append(asyncio.ensure_future(verifier.verify(message, keys, LIMITS)))
            await asyncio.sleep(0.05)
        assert verifier.writes == before  # still gathering
        await asyncio.gather(*spaced)
        spaced_writes = verifier.writes - before
        before = verifier.writes
        burst = [asyncio.ensure_future(verifier.verify(message, keys, LIMITS)) for _ in range(5)]
        await asyncio.sleep(0)  # each session runs to its await: four fill a batch, written at once
        burst_first = verifier.writes - before
        answers = await asyncio.gather(*burst)
        return spaced_writes, burst_first, verifier.writes - before, answers

    spaced_writes, burst_first, burst_writes, answers = _with_verifier(scenario)
    assert spaced_writes == 1 and burst_first == 1
    assert burst_writes == 2  # the fifth went when the four were answered
    assert answers == [_in_relay(message, keys)] * 5


def test_key_names_are_the_ones_dkimpy_asks_for(signed):
    message, keys = signed
    head = message.split(b"\r\n\r\n", 1)[0]
    asked = []
    dkim.verify(message, lambda name: asked.append(name.lower().rstrip(".")) or keys[asked[-1]], 5, 1024)
    assert key_names(head, 5) == asked == ["ed._domainkey.example.org", "rsa._domainkey.example.org"]
    assert key_names(head, 1) == asked[:1]
    folded = head.replace(b"; s=rsa;", b";\r\n\ts = RSA ;")
    assert "rsa._domainkey.example.org" in key_names(folded, 5)


def test_a_key_not_given_sends_the_message_back_to_the_relay(signed):
    message, keys = signed

    async def scenario(verifier):
        return await verifier.verify(message, {"ed._domainkey.example.org": keys["ed._domainkey.example.org"]},
                                     LIMITS)

    assert _with_verifier(scenario) is None


def test_a_dead_process_leaves_the_waiting_to_the_relay_and_is_started_again(signed, monkeypatch):
    message, keys = signed
    monkeypatch.setattr(dkimverifier, "RESTART_AFTER", 0.0)

    async def scenario(verifier):
        assert await verifier.verify(message, keys, LIMITS)
        os.kill(verifier._proc.pid, signal.SIGSTOP)  # it takes the next request but never answers it
        waiting = asyncio.ensure_future(verifier.verify(message, keys, LIMITS))
        await asyncio.sleep(0.2)
        os.kill(verifier._proc.pid, signal.SIGKILL)
        lost = await asyncio.wait_for(waiting, 20)
        again = await verifier.verify(message, keys, LIMITS)
        return lost, again, verifier.started

    lost, again, started = _with_verifier(scenario)
    assert lost is None  # the session that waited verifies the message itself
    assert [r.result for r in again] == ["pass", "pass"] and started == 2


def test_a_hung_process_gives_a_temperror_and_is_replaced(signed, monkeypatch):
    message, keys = signed
    monkeypatch.setattr(dkimverifier, "TIMEOUT", 1.0)

    async def scenario(verifier):
        await verifier.verify(message, keys, LIMITS)
        pid = verifier._proc.pid
        os.kill(pid, signal.SIGSTOP)
        hung = await verifier.verify(message, keys, LIMITS)
        gone = not os.path.exists(f"/proc/{pid}")  # stopped and reaped, not left behind
        return hung, gone, await verifier.verify(message, keys, LIMITS)

    hung, gone, after = _with_verifier(scenario)
    assert [(r.result, r.reason) for r in hung] == [("temperror", "verification timed out")]
    assert gone and [r.result for r in after] == ["pass", "pass"]


def test_dkimpy_shortcuts_give_dkimpy_answers():
    """scanning.dkim replaces dkimpy's b= regex, guards its canonicalisation regexes with cheap checks, splits
    only the head of a CRLF message and parses tag lists without a regex lookup per tag: on generated inputs
    each gives exactly what dkimpy's own does (the same value, or the same error)."""
    import re

    import dkim as dkimpy
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from scanning import dkim as ours

    original_btag = re.compile(rb"([;\s]b" + dkimpy.FWS + rb"=)(?:" + dkimpy.FWS + rb"[a-zA-Z0-9+/=])*(?:\r?\n\Z)?")
    text = st.lists(st.sampled_from([b"b", b"=", b";", b" ", b"\t", b"\r", b"\n", b"\r\n", b"h", b"A", b"/", b"x",
                                     b"b=", b"; b=", b"  "]), max_size=30).map(b"".join)

    @settings(max_examples=4000, deadline=None)
    @given(text)
    def same(value):
        assert dkimpy.RE_BTAG.sub(b"\\1", value) == original_btag.sub(b"\\1", value)
        assert ours._compress(value) == ours._compress_whitespace(value)
        assert ours._strip_trailing(value) == ours._strip_trailing_whitespace(value)
        assert ours._unfold(value) == ours._unfold_header_value(value)

    same()

    def outcome(function, value):
        try:
            return function(value)
        except Exception as e:  # the same error, with the same words
            return type(e), str(e)

    message = st.lists(st.sampled_from([b"\r\n", b"\n", b"\r", b"From ", b"From: a", b"To", b":", b" ", b"\t", b"x",
                                        b"\r\n\r\n", b"Subject: hi\r\n", b"\x7f", b"body"]), max_size=30).map(b"".join)
    tags = st.lists(st.sampled_from([b"v", b"=", b";", b" ", b"a", b"1", b"_", b"b", b"h=from:to", b"\t", b"=="]),
                    max_size=20).map(b"".join)

    @settings(max_examples=1500, deadline=None)
    @given(message, tags)
    def parsed_alike(value, tag_list):
        assert outcome(ours._rfc822, value) == outcome(ours._rfc822_parse, value)
        assert outcome(ours._parse_tag_value, tag_list) == outcome(dkimpy.util.parse_tag_value, tag_list)

    parsed_alike()


def test_a_key_parsed_once_is_still_the_key_published(signed):
    """The parsed-key cache goes by the record's text: a selector republished with another key is that key."""
    message, keys = signed
    other = dkim.public_record("rsa", dkim.generate("rsa", 2048)).encode()
    published = keys["rsa._domainkey.example.org"]
    for record, expected in [(published, "pass"), (other, "fail"), (b"v=DKIM1; p=AAAA", "permerror"),
                             (published, "pass")]:
        results = dkim.verify(message, lambda name: {**keys, "rsa._domainkey.example.org": record}[
            name.lower().rstrip(".")], 5, 1024)
        assert results[1].result == expected, (record[:40], results[1])


def test_the_quick_pass_is_dkimpys_pass():
    """scanning.dkim.passes answers only when dkimpy (through verify) finds every signature passing, and then the
    same results: on generated messages (fields in any case, folded, with odd white space, repeated, missing from
    h=, l= bodies, both key types, simple and relaxed), signed by dkimpy and then changed or not."""
    import dkim as dkimpy
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    rsa, ed, short = dkim.generate("rsa", 2048), dkim.generate("ed25519"), dkim.generate("rsa", 1024)
    keys = {"rsa._domainkey.example.org": dkim.public_record("rsa", rsa).encode(),
            "ed._domainkey.example.org": dkim.public_record("ed25519", ed).encode(),
            "short._domainkey.example.org": dkim.public_record("rsa", short).encode()}
    signers = {"rsa": (rsa.encode(), b"rsa-sha256"), "ed": (ed.encode(), b"ed25519-sha256"),
               "short": (short.encode(), b"rsa-sha256")}
    value = st.lists(st.sampled_from([b"a", b"b@example.org", b" ", b"  ", b"\t", b"\r\n ", b"\r\n\t", b"x y"]),
                     min_size=1, max_size=6).map(b"".join)
    field = st.tuples(st.sampled_from([b"From", b"FROM", b"To", b"Subject", b"subject", b"Date", b"X-Tag"]), value)
    body = st.lists(st.sampled_from([b"line", b"line  \t", b" ", b"", b"a\tb"]), max_size=6).map(
        lambda lines: b"".join(line + b"\r\n" for line in lines))
    change = st.sampled_from(["none", "body", "field", "second from", "space", "key short", "key missing"])

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(field, min_size=1, max_size=6), body, st.lists(st.sampled_from(["rsa", "ed", "short"]),
           min_size=1, max_size=2), st.sampled_from([b"simple/simple", b"relaxed/relaxed", b"relaxed/simple",
                                                      b"simple/relaxed"]),
           st.lists(st.sampled_from([b"from", b"to", b"subject", b"date", b"x-missing"]), min_size=0, max_size=4),
           st.booleans(), change)
    def same(fields, text, selectors, canonicalize, signed_names, length, how):
        message = b"".join(name + b":" + v + b"\r\n" for name, v in fields) + b"\r\n" + text
        for selector in selectors:
            key, algorithm = signers[selector]
            message = dkimpy.sign(message, selector.encode(), b"example.org", key,
                                  include_headers=[b"from", *signed_names], canonicalize=tuple(
                                      canonicalize.split(b"/")), length=length, signature_algorithm=algorithm
                                  ).replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") + message
        given_keys, min_bits = dict(keys), 1024
        if how == "body":
            message += b"tail\r\n"
        elif how == "field":
            message = message.replace(b"\r\n\r\n", b"\r\nSubject: new\r\n\r\n", 1)
        elif how == "second from":
            message = b"From: mallory@example.net\r\n" + message
        elif how == "space":
            message = message.replace(b": ", b":  ", 1)
        elif how == "key short":
            min_bits = 2048
        elif how == "key missing":
            given_keys.pop("ed._domainkey.example.org")
        quick = dkim.passes(message, given_keys, 5, min_bits)
        full = dkim.verify(message, lambda name: given_keys.get(name.lower().rstrip("."), b""), 5, min_bits)
        if quick is not None:
            assert quick == full and all(r.result == "pass" for r in full)
        else:  # dkimpy's own verification of the messages it left: never every signature a pass
            assert not all(r.result == "pass" for r in full)

    same()
