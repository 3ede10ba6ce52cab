"""Masquerading: a listener's table that rewrites sender addresses (envelope and headers) to public ones.

The appliance's rule forms, one rule per line of a table file (``source target``, ``#`` comments):

- ``user@internal.example  user@example.com`` an address to another address;
- ``@internal.example  @example.com`` (or ``internal.example example.com``) any user at a domain keeps the
  local part and takes the other domain;
- ``@.internal.example  @example.com`` the same for every subdomain;
- ``user  user@example.com`` an address written without a domain (a partial address).

A full address wins over a domain rule, a domain over its subdomains' rule; the first rule of a kind wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .addresses import AddressError, address_problem, ascii_domain, split
from .fields import ConfigError, Record, setting
from .validators import domain_pattern_problem

#: The header fields masquerading may rewrite (the appliance's choice list).
MASQUERADE_HEADERS = ("From", "To", "Cc", "Reply-To")


def _kind(text: str) -> str:
    if text.startswith("@."):
        return "subdomains"
    if text.startswith("@") or ("@" not in text and "." in text):
        return "domain"
    return "address" if "@" in text else "partial"


@dataclass(frozen=True)
class MasqueradeRule(Record):
    source: str = setting(help="What is rewritten: user@domain, @domain, @.domain or a bare user name.")
    target: str = setting(help="What it becomes: user@domain, or @domain for a domain rule.")

    def validate(self) -> None:
        kind = _kind(self.source)
        if kind in ("domain", "subdomains"):
            domain = self.source.lstrip("@").lstrip(".")
            problem = domain_pattern_problem(domain)
            target = self.target.lstrip("@")
            problem = problem or (f"{self.target!r}: a domain rule rewrites to @domain" if "@" in target
                                  else domain_pattern_problem(target))
        elif kind == "address":
            problem = address_problem(self.source) or address_problem(self.target)
        else:
            problem = (f"{self.source!r} is not a user name" if not re.fullmatch(r"[^\s@<>,:;\"]+", self.source)
                       else address_problem(self.target))
        if problem:
            raise ConfigError(problem, "source")

    @property
    def kind(self) -> str:
        return _kind(self.source)


def rewrite_address(rules: tuple[MasqueradeRule, ...], address: str) -> str:
    """``address`` as the rules rewrite it (unchanged when none applies)."""
    if not rules or not address:
        return address
    if "@" not in address:
        for r in rules:
            if r.kind == "partial" and r.source.lower() == address.lower():
                return r.target
        return address
    try:
        local, domain = split(address)
        domain = ascii_domain(domain)
    except AddressError:
        return address
    for r in rules:
        if r.kind == "address" and r.source.lower() == address.lower():
            return r.target
    for r in rules:
        if r.kind == "domain" and ascii_domain(r.source.lstrip("@")) == domain:
            return f"{local}@{r.target.lstrip('@')}"
    for r in rules:
        if r.kind == "subdomains" and domain.endswith("." + ascii_domain(r.source[2:])):
            return f"{local}@{r.target.lstrip('@')}"
    return address


def parse_rules(text: str) -> tuple[MasqueradeRule, ...]:
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        try:
            if len(words) != 2:
                raise ConfigError("expected 'source target'")
            out.append(MasqueradeRule(words[0], words[1]))
        except ConfigError as e:
            raise ConfigError(f"line {number}: {e.message}") from None
    return tuple(out)


def format_rules(rules: tuple[MasqueradeRule, ...]) -> str:
    return "# masquerading table (masquerade export)\n" + "".join(f"{r.source} {r.target}\n" for r in rules)


_ADDRESS = re.compile(rb"(?<![A-Za-z0-9!#$%&'*+/=?^_`{|}~.-])[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+"
                      rb"|(?<=<)[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+(?=>)")


def rewrite_headers(content: bytes, rules: tuple[MasqueradeRule, ...], names: frozenset[bytes]) -> bytes:
    """The addresses in the header fields ``names`` (lower-case) rewritten; the body never touched."""
    end = content.find(b"\r\n\r\n")
    head, body = (content[:end + 2], content[end + 2:]) if end >= 0 else (content, b"")

    def one(m: re.Match) -> bytes:
        found = m.group().decode("ascii", "replace")
        return rewrite_address(rules, found).encode("utf-8")

    out, inside = [], False
    for line in head.split(b"\r\n"):
        if line[:1] not in (b" ", b"\t"):
            name, sep, value = line.partition(b":")
            inside = bool(sep) and name.strip().lower() in names
            if inside:
                line = name + sep + _ADDRESS.sub(one, value)
        elif inside:
            line = _ADDRESS.sub(one, line)
        out.append(line)
    new = b"\r\n".join(out) + body
    return content if new == content else new
