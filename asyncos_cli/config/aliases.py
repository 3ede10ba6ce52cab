"""aliasconfig: the alias table (one address to many), its domain contexts, nesting, loops and file format.

An alias is a full address (``admin@example.com``) or a local part (``admin``) that, within its domain
context (``[example.com, example.net]`` in the file; none: every domain), stands for ``admin@`` any of those
domains. Its targets are addresses, or bare names that mean the same local part at the recipient's domain;
a target that is itself an alias is expanded in turn, at most MAX_DEPTH levels deep. A loop is refused when
the table is written (import, new, edit) and, should one ever meet a message, that recipient is kept as it
was addressed and the log says why.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import ClassVar

from .addresses import AddressError, address_problem, ascii_domain, split
from .fields import ConfigError, Record, Section, setting
from .validators import check_unique, domain_pattern_problem

#: How deep aliases may nest (an alias whose target is an alias whose target is ...), as on the appliance.
MAX_DEPTH = 10


class AliasLoop(ValueError):
    """Expanding an address came back to it, or nested deeper than MAX_DEPTH."""


def _alias_problem(name: str) -> str | None:
    if "@" in name:
        return address_problem(name)
    if not name or any(c in name for c in " \t,:<>[]\"") or not name.isprintable():
        return f"{name!r} is not an alias name (a local part, or a full address)"
    return None


def _target_problem(target: str) -> str | None:
    return address_problem(target) if "@" in target else _alias_problem(target)


@dataclass(frozen=True)
class Alias(Record):
    alias: str = setting(help="The alias: a local part (in its domain context) or a full address.",
                         check=_alias_problem)
    targets: tuple[str, ...] = setting((), help="Where its mail goes: addresses, or local parts at the "
                                       "recipient's domain.", check=_target_problem, item="target", option="to")
    #: The domain context of a local-part alias (empty: every domain).
    domains: tuple[str, ...] = setting((), help="The domains a local-part alias applies to (empty: all).",
                                       check=domain_pattern_problem, item="domain", option="domains")

    def validate(self) -> None:
        if not self.targets:
            raise ConfigError(f"the alias {self.alias} needs at least one target", "targets")
        if "@" in self.alias and self.domains:
            raise ConfigError(f"{self.alias} is a full address: a domain context applies to local parts only",
                              "domains")

    def matches(self, local: str, domain: str) -> bool:
        if "@" in self.alias:
            a_local, a_domain = split(self.alias)
            return a_local.lower() == local.lower() and ascii_domain(a_domain) == domain
        if self.alias.lower() != local.lower():
            return False
        return not self.domains or any(ascii_domain(d) == domain for d in self.domains)

    def key(self) -> str:
        return self.alias.lower() + "|" + ",".join(sorted(ascii_domain(d) for d in self.domains))


@dataclass(frozen=True)
class AliasesSection(Section):
    name: ClassVar[str] = "aliases"
    title: ClassVar[str] = "Alias table"

    aliases: tuple[Alias, ...] = field(default=(), metadata={"item": "alias"})

    def validate(self) -> None:
        check_unique((a.key() for a in self.aliases), "aliases", "alias (in its domain context)")
        for a in self.aliases:
            for domain in a.domains or ("example.invalid",):  # a context-free alias: any domain will do
                address = f"{a.alias}@{domain}" if "@" not in a.alias else a.alias
                try:
                    self.expand(address)
                except AliasLoop as e:
                    raise ConfigError(str(e), "aliases") from None

    @functools.cached_property
    def _by_local_part(self) -> dict[str, list[Alias]]:
        """Aliases by lower-case local part, full-address ones first: a lookup is a dictionary hit."""
        index: dict[str, list[Alias]] = {}
        for a in sorted(self.aliases, key=lambda a: "@" not in a.alias):
            index.setdefault((split(a.alias)[0] if "@" in a.alias else a.alias).lower(), []).append(a)
        return index

    def find(self, address: str) -> Alias | None:
        """The alias ``address`` is (full-address aliases before local-part ones), or None."""
        try:
            local, domain = split(address)
            domain = ascii_domain(domain)
        except AddressError:
            return None
        for a in self._by_local_part.get(local.lower(), ()):
            if a.matches(local, domain):
                return a
        return None

    def expand(self, address: str) -> list[str]:
        """The addresses mail for ``address`` goes to: itself when it is no alias. AliasLoop on a loop or when
        nesting passes MAX_DEPTH. Duplicates are kept once, in first-seen order."""
        if not self.aliases:
            return [address]
        found: list[str] = []
        self._expand(address, [], found)
        out, seen = [], set()
        for a in found:
            if a.lower() not in seen:
                seen.add(a.lower())
                out.append(a)
        return out

    def _expand(self, address: str, chain: list[str], out: list[str]) -> None:
        alias = self.find(address)
        if alias is None:
            out.append(address)
            return
        if address.lower() in (c.lower() for c in chain):
            raise AliasLoop(f"alias loop: {' -> '.join([*chain, address])}")
        if len(chain) >= MAX_DEPTH:
            raise AliasLoop(f"aliases nested deeper than {MAX_DEPTH} levels: {' -> '.join([*chain, address])}")
        domain = split(address)[1]
        for target in alias.targets:
            self._expand(target if "@" in target else f"{target}@{domain}", [*chain, address], out)


def parse_table(text: str) -> tuple[Alias, ...]:
    """The appliance's alias file: ``alias: target, target`` lines, ``[domain, domain]`` context lines (``[]``
    ends a context), ``#`` comments. ConfigError names the line."""
    out: list[Alias] = []
    context: tuple[str, ...] = ()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            if line.startswith("["):
                if not line.endswith("]"):
                    raise ConfigError("a domain context is written [domain, domain]")
                context = tuple(d.strip() for d in line[1:-1].split(",") if d.strip())
                for d in context:
                    problem = domain_pattern_problem(d)
                    if problem:
                        raise ConfigError(problem)
                continue
            name, sep, targets = line.partition(":")
            if not sep:
                raise ConfigError("expected 'alias: target, target'")
            name = name.strip()
            out.append(Alias(name, tuple(t.strip() for t in targets.split(",") if t.strip()),
                             () if "@" in name else context))
        except ConfigError as e:
            raise ConfigError(f"line {number}: {e.message}") from None
    return tuple(out)


def format_table(aliases: tuple[Alias, ...]) -> str:
    """The table in the file format parse_table reads (a context line wherever the context changes)."""
    lines = ["# alias table (aliasconfig export)"]
    context: tuple[str, ...] = ()
    for a in aliases:
        if "@" not in a.alias and a.domains != context:
            lines.append(f"[{', '.join(a.domains)}]")
            context = a.domains
        lines.append(f"{a.alias}: {', '.join(a.targets)}")
    return "\n".join(lines) + "\n"
