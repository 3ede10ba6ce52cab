"""Envelope addresses: parsing, routing-syntax refusal, IDN conversion.

Domains are converted with the ``idna`` package (IDNA 2008 + UTS #46), never
Python's built-in "idna" codec, which implements IDNA 2003 and maps some
names (faß.de) to a different domain.
"""

from __future__ import annotations

import idna


class AddressError(ValueError):
    pass


def split(address: str) -> tuple[str, str]:
    """``local@domain`` -> (local, domain); the last '@' outside quotes separates them."""
    in_quotes = False
    at = -1
    for i, c in enumerate(address):
        if c == '"':
            in_quotes = not in_quotes
        elif c == "@" and not in_quotes:
            at = i
    if at <= 0 or at == len(address) - 1:
        raise AddressError(f"<{address}> is not a mailbox (local@domain)")
    return address[:at], address[at + 1 :]


def routing_problem(address: str) -> str | None:
    """Why an address carries routing syntax a public listener must refuse, or None.

    Refused even for accepted domains: '%' and '!' hacks, a second '@', source
    routes (@host:...), quoted local parts holding '@', and IP literals.
    """
    if address.startswith("@"):
        return "source routes are not accepted"
    if address.count("@") > 1:
        local, _ = split(address)
        if local.startswith('"'):
            return "quoted local parts containing '@' are not accepted"
        return "addresses with more than one '@' are not accepted"
    local, domain = split(address)
    if "%" in local or "!" in local:
        return "'%' and '!' routing in the local part is not accepted"
    if domain.startswith("["):
        return "IP address literals are not accepted as recipient domains"
    if '"' in local and "@" in local:
        return "quoted local parts containing '@' are not accepted"
    return None


def ascii_domain(domain: str) -> str:
    """The A-label form of a domain, for routing, MX lookups and non-SMTPUTF8 hops."""
    domain = domain.rstrip(".")
    if domain.isascii():
        return domain.lower()
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as e:
        raise AddressError(f"the domain {domain!r} is not a valid internationalized name: {e}") from None


def unicode_domain(domain: str) -> str:
    try:
        return idna.decode(domain) if domain.lower().startswith("xn--") or ".xn--" in domain.lower() else domain
    except idna.IDNAError:
        return domain


def domain_matches(domain: str, pattern: str) -> bool:
    """'example.com' matches itself; '.example.com' matches its subdomains; 'ALL' matches all."""
    if pattern == "ALL":
        return True
    d = ascii_domain(domain)
    if pattern.startswith("."):
        return d.endswith("." + ascii_domain(pattern[1:]))
    return d == ascii_domain(pattern)


def needs_smtputf8(address: str) -> bool:
    return not address.isascii()


def downgrade(address: str) -> str:
    """The address for a hop without SMTPUTF8: A-label domain; a non-ASCII local part cannot be downgraded."""
    if not address:
        return address
    local, domain = split(address)
    if not local.isascii():
        raise AddressError(
            f"<{address}> has a non-ASCII local part and the next hop does not offer SMTPUTF8"
        )
    return f"{local}@{ascii_domain(domain)}"


def address_problem(text: str) -> str | None:
    """Why ``text`` is not an email address the gateway can send to, or None (for checks and wizards)."""
    try:
        split(text)
    except AddressError as e:
        return f"{text!r} is not an email address: {e}"
    return None
