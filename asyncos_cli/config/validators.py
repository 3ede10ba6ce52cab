"""Checks shared by sections, wizards and batch forms (one wording everywhere)."""

from __future__ import annotations

import ipaddress
import re

from .fields import ConfigError

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)


def hostname_problem(name: str) -> str | None:
    """Why ``name`` is not a fully qualified host name, or None when it is.

    RFC 1123 host names: labels of 1-63 letters, digits and hyphens, not
    starting or ending with a hyphen, 253 characters at most, and at least
    two labels (the appliance wants a fully qualified name).
    """
    if not name:
        return "the host name is empty"
    if len(name) > 253:
        return f"the host name is {len(name)} characters long; the limit is 253"
    if name.endswith("."):
        name = name[:-1]
    labels = name.split(".")
    if len(labels) < 2:
        return "the host name must be fully qualified (for example mail.example.com)"
    for label in labels:
        if not label:
            return "the host name has an empty label (two dots in a row)"
        if len(label) > 63:
            return f"the label {label[:20]!r}... is longer than 63 characters"
        if not _LABEL.match(label):
            if label.startswith("-") or label.endswith("-"):
                return f"the label {label!r} starts or ends with a hyphen"
            bad = sorted({c for c in label if not (c.isascii() and (c.isalnum() or c == "-"))})
            return f"the label {label!r} has characters a host name cannot hold: {' '.join(bad)}"
    if labels[-1].isdigit():
        return "the last label of a host name cannot be all digits"
    return None


def check_hostname(name: str, field: str = "hostname") -> None:
    problem = hostname_problem(name)
    if problem:
        raise ConfigError(problem, field)


def check_range(value: float, low: float, high: float, field: str) -> None:
    if not low <= value <= high:
        raise ConfigError(f"must be from {low} to {high}, got {value}", field)


def check_port(value: int, field: str = "port") -> None:
    check_range(value, 1, 65535, field)


def check_name(value: str, field: str, what: str = "name") -> None:
    """Names of subscriptions, users, profiles: letters, digits, '_', '-' and '.'."""
    if not value:
        raise ConfigError(f"the {what} is empty", field)
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
        raise ConfigError(
            f"the {what} {value!r} may hold only letters, digits, '_', '-' and '.' (64 at most)",
            field,
        )


def check_unique(names, field: str, what: str) -> None:
    seen = set()
    for n in names:
        if n in seen:
            raise ConfigError(f"the {what} {n!r} appears twice", field)
        seen.add(n)


def check_hostname_or_ip(value: str, field_name: str) -> None:
    try:
        ipaddress.ip_address(value)
        return
    except ValueError:
        pass
    if "." not in value and value != "localhost":
        raise ConfigError(f"{value!r} is neither an IP address nor a host name", field_name)
    if value != "localhost":
        check_hostname(value, field_name)


# ---------------------------------------------------------------- field checks (setting(check=...))


def ip_problem(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return f"{value!r} is not an IP address"
    return None


def name_rule(what: str):
    """A ``check`` for names of ``what`` (listeners, users, quarantines...), with check_name's wording."""

    def problem(value: str) -> str | None:
        try:
            check_name(value, "", what)
        except ConfigError as e:
            return e.message
        return None

    return problem


def optional_name_rule(what: str):
    """As :func:`name_rule`, where empty means "none"."""
    rule = name_rule(what)
    return lambda value: rule(value) if value else None


def interface_ref_problem(value: str) -> str | None:
    """An interface named by its name (interfaceconfig) or by its IP address."""
    if not ip_problem(value) or not name_rule("interface name")(value):
        return None
    return f"{value!r} is neither an interface name nor an IP address"


def url_problem(value: str) -> str | None:
    if value and not re.match(r"https?://[^\s]+$", value):
        return "the URL must be http(s)://..."
    return None


def printable_problem(value: str) -> str | None:
    if len(value) > 255 or not value.isprintable():
        return "up to 255 printable characters"
    return None


def domain_pattern_problem(value: str) -> str | None:
    try:
        check_domain_pattern(value, "")
    except ConfigError as e:
        return e.message
    return None


def check_domain_pattern(value: str, field_name: str) -> None:
    """A domain, a '.domain' (its subdomains) or 'ALL'; IDN domains in U-label or A-label form."""
    if value == "ALL":
        return
    name = value[1:] if value.startswith(".") else value
    if name.isascii() and not name.lower().startswith("xn--") and ".xn--" not in name.lower():
        check_hostname(name if "." in name else name + ".invalid", field_name)
        return
    try:
        import idna  # only for internationalized names: it costs start-up time

        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except Exception as e:  # idna raises several error types; all mean "not a domain"
        raise ConfigError(f"{value!r} is not a domain name ({e})", field_name) from None
    check_hostname(ascii_name if "." in ascii_name else ascii_name + ".invalid", field_name)


def reply_text_problem(text: str) -> str | None:
    """An SMTP reply's text: one line of printable ASCII (RFC 5321 4.2), not too long for a reply line."""
    if not text.strip():
        return "the reply text is empty"
    if not all(" " <= c <= "~" for c in text):
        return "the reply text must be printable ASCII on one line"
    if len(text) > 400:
        return "the reply text is longer than 400 characters"
    return None
