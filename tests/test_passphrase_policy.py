"""The passphrase rules (14.0's repetitive/sequential rule included) and the generator."""

from __future__ import annotations

import pytest

from asyncos_cli.auth.generator import generate
from asyncos_cli.auth.policy import RULE_SEQUENCE, run_of_three, violations
from asyncos_cli.config.schema import PassphrasePolicySection

DEFAULT = PassphrasePolicySection()


@pytest.mark.parametrize("pw, run", [
    ("Abc@1234xyz", "Abc"), ("Good-pass-aaa9", "aaa"), ("Zyx!rules-9Q", "Zyx"), ("Pass-321-Word", "321"),
    ("Pa!!!ss-word9", "!!!"), ("XyZ-long-pass7", "XyZ"), ("7-CBA-pass-word", "CBA"),
])
def test_repetitive_and_sequential_runs_are_rejected_by_name(pw, run):
    problems = violations(pw, DEFAULT, "alice")
    assert any(RULE_SEQUENCE in p and repr(run) in p for p in problems), problems


@pytest.mark.parametrize("pw", ["Qwe-rty-Asd-9x", "Ab-ce-13-Zx!q", "aab-Pass-9!", "12-Wx-45!-mK"])
def test_keyboard_runs_and_near_runs_pass(pw):
    assert violations(pw, DEFAULT, "alice") == []


def test_the_rule_can_be_turned_off():
    off = DEFAULT.replace(reject_repetitive_sequential=False)
    assert violations("Abc@1234xyz", off, "alice") == []


def test_every_broken_rule_is_named():
    policy = DEFAULT.replace(min_length=12, banned_words=("cisco",))
    problems = " ".join(violations("alice", policy, "alice"))
    for rule in ("at least 12 characters", "upper (A-Z)", "one number", "special character",
                 "username or one of its variations"):
        assert rule in problems
    assert "banned word" in " ".join(violations("My-Cisco-box-9", policy, "bob"))
    assert "most recent" in " ".join(violations("Fine-pass-9x", policy, "bob", recent_match=True))


def test_run_of_three_edges():
    assert run_of_three("ab") is None
    assert run_of_three("a1b2c3") is None
    assert run_of_three("x789") == "789"
    assert run_of_three("zYx") == "zYx"


POLICIES = {
    "default": DEFAULT,
    "long": DEFAULT.replace(min_length=24, banned_words=("pass", "word", "2024")),
    "loose": DEFAULT.replace(require_special=False, require_number=False, min_length=6, history_count=0),
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_1000_generated_passphrases_are_distinct_and_pass_the_checker(name):
    policy = POLICIES[name]
    made = [generate(policy, "operator1") for _ in range(1000)]
    assert len(set(made)) == 1000
    failures = [(pw, violations(pw, policy, "operator1")) for pw in made if violations(pw, policy, "operator1")]
    assert failures == []
    assert all(len(pw) >= max(policy.min_length, 14) for pw in made)
