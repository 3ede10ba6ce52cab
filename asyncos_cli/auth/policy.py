"""The passphrase policy checker: every rule that a passphrase breaks, by name.

The 14.0 rule, "three or more repetitive or sequential characters", counts:
- the same character three times in a row (``aaa``, ``111``, ``!!!``);
- three letters in alphabetical order, ascending or descending, whatever
  their case (``abc``, ``CBA``, ``xYz``);
- three digits in order, ascending or descending (``123``, ``321``, ``789``).
Keyboard runs (``qwe``, ``asd``) are NOT counted: the rule is about the
order of characters, as the appliance states it, and counting keyboard
adjacency would depend on the layout (QWERTY, AZERTY, Dvorak...).

The generator (generator.py) is separate code; tests check its output here.
"""

from __future__ import annotations

import string
from typing import Iterable

from asyncos_cli.config.schema import PassphrasePolicySection

SPECIALS = set(string.punctuation)

# Rule names as they appear in error messages (the wizard shows them and asks again).
RULE_LENGTH = "minimum length"
RULE_CASE = "upper and lower case"
RULE_NUMBER = "a number"
RULE_SPECIAL = "a special character"
RULE_USERNAME = "similar to the user name"
RULE_SEQUENCE = "three or more repetitive or sequential characters"
RULE_HISTORY = "recently used"
RULE_BANNED = "banned word"


def run_of_three(passphrase: str) -> str | None:
    """The first repetitive or sequential run of three characters, or None."""
    for i in range(len(passphrase) - 2):
        a, b, c = passphrase[i : i + 3]
        if a == b == c:
            return a + b + c
        for group in (string.ascii_lowercase, string.digits):
            x, y, z = (ch.lower() for ch in (a, b, c))
            if x in group and y in group and z in group:
                i1, i2, i3 = group.index(x), group.index(y), group.index(z)
                if (i2 - i1 == 1 and i3 - i2 == 1) or (i1 - i2 == 1 and i2 - i3 == 1):
                    return a + b + c
    return None


def _username_variants(user: str) -> set[str]:
    u = user.lower()
    leet = u.translate(str.maketrans({"a": "@", "o": "0", "i": "1", "e": "3", "s": "$"}))
    return {u, u[::-1], leet}


def violations(
    passphrase: str,
    policy: PassphrasePolicySection,
    user: str = "",
    recent_match: bool = False,
) -> list[str]:
    """Messages for every rule broken (empty: the passphrase is acceptable).

    ``recent_match`` is the caller's finding that the passphrase matches one of
    the user's last ``history_count`` hashes (the checker never sees hashes).
    """
    out = _character_rules(passphrase, policy)
    if policy.reject_similar_to_username and user and len(user) >= 3:
        low = passphrase.lower()
        if any(v in low for v in _username_variants(user)):
            out.append(f"The passphrase must not be a username or one of its variations ({RULE_USERNAME}).")
    if policy.reject_repetitive_sequential:
        run = run_of_three(passphrase)
        if run:
            out.append(
                f"The passphrase must not contain three or more repetitive or sequential characters "
                f"(found {run!r}; {RULE_SEQUENCE})."
            )
    if recent_match and policy.history_count:
        out.append(
            f"The passphrase must differ from the {policy.history_count} most recent passphrases ({RULE_HISTORY})."
        )
    hits = banned_in(passphrase, policy.banned_words)
    if hits:
        out.append(f"The passphrase must not contain the word {hits[0]!r} ({RULE_BANNED}).")
    return out


def _character_rules(passphrase: str, policy: PassphrasePolicySection) -> list[str]:
    """Length and the kinds of characters the policy asks for."""
    out = []
    if len(passphrase) < policy.min_length:
        out.append(f"The passphrase must be at least {policy.min_length} characters long ({RULE_LENGTH}).")
    if policy.require_upper_lower and not (
        any(c.isupper() for c in passphrase) and any(c.islower() for c in passphrase)
    ):
        out.append(f"The passphrase must contain at least one upper (A-Z) and one lower (a-z) case letter ({RULE_CASE}).")
    if policy.require_number and not any(c.isdigit() for c in passphrase):
        out.append(f"The passphrase must contain at least one number ({RULE_NUMBER}).")
    if policy.require_special and not any(c in SPECIALS for c in passphrase):
        out.append(f"The passphrase must contain at least one special character ({RULE_SPECIAL}).")
    return out


def banned_in(passphrase: str, words: Iterable[str]) -> list[str]:
    low = passphrase.lower()
    return [w for w in words if w.lower() in low]
