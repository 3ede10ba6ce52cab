"""The typed outcome of scanning: what each stage found, and what each mail policy's copy gets.

The stages (scanning.pipeline, scanning.engines) make these; the relay applies them. Kept apart from both so
that neither imports the other for its result types.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class StageResult:
    stage: str
    verdict: str  # NEGATIVE, POSITIVE, SKIPPED, NOT_CONFIGURED, UNSCANNABLE, MALFORMED
    detail: str = ""


@dataclass(frozen=True)
class PolicyVerdict:
    """The outcome for one policy's copy of the message."""

    policy: str
    direction: str
    recipients: tuple[str, ...]
    stages: tuple[StageResult, ...]
    action: str = "deliver"
    findings: dict = field(default_factory=dict)
    #: What took the final action (a filter's name, url_scanning, unscannable), and the quarantine.
    final_by: str = ""
    quarantine: str = ""

    def to_json(self) -> dict:
        return asdict(self)
