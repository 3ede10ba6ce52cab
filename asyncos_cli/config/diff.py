"""Differences between two configuration documents, field by field."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .fields import Record, Secret, format_scalar
from .schema import Config


@dataclass(frozen=True)
class Change:
    path: str
    old: str | None  # None: the value did not exist
    new: str | None


def _flatten(value, path: str, out: dict[str, str]) -> None:
    if isinstance(value, Record):
        for f in dataclasses.fields(value):
            _flatten(getattr(value, f.name), f"{path}.{f.name}", out)
    elif isinstance(value, tuple):
        # Items are keyed by their name where they have one, so that inserting
        # one entry does not show every later entry as changed.
        for i, item in enumerate(value):
            key = getattr(item, "name", None) if isinstance(item, Record) else None
            _flatten(item, f"{path}[{key if key is not None else i}]", out)
        if not value:
            out[path] = "(none)"
    elif isinstance(value, Secret):
        out[path] = f"(encrypted passphrase {value.token[-8:]})"
    elif value is None:
        out[path] = "(not set)"
    else:
        out[path] = format_scalar(value)


def flatten(config: Config) -> dict[str, str]:
    out: dict[str, str] = {}
    for section in config.sections():
        _flatten(section, section.name, out)
    return out


def diff(old: Config, new: Config) -> list[Change]:
    a, b = flatten(old), flatten(new)
    changes = []
    for path in list(dict.fromkeys([*a, *b])):
        if a.get(path) != b.get(path):
            changes.append(Change(path, a.get(path), b.get(path)))
    return changes


def render(changes: list[Change]) -> str:
    if not changes:
        return "No differences."
    lines = []
    for c in changes:
        if c.old is not None and c.new is not None and c.old.startswith("(encrypted"):
            lines.append(f"~ {c.path}: passphrase changed")
            continue
        if c.old is not None:
            lines.append(f"- {c.path}: {c.old}")
        if c.new is not None:
            lines.append(f"+ {c.path}: {c.new}")
    return "\n".join(lines)
