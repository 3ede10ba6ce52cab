"""The threat engines' settings: anti-virus (clamd), anti-spam (Rspamd), file reputation and analysis.

Each engine has a section (where it is, its limits, what happens when it
cannot be reached) and, inside every mail policy, the actions for each of its
verdicts (``AntivirusActions`` and friends), as on the appliance where a mail
policy's anti-virus page lists an action per verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Optional
from urllib.parse import urlsplit

from .fields import ConfigError, Record, Secret, Section, setting
from .proxy import HttpProxy
from .validators import check_range, name_rule

#: What a verdict can do to a message. "strip" removes the attachments that carry the verdict.
VERDICT_ACTIONS = ("deliver", "drop", "quarantine", "strip")
#: What happens to a message when its engine cannot be reached: "defer" keeps it queued and scans it again.
UNAVAILABLE_ACTIONS = ("deliver", "quarantine", "defer")
#: Notification recipients besides addresses.
NOTIFY_KEYWORDS = ("sender", "recipients")

_HEADER = re.compile(r"([!-9;-~]{1,76}):[ \t]*(.*)")


def split_header(text: str) -> tuple[str, str]:
    """'X-Name: value' -> ('X-Name', 'value')."""
    m = _HEADER.fullmatch(text.strip())
    if m is None:
        raise ConfigError(f"{text!r} is not a header (Name: value)", "header")
    return m.group(1), m.group(2)


@dataclass(frozen=True)
class VerdictAction(Record):
    """What one verdict does: the final action, and the marks left on a delivered copy."""

    action: str = setting("deliver", help="The final action.", choices=VERDICT_ACTIONS)
    quarantine: str = setting("Policy", help="The quarantine for the quarantine action.",
                              check=name_rule("quarantine name"))
    #: Put in front of the subject, e.g. "[WARNING: VIRUS DETECTED]" (empty: subject unchanged).
    subject_tag: str = ""
    #: A header added to the message, "Name: value" (empty: none).
    header: str = ""
    #: Who is told: addresses, "sender", "recipients".
    notify: tuple[str, ...] = field(default=(), metadata={"item": "address"})

    def validate(self) -> None:
        if self.header:
            split_header(self.header)
        if "\n" in self.subject_tag or "\r" in self.subject_tag or len(self.subject_tag) > 100:
            raise ConfigError("a subject tag is one line of at most 100 characters", "subject_tag")
        for n in self.notify:
            if n not in NOTIFY_KEYWORDS and not re.fullmatch(r"[^@\s]+@[^@\s]+", n):
                raise ConfigError(f"{n!r} is not an address, 'sender' or 'recipients'", "notify")

    def describe(self) -> str:
        out = self.action + (f" to {self.quarantine}" if self.action == "quarantine" else "")
        if self.subject_tag:
            out += f', subject tag "{self.subject_tag}"'
        if self.header:
            out += f", header {self.header}"
        if self.notify:
            out += f", notify {', '.join(self.notify)}"
        return out


def _no_strip(record: Record, *names: str) -> None:
    for name in names:
        if getattr(record, name).action == "strip":
            raise ConfigError("strip applies to infected or malicious attachments only", f"{name}.action")


@dataclass(frozen=True)
class AntivirusActions(Record):
    """A mail policy's anti-virus actions; the defaults are the appliance's."""

    clean: VerdictAction = VerdictAction()
    infected: VerdictAction = VerdictAction("drop", subject_tag="[WARNING: VIRUS DETECTED]")
    unscannable: VerdictAction = VerdictAction(subject_tag="[WARNING: A/V UNSCANNABLE]")
    encrypted: VerdictAction = VerdictAction(subject_tag="[WARNING: MESSAGE ENCRYPTED]")

    VERDICTS: ClassVar[tuple[str, ...]] = ("clean", "infected", "unscannable", "encrypted")

    def validate(self) -> None:
        _no_strip(self, "clean", "unscannable", "encrypted")


@dataclass(frozen=True)
class AntispamActions(Record):
    """A mail policy's anti-spam thresholds (Rspamd scores) and actions."""

    #: A score at or above this is positively identified spam (Rspamd's own "reject" default).
    positive_threshold: float = 15.0
    #: At or above this (and below positive) it is suspected spam (Rspamd's "add header" default).
    suspect_threshold: float = 6.0
    positive: VerdictAction = VerdictAction(subject_tag="[SPAM]")
    suspect: VerdictAction = VerdictAction(subject_tag="[SUSPECTED SPAM]")
    negative: VerdictAction = VerdictAction()

    VERDICTS: ClassVar[tuple[str, ...]] = ("positive", "suspect", "negative")

    def validate(self) -> None:
        check_range(self.positive_threshold, -1000, 1000, "positive_threshold")
        check_range(self.suspect_threshold, -1000, 1000, "suspect_threshold")
        if self.suspect_threshold > self.positive_threshold:
            raise ConfigError("the suspect threshold must not be above the positive one", "suspect_threshold")
        _no_strip(self, "positive", "suspect", "negative")


@dataclass(frozen=True)
class FileReputationActions(Record):
    """A mail policy's file reputation actions."""

    malicious: VerdictAction = VerdictAction("drop", subject_tag="[WARNING: MALWARE DETECTED]")
    unscannable: VerdictAction = VerdictAction()
    unknown: VerdictAction = VerdictAction()

    VERDICTS: ClassVar[tuple[str, ...]] = ("malicious", "unscannable", "unknown")

    def validate(self) -> None:
        _no_strip(self, "unscannable", "unknown")


def check_endpoint(value: str, field_name: str) -> None:
    """A clamd address: a Unix socket path or host:port."""
    if value.startswith("/"):
        return
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{value!r} is neither a socket path nor host:port", field_name)


def check_url(value: str, field_name: str, schemes=("http", "https")) -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(f"{value!r} is not an {'/'.join(schemes)} URL", field_name)


def endpoint_problem(value: str) -> str | None:
    try:
        check_endpoint(value, "")
    except ConfigError as e:
        return e.message
    return None


def url_rule(*schemes: str):
    """A ``check`` for URLs of ``schemes`` (an empty value passes: the section says when one is needed)."""

    def problem(value: str) -> str | None:
        parts = urlsplit(value)
        if value and (parts.scheme not in schemes or not parts.hostname):
            return f"{value!r} is not an {'/'.join(schemes)} URL"
        return None

    return problem


def _unavailable_fields(default_action: str):
    """The three fields every engine section has for an engine that does not answer."""
    return (setting(default_action, help="What a message gets when the engine does not answer.",
                    choices=UNAVAILABLE_ACTIONS, option="unavailable"),
            setting("Unscannable", help="The quarantine for the quarantine action.",
                    check=name_rule("quarantine name")),
            setting(60, help="With defer, seconds a message waits before it is scanned again.", low=1, high=3600,
                    unit="seconds", option="retry"))


@dataclass(frozen=True)
class AntivirusSection(Section):
    """antivirusconfig: ClamAV's clamd, reached over its socket (INSTREAM)."""

    name: ClassVar[str] = "antivirus"
    title: ClassVar[str] = "Anti-virus scanning (ClamAV)"

    enabled: bool = setting(False, help="Whether messages are scanned for viruses.")
    clamd: str = setting("/run/clamav/clamd.ctl", help="clamd's socket: a Unix socket path or host:port.",
                         check=endpoint_problem)
    timeout_seconds: float = setting(60.0, help="Seconds a scan may take.", low=1, high=600, unit="seconds",
                                     option="timeout")
    max_scan_bytes: int = setting(10 * 1024 * 1024, help="Larger messages are not sent: their verdict is "
                                  "unscannable.", low=1024, high=1024**3, unit="bytes", option="max-size")
    unavailable_action: str
    unavailable_quarantine: str
    retry_seconds: int
    unavailable_action, unavailable_quarantine, retry_seconds = _unavailable_fields("defer")


@dataclass(frozen=True)
class AntispamSection(Section):
    """antispamconfig: Rspamd over its HTTP protocol (/checkv2)."""

    name: ClassVar[str] = "antispam"
    title: ClassVar[str] = "Anti-spam scanning (Rspamd)"

    enabled: bool = setting(False, help="Whether messages are scanned for spam.")
    url: str = setting("http://127.0.0.1:11333", help="Rspamd's normal worker.", check=url_rule("http", "https"))
    timeout_seconds: float = setting(60.0, help="Seconds a scan may take.", low=1, high=600, unit="seconds",
                                     option="timeout")
    max_scan_bytes: int = setting(2 * 1024 * 1024, help="Larger messages skip anti-spam scanning, as on the "
                                  "appliance.", low=1024, high=1024**3, unit="bytes", option="max-size")
    unavailable_action: str
    unavailable_quarantine: str
    retry_seconds: int
    unavailable_action, unavailable_quarantine, retry_seconds = _unavailable_fields("deliver")

    def validate(self) -> None:
        check_url(self.url, "url")


#: The kinds the scanning engine detects from a file's first bytes (scanning.extract.sniff).
FILE_KINDS = ("exe", "elf", "pdf", "pdf-encrypted", "doc", "xls", "ppt", "ole", "office-encrypted", "docx", "xlsx",
              "pptx", "zip", "gzip", "7z", "rar", "png", "jpeg", "gif", "html", "text", "binary")
#: Looked up by default: executables, documents, archives and unknown binaries (not images, not plain text).
DEFAULT_FILE_KINDS = ("exe", "elf", "pdf", "pdf-encrypted", "doc", "xls", "ppt", "ole", "office-encrypted", "docx",
                      "xlsx", "pptx", "zip", "gzip", "7z", "rar", "binary")


@dataclass(frozen=True)
class FileReputationSection(Section):
    """ampconfig: file reputation lookups (SHA-256) and file analysis over HTTPS."""

    name: ClassVar[str] = "file_reputation"
    title: ClassVar[str] = "File Reputation and Analysis"

    enabled: bool = False
    #: The reputation service's base URL (HTTPS): POST {url}/v1/lookup, POST {url}/v1/analysis.
    url: str = ""
    api_key: Optional[Secret] = None
    #: The whole query (first try and its one retry) ends within this, 20 to 30 seconds.
    query_timeout_seconds: int = 20
    #: Detected file kinds looked up (FILE_KINDS).
    file_types: tuple[str, ...] = field(default=DEFAULT_FILE_KINDS, metadata={"item": "type"})
    max_file_bytes: int = 32 * 1024 * 1024
    #: Files with an unknown reputation are uploaded for analysis.
    analysis: bool = False
    #: The proxy for reputation and analysis; none: the outbound clients' proxy (outboundconfig).
    proxy: Optional[HttpProxy] = None
    #: How long a clean or malicious answer is reused without asking again.
    cache_seconds: int = 3600

    def validate(self) -> None:
        if self.url or self.enabled:
            check_url(self.url, "url", ("https",))
        check_range(self.query_timeout_seconds, 20, 30, "query_timeout_seconds")
        check_range(self.max_file_bytes, 1, 1024**3, "max_file_bytes")
        check_range(self.cache_seconds, 0, 7 * 86400, "cache_seconds")
        unknown = [t for t in self.file_types if t not in FILE_KINDS]
        if unknown:
            raise ConfigError(f"unknown file types {', '.join(unknown)}; types: {', '.join(FILE_KINDS)}",
                              "file_types")

    def wants(self, kind: str) -> bool:
        return kind in self.file_types


ENGINE_SECTIONS = (AntivirusSection, AntispamSection, FileReputationSection)
