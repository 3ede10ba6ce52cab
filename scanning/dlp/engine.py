"""DLP policies over a message's text: which classifiers match where, the risk factor, the severity, the action.

Text comes from the message body and from every attachment the extractors
opened (documents, archives, decrypted files). A policy counts the matches
of its classifiers at or above its minimum confidence; the risk factor is
the highest confidence plus 5 for each further match (at most 100), and the
policy's thresholds turn it into a severity with its action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from asyncos_cli.config.schema import DLP_NATIONAL_IDS, DlpSection

from .classifiers import WINDOW, Match, mask, scan

_ACTION_RANK = {"deliver": 0, "add-header": 1, "encrypt": 2, "notify": 3, "quarantine": 4, "drop": 5}


@dataclass
class PolicyResult:
    policy: str
    matches: list[tuple[str, Match]] = field(default_factory=list)  # (where, match)
    risk: int = 0
    severity: str = ""
    action: str = "deliver"

    def to_json(self) -> dict:
        return {"policy": self.policy, "risk_factor": self.risk, "severity": self.severity, "action": self.action,
                "matches": [{"where": where, **m.to_json()} for where, m in self.matches]}


def evaluate(sources: list[tuple[str, str]], names: tuple[str, ...], section: DlpSection) -> list[PolicyResult]:
    """One result per DLP policy named in ``names`` that has a violation (none: the message is clean)."""
    policies = [p for p in (section.get(n) for n in names) if p is not None]
    needed = {key for p in policies for c in p.classifiers for key in _keys(c, section)}
    found: list[tuple[str, Match]] = []
    if needed:
        for where, text in sources:
            if text:
                found += [(where, m) for m in scan(text, needed)]
    custom = {c for p in policies for c in p.classifiers if c not in DLP_NATIONAL_IDS}
    out = []
    for policy in policies:
        counted = [(w, m) for w, m in found if m.classifier in policy.classifiers]
        for name in custom & set(policy.classifiers):
            counted += _custom_matches(sources, section.classifier(name), found)
        counted = [(w, m) for w, m in counted if m.confidence >= policy.min_confidence]
        if len(counted) < policy.min_matches or not counted:
            continue
        risk = min(100, max(m.confidence for _, m in counted) + 5 * (len(counted) - 1))
        severity = policy.severity(risk)
        out.append(PolicyResult(policy.name, counted, risk, severity, getattr(policy, f"action_{severity}")))
    return out


def strongest(results: list[PolicyResult]) -> PolicyResult | None:
    return max(results, key=lambda r: (_ACTION_RANK[r.action], r.risk), default=None)


def _keys(classifier: str, section: DlpSection) -> tuple[str, ...]:
    if classifier in DLP_NATIONAL_IDS:
        return (classifier,)
    custom = section.classifier(classifier)
    return custom.entities if custom else ()


def _custom_matches(sources, classifier, found) -> list[tuple[str, Match]]:
    """A custom classifier's matches: its entity rules (national IDs found above) and regular expressions,
    kept only near one of its keywords when it has keywords."""
    if classifier is None:
        return []
    out = [(w, Match(classifier.name, m.confidence, m.start, m.end, m.masked)) for w, m in found
           if m.classifier in classifier.entities]
    for where, text in sources:
        for rx in _compiled(classifier.regexes):
            for m in rx.finditer(text or ""):
                out.append((where, Match(classifier.name, 75, m.start(), m.end(), mask(m.group()))))
    if classifier.keywords:
        words = _keyword_pattern(classifier.keywords)
        texts = dict(sources)
        out = [(w, m) for w, m in out
               if words.search(texts.get(w, ""), max(0, m.start - WINDOW), m.end + WINDOW)]
    return out


@lru_cache(maxsize=64)
def _compiled(regexes: tuple[str, ...]):
    return tuple(re.compile(r) for r in regexes)


@lru_cache(maxsize=64)
def _keyword_pattern(words: tuple[str, ...]):
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
