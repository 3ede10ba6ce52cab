"""The configuration document: every section, in one typed object, and the embedded default.

The sections live by domain (``system``, ``users``, ``access``, ``mailflow``, ``policies``, ``reputation``, ``tls``,
``dlp``, ``monitoring``, ``engines``, ``cloud``, ``remediation``); this module assembles them. The fields of
:class:`Config` are the one list of sections that the store, the XML reader and writer and
``rollbackconfig diff`` walk (``SECTIONS`` is read from them). Importers may keep naming any section or
constant through ``schema``: the domain modules are re-exported here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import Iterator, Mapping

from .access import *  # noqa: F401,F403  (re-exported: importers name sections through schema)
from .access import AdminAccessSection, InterfacesSection
from .aliases import *  # noqa: F401,F403
from .aliases import AliasesSection
from .cloud import *  # noqa: F401,F403
from .cloud import AwarenessSection, CloudSection, LicensingSection
from .dlp import *  # noqa: F401,F403
from .dlp import DlpSection
from .domainkeys import *  # noqa: F401,F403
from .domainkeys import DmarcSection, DomainKeysSection
from .engines import *  # noqa: F401,F403
from .engines import AntispamSection, AntivirusSection, FileReputationSection
from .fields import ConfigError, Record, Secret, Section, field_types
from .mailflow import *  # noqa: F401,F403
from .mailflow import (
    BouncesSection,
    DeliverySection,
    HatSection,
    ListenersSection,
    RoutesSection,
    SmtpAuthSection,
    StripHeadersSection,
)
from .masquerade import *  # noqa: F401,F403
from .monitoring import *  # noqa: F401,F403
from .monitoring import AlertsSection, SnmpSection
from .policies import *  # noqa: F401,F403
from .policies import (
    ContentFiltersSection,
    HashListsSection,
    MailPoliciesSection,
    MessageFiltersSection,
    ProtectedAttachmentsSection,
    QuarantinesSection,
    ScanningSection,
)
from .remediation import RemediationSection
from .reputation import *  # noqa: F401,F403
from .reputation import ReputationSection
from .system import *  # noqa: F401,F403
from .system import DnsSection, LogsSection, NtpSection, OutboundSection, SystemSection
from .tls import *  # noqa: F401,F403
from .tls import CertificatesSection, SslSection
from .users import *  # noqa: F401,F403
from .users import PassphrasePolicySection, SshSection, UsersSection


@dataclass(frozen=True, init=False)
class Config:
    """One immutable configuration document: every section, validated, as a typed attribute.

    The attribute order is the order the XML and diffs show; each attribute is named after its section.
    """

    system: SystemSection
    users: UsersSection
    passphrase_policy: PassphrasePolicySection
    admin_access: AdminAccessSection
    interfaces: InterfacesSection
    ssh: SshSection
    listeners: ListenersSection
    hat: HatSection
    routes: RoutesSection
    delivery: DeliverySection
    bounces: BouncesSection
    strip_headers: StripHeadersSection
    aliases: AliasesSection
    smtp_auth: SmtpAuthSection
    domainkeys: DomainKeysSection
    dmarc: DmarcSection
    mail_policies: MailPoliciesSection
    message_filters: MessageFiltersSection
    content_filters: ContentFiltersSection
    scanning: ScanningSection
    protected_attachments: ProtectedAttachmentsSection
    hash_lists: HashListsSection
    reputation: ReputationSection
    quarantines: QuarantinesSection
    certificates: CertificatesSection
    ssl: SslSection
    dns: DnsSection
    ntp: NtpSection
    dlp: DlpSection
    awareness: AwarenessSection
    snmp: SnmpSection
    alerts: AlertsSection
    antivirus: AntivirusSection
    antispam: AntispamSection
    file_reputation: FileReputationSection
    licensing: LicensingSection
    cloud: CloudSection
    remediation: RemediationSection
    outbound: OutboundSection
    logs: LogsSection

    def __init__(self, sections: Mapping[str, Section]):
        missing = [s.name for s in SECTIONS if s.name not in sections]
        if missing:
            raise ConfigError(f"missing sections: {', '.join(missing)}")
        for name, sec in sections.items():
            if name not in SECTION_BY_NAME or not isinstance(sec, SECTION_BY_NAME[name]):
                raise ConfigError(f"unknown or mistyped section {name!r}")
            object.__setattr__(self, name, sec)

    @classmethod
    def default(cls) -> "Config":
        return cls({s.name: s() for s in SECTIONS})

    def __getitem__(self, name: str) -> Section:
        if name not in SECTION_BY_NAME:
            raise KeyError(name)
        return getattr(self, name)

    def __iter__(self):
        return iter(SECTION_BY_NAME)

    def sections(self) -> Iterator[Section]:
        return (getattr(self, name) for name in SECTION_BY_NAME)

    def as_mapping(self) -> dict[str, Section]:
        return {name: getattr(self, name) for name in SECTION_BY_NAME}

    def with_section(self, section: Section) -> "Config":
        return Config({**self.as_mapping(), section.name: section})

    def __reduce__(self):
        # Worker processes get the snapshot by pickle.
        return (Config, (self.as_mapping(),))


#: Every section, in the order the XML and diffs show them: read from Config's attributes.
SECTIONS: tuple[type[Section], ...] = tuple(field_types(Config)[f.name] for f in dataclasses.fields(Config))
SECTION_BY_NAME: Mapping[str, type[Section]] = MappingProxyType({s.name: s for s in SECTIONS})
assert all(f.name == field_types(Config)[f.name].name for f in dataclasses.fields(Config)), \
    "each Config attribute is named after its section"


def secrets_in(record: Record) -> Iterator[tuple[str, Secret]]:
    """Every secret in a record, with its dotted path."""
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        yield from _secrets_in_value(value, f.name)


def _secrets_in_value(value, path):
    if isinstance(value, Secret):
        yield path, value
    elif isinstance(value, Record):
        for sub, s in secrets_in(value):
            yield f"{path}.{sub}", s
    elif isinstance(value, tuple):
        for i, v in enumerate(value):
            yield from _secrets_in_value(v, f"{path}[{i}]")
