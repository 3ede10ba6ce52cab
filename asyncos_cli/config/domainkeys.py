"""domainkeysconfig: DKIM signing keys, signing profiles per domain, and verification profiles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Optional

from .addresses import address_problem
from .fields import ConfigError, Record, Secret, Section, setting
from .validators import (
    check_unique,
    domain_pattern_problem,
    name_rule,
    reply_text_problem,
)

DKIM_KEY_TYPES = ("rsa", "ed25519")
DKIM_CANONICALIZATIONS = ("relaxed/relaxed", "relaxed/simple", "simple/relaxed", "simple/simple")
#: The header fields a signing profile signs unless told otherwise (RFC 6376 5.4.1's recommendation).
DKIM_DEFAULT_HEADERS = ("From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc", "MIME-Version",
                        "Content-Type", "Content-Transfer-Encoding", "In-Reply-To", "References")
DKIM_ACTIONS = ("accept", "tempfail", "reject")


def _selector_problem(selector: str) -> str | None:
    labels = selector.split(".")
    if not selector or any(not label or len(label) > 63 or not label.replace("-", "").replace("_", "").isalnum()
                           or not label.isascii() for label in labels):
        return f"{selector!r} is not a DKIM selector (DNS labels: letters, digits, '-', '_')"
    return None


def _header_problem(name: str) -> str | None:
    return None if name and name.isascii() and all(33 <= ord(c) <= 126 and c != ":" for c in name) else \
        f"{name!r} is not a header name"


@dataclass(frozen=True)
class DkimKey(Record):
    name: str = setting(help="The key's name.", check=name_rule("key name"))
    kind: str = setting("rsa", help="The algorithm: rsa (rsa-sha256) or ed25519 (ed25519-sha256, RFC 8463).",
                        choices=DKIM_KEY_TYPES, option="type")
    bits: int = setting(2048, help="The RSA key size (an ed25519 key is always 256 bits).", low=1024, high=4096,
                        unit="bits")
    #: The private key: PEM for RSA, the base64 seed for ed25519 (dkimpy's forms). Sealed at rest.
    private_key: Optional[Secret] = setting(None, help="The private key.", secret=True)


@dataclass(frozen=True)
class DkimSigningProfile(Record):
    domain: str = setting(help="The signing domain (d=): mail whose From is in it is signed.",
                          check=domain_pattern_problem)
    selector: str = setting(help="The selector (s=): the key's DNS name is SELECTOR._domainkey.DOMAIN.",
                            check=_selector_problem)
    key: str = setting(help="The signing key (domainkeysconfig keys).", check=name_rule("key name"))
    canonicalization: str = setting("relaxed/relaxed", help="Header/body canonicalization (c=).",
                                    choices=DKIM_CANONICALIZATIONS)
    headers: tuple[str, ...] = setting(DKIM_DEFAULT_HEADERS, help="The header fields signed (h=).",
                                       check=_header_problem, item="header")

    def validate(self) -> None:
        if not any(h.lower() == "from" for h in self.headers):
            raise ConfigError("a DKIM signature must sign the From header (RFC 6376 5.4)", "headers")


@dataclass(frozen=True)
class DkimVerificationProfile(Record):
    name: str = setting(help="The profile's name.", check=name_rule("profile name"))
    fail: str = setting("accept", help="What a message whose signatures all fail gets: accept, tempfail (451) "
                        "or reject (550).", choices=DKIM_ACTIONS)
    temperror: str = setting("accept", help="What a message whose keys could not be fetched gets.",
                             choices=DKIM_ACTIONS)
    min_key_bits: int = setting(1024, help="Smaller RSA keys make the signature fail.", low=512, high=4096,
                                unit="bits", option="min-key-bits")
    max_key_bits: int = setting(4096, help="Longer RSA keys make the signature fail before their check (a "
                                "verification's cost grows with the key; the appliance's default is 2048).",
                                low=1024, high=16384, unit="bits", option="max-key-bits")
    max_signatures: int = setting(5, help="Signatures verified per message (the rest are ignored).", low=1,
                                  high=50, option="max-signatures")
    key_query_timeout: int = setting(10, help="How long a key's DNS query may take before the signature is a "
                                     "temperror.", low=1, high=60, unit="seconds", option="key-query-timeout")
    clock_skew_seconds: int = setting(60, help="How long after its expiry (x=) a signature is still taken, and how "
                                      "far in the future its time stamp (t=) may be.", low=0, high=36000,
                                      unit="seconds", option="clock-skew")
    body_length: bool = setting(True, help="Use the body length parameter (l=): a body longer than signed passes "
                                "as partially verified; no: it fails.", option="body-length")
    tempfail_code: int = setting(451, help="The SMTP reply code of the tempfail action.", low=400, high=499,
                                 option="tempfail-code")
    tempfail_text: str = setting("4.7.5 DKIM: the signature could not be verified now, try again later",
                                 help="The text of the tempfail action's reply.", check=reply_text_problem,
                                 option="tempfail-text")
    reject_code: int = setting(550, help="The SMTP reply code of the reject action.", low=500, high=599,
                               option="reject-code")
    reject_text: str = setting("5.7.20 No passing DKIM signature found", help="The text of the reject "
                               "action's reply.", check=reply_text_problem, option="reject-text")

    def validate(self) -> None:
        if self.max_key_bits < self.min_key_bits:
            raise ConfigError("the largest key accepted is shorter than the smallest", "max_key_bits")

    def limits(self) -> tuple[int, int, int, int, bool]:
        """What scanning.dkim's verify() and passes() take after the message and the keys."""
        return self.max_signatures, self.min_key_bits, self.max_key_bits, self.clock_skew_seconds, self.body_length

    def reply(self, action: str) -> str | None:
        """The SMTP reply of an action: None for accept."""
        if action == "tempfail":
            return f"{self.tempfail_code} {self.tempfail_text}"
        return f"{self.reject_code} {self.reject_text}" if action == "reject" else None


@dataclass(frozen=True)
class DomainKeysSection(Section):
    name: ClassVar[str] = "domainkeys"
    title: ClassVar[str] = "DKIM keys and profiles"

    keys: tuple[DkimKey, ...] = field(default=(), metadata={"item": "key"})
    signing: tuple[DkimSigningProfile, ...] = field(default=(), metadata={"item": "profile"})
    verification: tuple[DkimVerificationProfile, ...] = field(
        default=(DkimVerificationProfile("DEFAULT"),), metadata={"item": "profile"})

    def validate(self) -> None:
        check_unique((k.name.lower() for k in self.keys), "keys", "key name")
        check_unique((p.domain.lower() for p in self.signing), "signing", "signing domain")
        check_unique((p.name.lower() for p in self.verification), "verification", "verification profile name")
        names = {k.name.lower() for k in self.keys}
        for p in self.signing:
            if p.key.lower() not in names:
                raise ConfigError(f"the signing profile for {p.domain} uses the unknown key {p.key!r}", "signing")
        if not any(p.name == "DEFAULT" for p in self.verification):
            raise ConfigError("the DEFAULT verification profile is required", "verification")

    def key(self, name: str) -> DkimKey | None:
        return next((k for k in self.keys if k.name.lower() == name.lower()), None)

    def signing_for(self, domain: str) -> DkimSigningProfile | None:
        """The profile signing mail from ``domain`` (its own, else its parent's, for a subdomain)."""
        d = domain.lower().rstrip(".")
        while d:
            found = next((p for p in self.signing if p.domain.lower() == d), None)
            if found is not None:
                return found
            d = d.partition(".")[2]
        return None

    def verification_profile(self, name: str = "DEFAULT") -> DkimVerificationProfile:
        for p in self.verification:  # asked for every signed message: the exact name first, without lower()
            if p.name == name:
                return p
        return next((p for p in self.verification if p.name.lower() == name.lower()),
                    next(p for p in self.verification if p.name == "DEFAULT"))


DMARC_REJECT_ACTIONS = ("reject", "quarantine", "none")
DMARC_QUARANTINE_ACTIONS = ("quarantine", "none")
DMARC_ERROR_ACTIONS = ("accept", "reject")


@dataclass(frozen=True)
class DmarcProfile(Record):
    """dmarcconfig: what the gateway does with a message whose DMARC check failed under the domain's policy."""

    name: str = setting(help="The profile's name.", check=name_rule("profile name"))
    reject: str = setting("reject", help="When the domain's policy is reject: reject (550), quarantine, or none.",
                          choices=DMARC_REJECT_ACTIONS)
    quarantine: str = setting("quarantine", help="When the domain's policy is quarantine: quarantine or none.",
                              choices=DMARC_QUARANTINE_ACTIONS)
    quarantine_name: str = setting("Policy", help="The quarantine DMARC failures go to.",
                                   check=name_rule("quarantine name"), option="quarantine-name")
    temperror: str = setting("accept", help="When the policy could not be fetched: accept or reject (451).",
                             choices=DMARC_ERROR_ACTIONS)
    permerror: str = setting("accept", help="When the check cannot be made (no usable From): accept or reject.",
                             choices=DMARC_ERROR_ACTIONS)
    reject_code: int = setting(550, help="The SMTP reply code of a rejected DMARC failure.", low=500, high=599,
                               option="reject-code")
    reject_text: str = setting("#5.7.1 DMARC unauthenticated mail is prohibited.", help="Its text.",
                               check=reply_text_problem, option="reject-text")
    temperror_code: int = setting(451, help="The SMTP reply code when a temporary error is rejected.", low=400,
                                  high=499, option="temperror-code")
    temperror_text: str = setting("#4.7.1 Unable to perform DMARC verification.", help="Its text.",
                                  check=reply_text_problem, option="temperror-text")
    permerror_code: int = setting(550, help="The SMTP reply code when a permanent error is rejected.", low=500,
                                  high=599, option="permerror-code")
    permerror_text: str = setting("#5.7.1 DMARC verification failed.", help="Its text.", check=reply_text_problem,
                                  option="permerror-text")


@dataclass(frozen=True)
class DmarcSection(Section):
    name: ClassVar[str] = "dmarc"
    title: ClassVar[str] = "DMARC verification profiles"

    profiles: tuple[DmarcProfile, ...] = field(default=(DmarcProfile("DEFAULT"),), metadata={"item": "profile"})
    #: Forwarders (mailing lists, other gateways) whose valid ARC chain overrides a DMARC failure (RFC 8617 7.2).
    aggregate_reports: bool = setting(False, help="Send the daily DMARC aggregate reports (RFC 7489 7.2) to the "
                                      "domains' rua addresses.", option="aggregate")
    report_org_name: str = setting("", help="The reporting organization in the reports (empty: the host name).",
                                   option="org-name")
    report_contact: str = setting("", help="The reports' From and contact address (empty: postmaster at the host "
                                  "name).", check=lambda a: address_problem(a) if a else None, option="contact")
    trusted_arc_sealers: tuple[str, ...] = setting((), help="Domains whose ARC seal, on a valid chain, overrides a "
                                                   "DMARC failure.", check=domain_pattern_problem, item="domain",
                                                   option="trusted-sealers")

    def validate(self) -> None:
        check_unique((p.name.lower() for p in self.profiles), "profiles", "DMARC profile name")
        if not any(p.name == "DEFAULT" for p in self.profiles):
            raise ConfigError("the DEFAULT DMARC profile is required", "profiles")

    def profile(self, name: str = "DEFAULT") -> DmarcProfile:
        for p in self.profiles:  # asked for every message checked: the exact name first, without lower()
            if p.name == name:
                return p
        return next((p for p in self.profiles if p.name.lower() == name.lower()),
                    next(p for p in self.profiles if p.name == "DEFAULT"))
