"""System-generated passphrases: from the OS's secure random source, within the policy.

Built character by character so that no repeated or consecutive run of three
can form, with every character class at a random position, at least 14
characters long (or the policy's minimum, if longer). The generator does
not call the policy checker: tests check its output with policy.py, which is
separate code, so a mistake in one is caught by the other.
"""

from __future__ import annotations

import secrets

from asyncos_cli.config.schema import PassphrasePolicySection

# No look-alike characters (0/O, 1/l/I): the passphrase is read off a screen once.
UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
LOWER = "abcdefghijkmnopqrstuvwxyz"
DIGITS = "23456789"
SPECIAL = "!#$%&*+-=?@^_~"
MIN_GENERATED = 14


def generate(policy: PassphrasePolicySection, user: str = "") -> str:
    length = max(policy.min_length, MIN_GENERATED)
    avoid = [w.lower() for w in policy.banned_words]
    if user:
        avoid.append(user.lower())
    while True:
        candidate = _draw(length)
        low = candidate.lower()
        if not any(w and w in low for w in avoid):
            return candidate


def _consecutive(a: str, b: str) -> int | None:
    """+1 or -1 when b follows a in the alphabet or in digits (case ignored), else None."""
    a, b = a.lower(), b.lower()
    if a.isalpha() != b.isalpha() or a.isdigit() != b.isdigit() or not (a.isalnum() and b.isalnum()):
        return None
    step = ord(b) - ord(a)
    return step if step in (1, -1) else None


def _would_run(prev2: str, prev1: str, c: str) -> bool:
    if prev2.lower() == prev1.lower() == c.lower():
        return True
    s1, s2 = _consecutive(prev2, prev1), _consecutive(prev1, c)
    return s1 is not None and s1 == s2


def _draw(length: int) -> str:
    pool = UPPER + LOWER + DIGITS + SPECIAL
    classes = [UPPER, LOWER, DIGITS, SPECIAL] + [pool] * (length - 4)
    for i in range(len(classes) - 1, 0, -1):  # Fisher-Yates with the secure source
        j = secrets.randbelow(i + 1)
        classes[i], classes[j] = classes[j], classes[i]
    chars: list[str] = []
    for cls in classes:
        while True:
            c = secrets.choice(cls)
            if len(chars) < 2 or not _would_run(chars[-2], chars[-1], c):
                chars.append(c)
                break
    return "".join(chars)
