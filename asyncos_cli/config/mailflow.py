"""The mail relay's sections: listeners, host access table, SMTP routes, delivery, bounce profiles."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import ClassVar, Optional

from .addresses import address_problem
from .fields import ConfigError, Record, Secret, Section, setting
from .masquerade import MASQUERADE_HEADERS, MasqueradeRule
from .validators import (
    check_domain_pattern,
    check_hostname_or_ip,
    check_name,
    check_port,
    check_range,
    check_unique,
    domain_pattern_problem,
    interface_ref_problem,
    name_rule,
    optional_name_rule,
    reply_text_problem,
)

STARTTLS_MODES = ("off", "preferred", "required")
LISTENER_KINDS = ("public", "private")


@dataclass(frozen=True)
class Listener(Record):
    """An SMTP listener (listenerconfig): public takes incoming mail, private relays outgoing."""

    name: str = setting(help="The listener's name.", check=name_rule("listener name"))
    kind: str = setting(help="public takes incoming mail; private relays outgoing mail.", choices=LISTENER_KINDS)
    interface: str = setting("127.0.0.1", help="The interface the listener binds to: its name (interfaceconfig) "
                             "or its IP address.", check=interface_ref_problem)
    port: int = setting(25, help="The TCP port.", low=1, high=65535)
    starttls: str = setting("preferred", help="STARTTLS offered to clients.", choices=STARTTLS_MODES)
    max_message_bytes: int = setting(10 * 1024 * 1024, help="The largest message accepted.", low=1024,
                                     high=1024**3, unit="bytes", option="max-message-size")
    max_recipients: int = setting(100, help="Recipients per message.", low=1, high=100000)
    max_connections: int = setting(300, help="Concurrent connections.", low=1, high=100000)
    idle_timeout_seconds: int = setting(300, help="Seconds a silent client keeps its connection (then 421).",
                                        low=5, high=3600, unit="seconds", option="idle-timeout")
    max_header_count: int = setting(1000, help="Header fields per message (then 554).", low=10, high=100000)
    max_header_bytes: int = setting(1024 * 1024, help="Bytes of the whole header (then 552).", low=1024,
                                    high=1024**3, unit="bytes", option="max-header-size")
    #: Recipient access table: domains a public listener accepts mail for.
    rcpt_access: tuple[str, ...] = setting((), help="Domains a public listener accepts mail for.",
                                           check=domain_pattern_problem, item="domain")
    enabled: bool = setting(True, help="Whether the listener accepts connections.")
    certificate: str = setting("", help="The certificate STARTTLS presents (certconfig); empty: the "
                               "demonstration certificate.", check=optional_name_rule("certificate name"))
    bounce_profile: str = setting("Default", help="The bounce profile (bounceconfig) of mail received here.",
                                  check=name_rule("bounce profile name"), option="bounce-profile")
    use_aliases: bool = setting(False, help="Expand recipients through the alias table (aliasconfig).",
                                option="aliases")
    smtp_auth_profile: str = setting("", help="The SMTP AUTH profile (smtpauthconfig) clients authenticate "
                                     "against; empty: no AUTH offered.", check=optional_name_rule("profile name"),
                                     option="smtp-auth")
    #: Masquerading (the masquerade command): rules, and where they apply.
    masquerade: tuple[MasqueradeRule, ...] = field(default=(), metadata={"item": "rule"})
    masquerade_envelope: bool = setting(True, help="Masquerading rewrites the envelope sender.",
                                        option="envelope")
    masquerade_headers: tuple[str, ...] = setting(MASQUERADE_HEADERS, help="The header fields masquerading "
                                                  "rewrites.", choices=MASQUERADE_HEADERS, item="header")


DEFAULT_LISTENERS = (
    Listener("IncomingMail", "public", "127.0.0.1", 2525, rcpt_access=("example.com",)),
    Listener("OutgoingMail", "private", "127.0.0.1", 2587),
)


@dataclass(frozen=True)
class ListenersSection(Section):
    name: ClassVar[str] = "listeners"
    title: ClassVar[str] = "SMTP listeners"

    listeners: tuple[Listener, ...] = field(default=DEFAULT_LISTENERS, metadata={"item": "listener"})

    def validate(self) -> None:
        check_unique((l.name for l in self.listeners), "listeners", "listener name")
        check_unique((f"{l.interface}:{l.port}" for l in self.listeners), "listeners", "address and port")

    def get(self, name: str) -> Listener | None:
        return next((l for l in self.listeners if l.name.lower() == name.lower()), None)


POLICY_ACTIONS = ("accept", "reject", "tcprefuse", "relay")
SPF_CONFORMANCE = ("spf", "sidf-compatible", "sidf")
#: The SPF results a mail flow policy may refuse, in the appliance's order (a Pass is always accepted).
SPF_REFUSABLE = ("none", "neutral", "softfail", "fail", "temperror", "permerror")


@lru_cache(maxsize=64)
def spf_results(text: str) -> frozenset[str]:
    return frozenset(w.strip().lower() for w in text.split(",") if w.strip())


def spf_results_problem(text: str) -> str | None:
    unknown = sorted(spf_results(text) - set(SPF_REFUSABLE))
    if unknown:
        return f"{', '.join(unknown)} is not an SPF result that can be refused ({', '.join(SPF_REFUSABLE)})"
    return None


SMTP_AUTH_MODES = ("off", "preferred", "required")


@dataclass(frozen=True)
class MailFlowPolicy(Record):
    name: str = setting(help="The mail flow policy's name.", check=name_rule("policy name"))
    action: str = setting(help="What the policy does with a connection.", choices=POLICY_ACTIONS)
    max_message_bytes: int = setting(10 * 1024 * 1024, help="The largest message accepted.", low=1024,
                                     high=1024**3, unit="bytes", option="max-message-size")
    max_recipients: int = setting(1000, help="Recipients per message.", low=1, high=100000)
    max_messages_per_hour: int = setting(0, help="Messages per hour from one client address (0: no limit).",
                                         low=0, high=10**7)
    max_connections_per_ip: int = setting(50, help="Concurrent connections from one address.", low=1,
                                          high=100000)
    tls: str = setting("preferred", help="TLS for the conversation.", choices=STARTTLS_MODES)
    sdr_check: bool = setting(True, help="Sender domain reputation check at MAIL FROM.", option="sdr")
    spf: str = setting("off", help="SPF verification of the HELO and MAIL FROM identities (RFC 7208).",
                       choices=("off", "on"))
    spf_conformance: str = setting("spf", help="The conformance level: spf (RFC 7208: HELO and MAIL FROM), "
                                   "sidf-compatible (Sender ID, RFC 4406: HELO, MAIL FROM and the PRA, a v=spf1 "
                                   "record standing for MAIL FROM only) or sidf (strict: MAIL FROM and the PRA, a "
                                   "v=spf1 record standing for both).", choices=SPF_CONFORMANCE,
                                   option="spf-conformance")
    spf_downgrade_pra: bool = setting(False, help="sidf-compatible: a PRA Pass counts as None when the message has "
                                      "a Resent-Sender or Resent-From field.", option="spf-downgrade-pra")
    spf_reject: bool = setting(False, help="Refuse mail whose MAIL FROM identity fails SPF (at RCPT) or whose PRA "
                               "fails Sender ID (at the end of DATA): Fail added to both identities' refused "
                               "results.", option="spf-reject")
    spf_helo_check: bool = setting(True, help="Check the HELO identity too (SPF only and SIDF compatible; SIDF "
                                   "strict checks none).", option="spf-helo-check")
    spf_helo_reject: str = setting("", help="The SPF results of the HELO identity refused at RCPT, comma separated "
                                   f"({', '.join(SPF_REFUSABLE)}); empty: every result accepted.",
                                   check=spf_results_problem, option="spf-helo-reject")
    spf_mailfrom_reject: str = setting("", help="The SPF results of the MAIL FROM identity refused at RCPT, as "
                                       "--spf-helo-reject.", check=spf_results_problem,
                                       option="spf-mailfrom-reject")
    spf_pra_reject: str = setting("", help="The Sender ID results of the PRA refused at the end of DATA (the SIDF "
                                  "levels), as --spf-helo-reject.", check=spf_results_problem,
                                  option="spf-pra-reject")
    spf_reject_code: int = setting(550, help="The SMTP reply code of an SPF refusal.", low=500, high=599,
                                   option="spf-reject-code")
    spf_reject_text: str = setting("#5.7.1 SPF unauthorized mail is prohibited.", help="The text of an SPF "
                                   "refusal.", check=reply_text_problem, option="spf-reject-text")
    spf_publisher_text: bool = setting(True, help="Refuse a Neutral, SoftFail or Fail with the explanation the "
                                       "domain publishes (exp=), when it has one, instead of the reject text.",
                                       option="spf-publisher-text")
    spf_defer_code: int = setting(451, help="The SMTP reply code when a refused result is TempError.", low=400,
                                  high=499, option="spf-defer-code")
    spf_defer_text: str = setting("#4.4.3 Temporary error occurred during SPF verification.", help="The text "
                                  "when a refused result is TempError.", check=reply_text_problem,
                                  option="spf-defer-text")
    spf_timeout: int = setting(40, help="The time limit of one identity's whole SPF check (RFC 7208 4.6.4: at "
                               "least 20 seconds).", low=20, high=300, unit="seconds", option="spf-timeout")
    dmarc_verify: bool = setting(False, help="Check DMARC (RFC 7489) on the mail received: the From domain's "
                                 "policy against SPF and DKIM alignment (dmarcconfig says what failures get).",
                                 option="dmarc-verify")
    dkim_verify: bool = setting(False, help="Verify DKIM signatures of the mail received (the verification "
                                "profile says what a failure gets).", option="dkim-verify")
    dmarc_profile: str = setting("DEFAULT", help="The DMARC verification profile (dmarcconfig) of the mail "
                                 "received.", check=name_rule("verification profile name"), option="dmarc-profile")
    dkim_profile: str = setting("DEFAULT", help="The DKIM verification profile (domainkeysconfig) of the mail "
                                "received.", check=name_rule("verification profile name"), option="dkim-profile")
    smtp_auth: str = setting("preferred", help="SMTP AUTH: off (not offered), preferred (offered after "
                             "STARTTLS where the listener has a profile) or required (no mail without it).",
                             choices=SMTP_AUTH_MODES, option="smtp-auth")

    def spf_refused(self, identity: str) -> frozenset[str]:
        """The results refused for an identity: helo, mailfrom or pra (the appliance's Reject actions)."""
        words = {"helo": self.spf_helo_reject, "mailfrom": self.spf_mailfrom_reject, "pra": self.spf_pra_reject}
        refused = spf_results(words[identity])
        return refused | {"fail"} if self.spf_reject and identity != "helo" else refused

    def spf_reply(self, result: str, published: str = "") -> str:
        """The SMTP reply refusing an SPF result: TempError deferred, the rest rejected (with the domain's
        explanation for Neutral, SoftFail and Fail when it gave one and the policy takes it)."""
        if result == "temperror":
            return f"{self.spf_defer_code} {self.spf_defer_text}"
        if published and self.spf_publisher_text and result in ("neutral", "softfail", "fail"):
            return f"{self.spf_reject_code} {published}"
        return f"{self.spf_reject_code} {self.spf_reject_text}"


@dataclass(frozen=True)
class SenderGroup(Record):
    """Host access table row: who (IP, CIDR, host name, .domain, ALL) gets which policy."""

    name: str
    listener_kind: str
    policy: str
    senders: tuple[str, ...] = field(default=(), metadata={"item": "sender"})
    #: An SBRS range ("-10.0:-3.0"): clients whose IP reputation score lies in it match the group.
    sbrs_range: str = ""

    def validate(self) -> None:
        check_name(self.name, "name", "sender group name")
        if self.sbrs_range:
            low, _, high = self.sbrs_range.partition(":")
            try:
                if not -10 <= float(low) <= float(high) <= 10:
                    raise ValueError
            except ValueError:
                raise ConfigError("an SBRS range is LOW:HIGH within -10.0 and 10.0", "sbrs_range") from None
        if self.listener_kind not in LISTENER_KINDS:
            raise ConfigError("listener_kind must be public or private", "listener_kind")
        for s in self.senders:
            check_sender_pattern(s)


def check_sender_pattern(value: str) -> None:
    import ipaddress

    if value == "ALL":
        return
    try:
        ipaddress.ip_network(value, strict=False)
        return
    except ValueError:
        pass
    check_domain_pattern(value, "senders")


@dataclass(frozen=True)
class HatSection(Section):
    name: ClassVar[str] = "hat"
    title: ClassVar[str] = "Host access table and mail flow policies"

    policies: tuple[MailFlowPolicy, ...] = field(
        default=(
            MailFlowPolicy("ACCEPTED", "accept"),
            MailFlowPolicy("BLOCKED", "reject"),
            MailFlowPolicy("THROTTLED", "accept", max_recipients=25, max_messages_per_hour=100,
                           max_connections_per_ip=10),
            MailFlowPolicy("TRUSTED", "accept", max_recipients=5000, max_connections_per_ip=600),
            MailFlowPolicy("RELAYED", "relay", max_recipients=5000, max_connections_per_ip=600, sdr_check=False),
        ),
        metadata={"item": "policy"},
    )
    sender_groups: tuple[SenderGroup, ...] = field(
        default=(
            SenderGroup("ALLOWED_LIST", "public", "TRUSTED"),
            SenderGroup("BLOCKED_LIST", "public", "BLOCKED", sbrs_range="-10.0:-3.0"),
            SenderGroup("SUSPECTLIST", "public", "THROTTLED", sbrs_range="-3.0:-1.0"),
            SenderGroup("UNKNOWNLIST", "public", "ACCEPTED", ("ALL",)),
            SenderGroup("RELAYLIST", "private", "RELAYED", ("127.0.0.0/8", "::1")),
        ),
        metadata={"item": "sender_group"},
    )

    def validate(self) -> None:
        check_unique((p.name for p in self.policies), "policies", "policy name")
        check_unique((g.name for g in self.sender_groups), "sender_groups", "sender group name")
        names = {p.name for p in self.policies}
        for g in self.sender_groups:
            if g.policy not in names:
                raise ConfigError(f"sender group {g.name} uses the unknown policy {g.policy!r}", "sender_groups")

    def policy(self, name: str) -> MailFlowPolicy:
        return next(p for p in self.policies if p.name == name)

    def naming(self, field: str, profile: str) -> list[str]:
        """The policies whose ``field`` (dkim_profile, dmarc_profile) names ``profile``: it cannot go while they do."""
        return [p.name for p in self.policies if getattr(p, field).lower() == profile.lower()]


@dataclass(frozen=True)
class Route(Record):
    """smtproutes: mail for a domain (or ALL) goes to these hosts; '/dev/null' drops it."""

    domain: str
    hosts: tuple[str, ...] = field(default=(), metadata={"item": "host"})
    #: An outgoing SMTP AUTH profile (smtpauthconfig) the delivery agent logs in with at these hosts.
    auth_profile: str = ""

    def validate(self) -> None:
        check_domain_pattern(self.domain, "domain")
        if not self.hosts:
            raise ConfigError("a route needs at least one destination host", "hosts")
        for h in self.hosts:
            if h == "/dev/null":
                continue
            host, _, port = h.rpartition(":") if h.count(":") == 1 or h.startswith("[") else (h, "", "")
            if port:
                if not port.isdigit():
                    raise ConfigError(f"{h!r}: the port must be a number", "hosts")
                check_port(int(port), "hosts")
            name = host.strip("[]") or h
            if name.isascii():
                check_hostname_or_ip(name, "hosts")
            else:
                check_domain_pattern(name, "hosts")  # an internationalised host name, checked as its A-label


@dataclass(frozen=True)
class RoutesSection(Section):
    name: ClassVar[str] = "routes"
    title: ClassVar[str] = "SMTP routes"

    routes: tuple[Route, ...] = field(default=(), metadata={"item": "route"})

    def validate(self) -> None:
        check_unique((r.domain.lower() for r in self.routes), "routes", "route domain")


DEST_TLS = ("none", "preferred", "required", "required-verify")


@dataclass(frozen=True)
class Destination(Record):
    """destconfig: per-destination delivery controls ('default' applies to every other domain)."""

    domain: str = setting(help="The destination domain ('default': every other domain).",
                          check=lambda d: None if d == "default" else domain_pattern_problem(d))
    tls: str = setting("preferred", help="TLS toward the destination.", choices=DEST_TLS)
    concurrency: int = setting(20, help="Concurrent connections to the destination.", low=1, high=1000)
    bounce_profile: str = setting("", help="The bounce profile for this destination (bounceconfig); empty: the "
                                  "receiving listener's.", check=optional_name_rule("bounce profile name"),
                                  option="bounce-profile")


@dataclass(frozen=True)
class DeliverySection(Section):
    name: ClassVar[str] = "delivery"
    title: ClassVar[str] = "Delivery: destinations, retries, bounces"

    destinations: tuple[Destination, ...] = field(default=(Destination("default"),), metadata={"item": "destination"})
    connect_timeout_seconds: int = setting(30, help="Seconds to connect.", low=1, high=600, unit="seconds")
    command_timeout_seconds: int = setting(300, help="Seconds per SMTP command.", low=1, high=3600,
                                           unit="seconds")

    def validate(self) -> None:
        check_unique((d.domain.lower() for d in self.destinations), "destinations", "destination")
        if not any(d.domain == "default" for d in self.destinations):
            raise ConfigError("the 'default' destination is required", "destinations")

    def for_domain(self, domain: str) -> Destination:
        d = domain.lower()
        for dest in self.destinations:
            if dest.domain.lower() == d:
                return dest
        return next(x for x in self.destinations if x.domain == "default")


def header_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a header field's name (RFC 5322 2.2: printable ASCII but the colon)."""
    return None if re.fullmatch(r"[!-9;-~]{1,76}", name) else f"{name!r} is not a header name"


@dataclass(frozen=True)
class StripHeadersSection(Section):
    """stripheaders: header fields removed from every message before it is delivered."""

    name: ClassVar[str] = "strip_headers"
    title: ClassVar[str] = "Headers stripped before delivery"

    headers: tuple[str, ...] = setting((), help="Header fields removed from every message before delivery.",
                                       check=header_name_problem, item="header")

    def validate(self) -> None:
        check_unique((h.lower() for h in self.headers), "headers", "header")


@dataclass(frozen=True)
class BounceProfile(Record):
    """bounceconfig: how long and how often soft-bounced mail is retried, and what bounce messages are sent."""

    name: str = setting(help="The bounce profile's name.", check=name_rule("bounce profile name"))
    max_retries: int = setting(100, help="Retries of a soft-bounced recipient before it hard bounces.", low=0,
                               high=10000, option="max-retries")
    max_queue_seconds: int = setting(259200, help="Seconds a message may stay in the queue before its recipients "
                                     "hard bounce.", low=1, high=30 * 86400, unit="seconds",
                                     option="max-queue-time")
    initial_retry_seconds: int = setting(60, help="Seconds before the first retry.", low=1, high=86400,
                                         unit="seconds", option="initial-retry")
    max_retry_seconds: int = setting(3600, help="The longest wait between retries (the wait doubles up to it).",
                                     low=1, high=7 * 86400, unit="seconds", option="max-retry")
    hard_bounce_messages: bool = setting(True, help="Send a bounce message when a recipient hard bounces.",
                                         option="hard-bounce")
    dsn_format: bool = setting(True, help="Bounce and warning messages as delivery status notifications "
                               "(RFC 3464); no: a plain text message.", option="dsn")
    delay_warnings: bool = setting(False, help="Send delay warning messages while a recipient soft bounces.",
                                   option="delay-warnings")
    warning_interval_seconds: int = setting(14400, help="Seconds between delay warning messages.", low=1,
                                            high=30 * 86400, unit="seconds", option="warning-interval")
    max_warnings: int = setting(1, help="Delay warning messages per message.", low=1, high=100,
                                option="max-warnings")
    bounce_address: str = setting("", help="Send bounce and warning messages to this address instead of the sender "
                             "(empty: the sender).", check=lambda a: address_problem(a) if a else None,
                             option="bounce-to")

    def validate(self) -> None:
        check_range(self.max_retry_seconds, self.initial_retry_seconds, 7 * 86400, "max_retry_seconds")


@dataclass(frozen=True)
class BouncesSection(Section):
    """bounceconfig: the bounce profiles; listeners and destinations name theirs, 'Default' is everyone else's."""

    name: ClassVar[str] = "bounces"
    title: ClassVar[str] = "Bounce profiles"

    profiles: tuple[BounceProfile, ...] = field(default=(BounceProfile("Default"),), metadata={"item": "profile"})

    def validate(self) -> None:
        check_unique((p.name.lower() for p in self.profiles), "profiles", "bounce profile name")
        if not any(p.name == "Default" for p in self.profiles):
            raise ConfigError("the Default bounce profile is required", "profiles")

    def get(self, name: str) -> BounceProfile | None:
        return next((p for p in self.profiles if p.name.lower() == name.lower()), None)

    def profile(self, name: str) -> BounceProfile:
        """The profile named ``name``, or Default (a name no profile has any more falls back to it)."""
        return self.get(name) or self.get("Default") or BounceProfile("Default")

    @classmethod
    def first_appearance(cls, stored):
        """Before bounce profiles, the delivery section held the one retry schedule: it becomes Default's."""
        old = stored.get("delivery", {})
        moved = {new: old[was] for was, new in (("retry_initial_seconds", "initial_retry_seconds"),
                                                 ("retry_max_seconds", "max_retry_seconds"),
                                                 ("max_queue_lifetime_seconds", "max_queue_seconds"))
                 if isinstance(old.get(was), int)}
        try:
            return cls((BounceProfile("Default", **moved),))
        except ConfigError:
            return cls()


SMTP_AUTH_KINDS = ("accounts", "outgoing")


@dataclass(frozen=True)
class SmtpAuthProfile(Record):
    """smtpauthconfig: who a listener's clients authenticate against, or what the gateway logs in with at a
    smart host (an outgoing profile, named by an SMTP route)."""

    name: str = setting(help="The profile's name.", check=name_rule("profile name"))
    kind: str = setting("accounts", help="accounts: the gateway's user accounts check a listener's clients; "
                        "outgoing: the user name and passphrase the gateway logs in with at a smart host.",
                        choices=SMTP_AUTH_KINDS)
    username: str = setting("", help="The user name an outgoing profile logs in with.")
    password: Optional[Secret] = setting(None, help="The passphrase an outgoing profile logs in with.", secret=True)

    def validate(self) -> None:
        if self.kind == "outgoing" and (not self.username or self.password is None):
            raise ConfigError(f"the outgoing profile {self.name} needs a user name and a passphrase", "username")


@dataclass(frozen=True)
class SmtpAuthSection(Section):
    name: ClassVar[str] = "smtp_auth"
    title: ClassVar[str] = "SMTP AUTH profiles"

    profiles: tuple[SmtpAuthProfile, ...] = field(default=(), metadata={"item": "profile"})

    def validate(self) -> None:
        check_unique((p.name.lower() for p in self.profiles), "profiles", "SMTP AUTH profile name")

    def get(self, name: str) -> SmtpAuthProfile | None:
        return next((p for p in self.profiles if p.name.lower() == name.lower()), None)
