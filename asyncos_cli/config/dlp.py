"""Data loss prevention: classifiers and policies (dlpconfig)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from .fields import ConfigError, Record, Section, setting
from .validators import check_name, check_unique

#: The national ID classifiers of 14.0 (scanning.dlp.classifiers keys).
DLP_NATIONAL_IDS = ("id-ktp", "my-mykad", "th-id", "ph-umid", "sg-nric")
#: Every predefined classifier: the national IDs and payment card numbers (a 16-digit card can look like a NIK).
DLP_PREDEFINED = DLP_NATIONAL_IDS + ("credit-card",)
DLP_TEMPLATES = {"privacy-protection": DLP_NATIONAL_IDS, "pci-dss": ("credit-card",)}
#: How the appliance names the predefined classifiers.
DLP_CLASSIFIER_NAMES = {"sg-nric": "Singapore NRIC/FIN", "th-id": "Thailand ID", "my-mykad": "Malaysia MyKad",
                        "id-ktp": "Indonesia KTP (NIK)", "ph-umid": "Philippines UMID",
                        "credit-card": "Credit Card Number"}
#: The templates' names as the DLP Policy Manager shows them.
DLP_TEMPLATE_NAMES = {"privacy-protection": "Privacy Protection",
                      "pci-dss": "PCI-DSS (Payment Card Industry Data Security Standard)"}
DLP_SEVERITIES = ("low", "medium", "high", "critical")
DLP_ACTIONS = ("deliver", "add-header", "encrypt", "notify", "quarantine", "drop")


@dataclass(frozen=True)
class DlpClassifier(Record):
    """A custom classifier: entity rules (national IDs, regular expressions) and optional keywords."""

    name: str
    entities: tuple[str, ...] = field(default=(), metadata={"item": "entity"})
    regexes: tuple[str, ...] = field(default=(), metadata={"item": "regex"})
    #: When given, a match counts only with one of these words within 300 characters.
    keywords: tuple[str, ...] = field(default=(), metadata={"item": "keyword"})

    def validate(self) -> None:
        check_name(self.name, "name", "classifier name")
        if self.name in DLP_PREDEFINED:
            raise ConfigError(f"{self.name!r} is a predefined classifier's key", "name")
        if not self.entities and not self.regexes:
            raise ConfigError("a classifier needs at least one entity rule (an ID type or a regular expression)",
                              "entities")
        for e in self.entities:
            if e not in DLP_PREDEFINED:
                raise ConfigError(f"{e!r} is not one of {', '.join(DLP_PREDEFINED)}", "entities")
        for r in self.regexes:
            try:
                re.compile(r)
            except re.error as e:
                raise ConfigError(f"invalid regular expression {r!r}: {e}", "regexes") from None


@dataclass(frozen=True)
class DlpPolicy(Record):
    """A DLP policy: classifiers, how matches make a severity, and the action per severity."""

    name: str
    classifiers: tuple[str, ...] = field(default=(), metadata={"item": "classifier"})
    template: str = ""
    min_confidence: int = setting(60, help="Matches below this confidence do not count.", low=0, high=100,
                                  unit="%")
    min_matches: int = setting(1, help="Fewer counted matches than this: no violation.", low=1, high=10_000)
    #: Risk factor (the highest confidence, plus 5 for each further match) at which each severity starts.
    medium_from: int = 50
    high_from: int = 75
    critical_from: int = 95
    action_low: str = setting("add-header", help="The action for low severity.", choices=DLP_ACTIONS)
    action_medium: str = setting("add-header", help="The action for medium severity.", choices=DLP_ACTIONS)
    action_high: str = setting("quarantine", help="The action for high severity.", choices=DLP_ACTIONS)
    action_critical: str = setting("quarantine", help="The action for critical severity.", choices=DLP_ACTIONS)

    def validate(self) -> None:
        check_name(self.name, "name", "DLP policy name")
        if not self.classifiers:
            raise ConfigError("a DLP policy needs classifiers (or a template)", "classifiers")
        if self.template and self.template not in DLP_TEMPLATES:
            raise ConfigError(f"unknown template {self.template!r} (templates: {', '.join(DLP_TEMPLATES)})",
                              "template")
        if not 0 < self.medium_from <= self.high_from <= self.critical_from <= 100:
            raise ConfigError("the thresholds must rise: 0 < medium <= high <= critical <= 100", "medium_from")

    def severity(self, risk: int) -> str:
        if risk >= self.critical_from:
            return "critical"
        if risk >= self.high_from:
            return "high"
        return "medium" if risk >= self.medium_from else "low"


@dataclass(frozen=True)
class DlpSection(Section):
    """dlpconfig: the DLP Policy Manager (custom classifiers and policies; mail policies choose policies)."""

    name: ClassVar[str] = "dlp"
    title: ClassVar[str] = "DLP classifiers and policies"

    classifiers: tuple[DlpClassifier, ...] = field(default=(), metadata={"item": "classifier"})
    policies: tuple[DlpPolicy, ...] = field(default=(), metadata={"item": "policy"})

    def validate(self) -> None:
        check_unique((c.name.lower() for c in self.classifiers), "classifiers", "classifier name")
        check_unique((p.name.lower() for p in self.policies), "policies", "DLP policy name")
        custom = {c.name for c in self.classifiers}
        for p in self.policies:
            for c in p.classifiers:
                if c not in DLP_PREDEFINED and c not in custom:
                    raise ConfigError(f"the DLP policy {p.name} uses {c!r}, which is neither a predefined "
                                      "classifier nor a custom one", "policies")

    def get(self, name: str) -> DlpPolicy | None:
        return next((p for p in self.policies if p.name.lower() == name.lower()), None)

    def classifier(self, name: str) -> DlpClassifier | None:
        return next((c for c in self.classifiers if c.name == name), None)
