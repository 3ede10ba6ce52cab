"""What scanning applies: mail policies, message and content filters, scan bounds, protected
attachments, hash lists, quarantines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from .engines import AntispamActions, AntivirusActions, FileReputationActions
from .fields import ConfigError, Record, Secret, Section, setting
from .validators import check_name, check_unique, name_rule


@dataclass(frozen=True)
class MailPolicy(Record):
    """A mail policy: who it matches, and which engines scan their mail (policyconfig)."""

    name: str
    #: Sender patterns: user@domain, @domain, @.domain (subdomains), user@ (any domain); empty: anyone.
    senders: tuple[str, ...] = field(default=(), metadata={"item": "sender"})
    #: Recipient patterns, as for senders; empty: anyone.
    recipients: tuple[str, ...] = field(default=(), metadata={"item": "recipient"})
    antispam: bool = True
    antivirus: bool = True
    file_reputation: bool = True
    graymail: bool = False
    dlp: bool = True
    content_filters: tuple[str, ...] = field(default=(), metadata={"item": "filter"})
    #: DLP policies (dlpconfig) this outgoing mail policy applies, in order.
    dlp_policies: tuple[str, ...] = field(default=(), metadata={"item": "dlp_policy"})
    #: Matches only recipients on the awareness service's repeat-clicker list (awarenessconfig).
    repeat_clickers: bool = False
    #: What each engine's verdicts do to this policy's copy (antivirusconfig, antispamconfig, ampconfig).
    antivirus_actions: AntivirusActions = AntivirusActions()
    antispam_actions: AntispamActions = AntispamActions()
    file_reputation_actions: FileReputationActions = FileReputationActions()

    def validate(self) -> None:
        check_name(self.name, "name", "policy name")
        for p in (*self.senders, *self.recipients):
            if "@" not in p or len(p) < 2 or any(c.isspace() for c in p):
                raise ConfigError(f"{p!r} is not an address pattern (user@domain, @domain, @.domain, user@)",
                                  "senders")


@dataclass(frozen=True)
class MailPoliciesSection(Section):
    """Incoming and outgoing mail policies, matched in order; DEFAULT (last) matches everyone."""

    name: ClassVar[str] = "mail_policies"
    title: ClassVar[str] = "Incoming and outgoing mail policies"

    incoming: tuple[MailPolicy, ...] = field(default=(MailPolicy("DEFAULT", dlp=False),), metadata={"item": "policy"})
    outgoing: tuple[MailPolicy, ...] = field(default=(MailPolicy("DEFAULT"),), metadata={"item": "policy"})

    def validate(self) -> None:
        for direction in ("incoming", "outgoing"):
            policies = getattr(self, direction)
            check_unique((p.name for p in policies), direction, "policy name")
            if not policies or policies[-1].name != "DEFAULT":
                raise ConfigError("the DEFAULT policy must exist and come last", direction)
            if policies[-1].senders or policies[-1].recipients:
                raise ConfigError("the DEFAULT policy matches everyone: it has no patterns", direction)


@dataclass(frozen=True)
class MessageFilter(Record):
    """One message filter: its script in the appliance's language (compiled by the scanning engine)."""

    name: str
    script: str
    active: bool = True

    def validate(self) -> None:
        if not re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_\-]{0,63}", self.name):
            raise ConfigError(f"invalid filter name {self.name!r}", "name")
        if not self.script.strip():
            raise ConfigError("the filter script is empty", "script")


@dataclass(frozen=True)
class MessageFiltersSection(Section):
    name: ClassVar[str] = "message_filters"
    title: ClassVar[str] = "Message filters, in the order they run"

    filters: tuple[MessageFilter, ...] = field(default=(), metadata={"item": "filter"})

    def validate(self) -> None:
        check_unique((f.name for f in self.filters), "filters", "filter name")


# ---------------------------------------------------------------- scanning: bounds, protected content, lists

#: What happens to a message with an attachment the engine could not scan (scanconfig).
UNSCANNABLE_ACTIONS = ("deliver", "drop", "quarantine")


@dataclass(frozen=True)
class ScanningSection(Section):
    """scanconfig: the extractors' bounds and the action for what cannot be scanned within them."""

    name: ClassVar[str] = "scanning"
    title: ClassVar[str] = "Attachment scanning bounds and unscannable actions"

    max_attachment_bytes: int = setting(25 * 1024 * 1024, help="The largest attachment scanned.", low=1024,
                                        high=1024**3, unit="bytes", option="max-attachment-size")
    max_expanded_bytes: int = setting(64 * 1024 * 1024, help="Bytes one message's attachments may expand to "
                                      "(every archive and level together).", low=1024,
                                      high=1024**3, unit="bytes", option="max-expanded-size")
    max_memory_bytes: int = setting(256 * 1024 * 1024, help="Memory a scanning worker may use for one message "
                                    "(decoders' buffers included).", low=16 * 1024 * 1024, high=16 * 1024**3,
                                    unit="bytes", option="max-memory")
    max_ratio: int = setting(100, help="The largest compression ratio.", low=2, high=100_000)
    max_members: int = setting(1000, help="Members of one archive.", low=1, high=100_000)
    max_depth: int = setting(5, help="Archives inside archives.", low=1, high=20)
    max_seconds: float = setting(1.0, help="Seconds of extraction per message.", low=0.1, high=60,
                                 unit="seconds", option="timeout")
    max_spin_count: int = setting(500_000, help="Office key derivation rounds tried (above: refused).", low=1,
                                  high=10_000_000)
    unscannable_action: str = setting("deliver", help="What an unscannable message gets.",
                                      choices=UNSCANNABLE_ACTIONS)
    unscannable_header: str = setting("X-Unscannable", help="The header added when an unscannable message is "
                                      "delivered (empty: none).", check=lambda h: None if not h or re.fullmatch(
                                          r"[!-9;-~]{1,76}", h) else f"{h!r} is not a header name")
    unscannable_quarantine: str = setting("Unscannable", help="The quarantine for unscannable messages.",
                                          check=name_rule("quarantine name"))
    url_scanning: bool = setting(True, help="Scan URLs inside attachments.")
    url_blocked_action: str = setting("quarantine", help="What a blocked URL in an attachment does.",
                                      choices=UNSCANNABLE_ACTIONS)
    url_quarantine: str = setting("Policy", help="The quarantine for blocked URLs.",
                                  check=name_rule("quarantine name"))


@dataclass(frozen=True)
class ProtectedPassphrase(Record):
    priority: int = setting(help="Passphrases are tried in priority order (lowest first).", low=0, high=999)
    passphrase: Secret = setting(help="The passphrase.", secret=True)


@dataclass(frozen=True)
class ProtectedAttachmentsSection(Section):
    """protectedattachmentconfig: open password-protected attachments with the administrator's passphrases."""

    name: ClassVar[str] = "protected_attachments"
    title: ClassVar[str] = "Scanning of password-protected attachments"

    inbound: bool = setting(False, help="Open protected attachments of incoming mail.")
    outbound: bool = setting(False, help="Open protected attachments of outgoing mail.")
    passphrases: tuple[ProtectedPassphrase, ...] = field(default=(), metadata={"item": "passphrase"})
    #: Beyond the appliance: try passphrases the message text gives ("password: X"), after the list.
    harvest_from_body: bool = setting(False, help="Also try passphrases the message text gives.",
                                      option="harvest")
    budget_seconds: float = setting(1.0, help="Seconds for all trials on one message.", low=0.05, high=30,
                                    unit="seconds", option="budget")
    #: The most one protected attachment may take; when several need trials each gets its share of the budget
    #: at most, cheapest formats first, so decoys cannot starve the attachment that matters.
    share_seconds: float = setting(1.0, help="Seconds of trials one protected attachment may take at most.",
                                   low=0.01, high=30, unit="seconds", option="share")

    def validate(self) -> None:
        check_unique((p.priority for p in self.passphrases), "passphrases", "priority")

    def ordered(self) -> tuple[ProtectedPassphrase, ...]:
        return tuple(sorted(self.passphrases, key=lambda p: p.priority))


_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class HashList(Record):
    name: str
    hashes: tuple[str, ...] = field(default=(), metadata={"item": "sha256"})
    description: str = ""

    def validate(self) -> None:
        check_name(self.name, "name", "hash list name")
        for h in self.hashes:
            if not _SHA256.fullmatch(h):
                raise ConfigError(f"{h[:80]!r} is not a SHA-256 value (64 lower-case hex digits)", "hashes")
        check_unique(self.hashes, "hashes", "hash")


@dataclass(frozen=True)
class HashListsSection(Section):
    """Named lists of SHA-256 values that filters match attachments against."""

    name: ClassVar[str] = "hash_lists"
    title: ClassVar[str] = "File hash lists"

    lists: tuple[HashList, ...] = field(default=(), metadata={"item": "list"})

    def validate(self) -> None:
        check_unique((h.name.lower() for h in self.lists), "lists", "hash list name")

    def get(self, name: str) -> HashList | None:
        return next((h for h in self.lists if h.name.lower() == name.lower()), None)


@dataclass(frozen=True)
class ContentFilter(Record):
    """A content filter: a script in the message filter language, used by the mail policies that list it."""

    name: str
    direction: str
    script: str
    description: str = ""

    def validate(self) -> None:
        if not re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_\-]{0,63}", self.name):
            raise ConfigError(f"invalid filter name {self.name!r}", "name")
        if self.direction not in ("incoming", "outgoing"):
            raise ConfigError("must be incoming or outgoing", "direction")
        if not self.script.strip():
            raise ConfigError("the filter script is empty", "script")


@dataclass(frozen=True)
class ContentFiltersSection(Section):
    name: ClassVar[str] = "content_filters"
    title: ClassVar[str] = "Incoming and outgoing content filters"

    filters: tuple[ContentFilter, ...] = field(default=(), metadata={"item": "filter"})

    def validate(self) -> None:
        check_unique(((f.direction, f.name) for f in self.filters), "filters", "content filter")

    def get(self, direction: str, name: str) -> ContentFilter | None:
        return next((f for f in self.filters if f.direction == direction and f.name == name), None)


@dataclass(frozen=True)
class Quarantine(Record):
    name: str = setting(help="The quarantine's name.", check=name_rule("quarantine name"))
    retention_days: int = setting(30, help="Days a message stays.", low=1, high=3650, unit="days",
                                  option="retention")
    expiry_action: str = setting("delete", help="What happens when the retention period ends.",
                                 choices=("delete", "release"))


@dataclass(frozen=True)
class QuarantinesSection(Section):
    name: ClassVar[str] = "quarantines"
    title: ClassVar[str] = "Policy quarantines"

    quarantines: tuple[Quarantine, ...] = field(
        default=(Quarantine("Policy"), Quarantine("Unscannable", 14), Quarantine("Virus", 30), Quarantine("Spam", 30),
                 Quarantine("File_Analysis", 1, "release")), metadata={"item": "quarantine"})

    def validate(self) -> None:
        check_unique((q.name.lower() for q in self.quarantines), "quarantines", "quarantine name")

    def get(self, name: str) -> Quarantine | None:
        return next((q for q in self.quarantines if q.name.lower() == name.lower()), None)
