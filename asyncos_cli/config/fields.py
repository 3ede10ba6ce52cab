"""The machinery under every configuration section.

A section is a frozen dataclass whose fields carry plain types (str, int,
float, bool), :class:`Secret`, ``Optional[...]``, ``tuple[X, ...]`` or a
nested :class:`Record`. Construction validates, so an invalid value never
exists as a section object, and therefore never reaches the store.

Each field declares its rules once, with :func:`setting`: choices, range and
unit, a check, help text, whether it is a secret or names a file, and the
batch option that sets it. :class:`Record` checks every field from that
declaration, so a section's ``validate()`` keeps only rules that span several
fields; the shell's batch options, its wizards, the XML reader and (later)
the API reach the same declaration and report the same message.

``to_data``/``from_data`` convert to and from JSON-ready data; the XML
reader and writer walk the same type information (``field_types``).
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from functools import lru_cache


class ConfigError(ValueError):
    """A value that the configuration cannot hold.

    ``path`` names the field (``system.hostname``); ``line`` is the line of
    an input file when there is one.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.path:
            where.append(self.path)
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def at(self, path: str | None = None, line: int | None = None) -> "ConfigError":
        """The same error, located (the innermost location wins)."""
        inner_path = self.path
        if path and inner_path:
            inner_path = f"{path}.{inner_path}"
        elif path:
            inner_path = path
        return ConfigError(self.message, inner_path, self.line if self.line is not None else line)


class Secret:
    """A secret as it is stored: an encrypted token, never the plain text.

    Only :class:`asyncos_cli.config.secrets.Keyring` makes and opens them, so
    a secret cannot leak through ``repr``, a log line or a diff.
    """

    __slots__ = ("token",)

    def __init__(self, token: str):
        if not token or not isinstance(token, str):
            raise ConfigError("an encrypted secret must be a non-empty token")
        self.token = token

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)

    def __repr__(self) -> str:
        return "Secret(********)"


def setting(
    default=dataclasses.MISSING,
    *,
    help: str = "",
    choices: typing.Sequence[str] | None = None,
    low: float | None = None,
    high: float | None = None,
    unit: str = "",
    check: typing.Callable[[typing.Any], "str | None"] | None = None,
    secret: bool = False,
    file: str | None = None,
    option: str | None = None,
    item: str | None = None,
    default_factory=dataclasses.MISSING,
):
    """A field with its declaration: the one place its rules and its help are written.

    ``choices`` and ``check`` apply to each element of a tuple field. ``check`` returns a problem (a
    sentence) or None. ``file`` names the kind of file an option reads (through the session's path
    resolver); ``option`` is the batch option when it is not the field's name with dashes.
    """
    metadata = {k: v for k, v in (("help", help), ("choices", tuple(choices) if choices else None),
                                  ("low", low), ("high", high), ("unit", unit), ("check", check),
                                  ("secret", secret), ("file", file), ("option", option), ("item", item))
                if v is not None and v is not False and v != ""}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


def rule_problem(meta: typing.Mapping, value) -> str | None:
    """What is wrong with one value against a field's declared rules (None when nothing is)."""
    if value is None:
        return None
    if isinstance(value, tuple):
        for item in value:
            problem = rule_problem(meta, item)
            if problem:
                return problem
        return None
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        return f"must be one of {', '.join(choices)}, got {value!r}"
    low, high = meta.get("low"), meta.get("high")
    if low is not None and high is not None and isinstance(value, (int, float)) and not low <= value <= high:
        unit = f" {meta['unit']}" if meta.get("unit") else ""
        return f"must be from {low} to {high}{unit}, got {value}"
    check = meta.get("check")
    return check(value) if check is not None else None


@lru_cache(maxsize=None)
def _ruled_fields(cls: type) -> tuple:
    hints = field_types(cls)
    return tuple((f.name, hints[f.name], f.metadata if _has_rules(f.metadata) else None)
                 for f in dataclasses.fields(cls))


def _has_rules(meta) -> bool:
    return any(k in meta for k in ("choices", "low", "check"))


def declaration(cls: type, name: str) -> dataclasses.Field:
    """The declared field ``name`` of a record class."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f
    raise KeyError(f"{cls.__name__} has no field {name!r}")


def check_field(cls: type, name: str, value, path: str | None = None) -> None:
    """Check one value against field ``name`` of ``cls`` (type and declared rules), as construction does."""
    _check_type(value, field_types(cls)[name], path or name)
    problem = rule_problem(declaration(cls, name).metadata, value)
    if problem:
        raise ConfigError(problem, path or name)


class Record:
    """Base of every configuration dataclass: validates on construction.

    Subclasses are ``@dataclasses.dataclass(frozen=True)``; each field's own rules are declared with
    :func:`setting` and checked here; :meth:`validate` holds the rules that span several fields.
    """

    def __post_init__(self) -> None:
        for name, tp, meta in _ruled_fields(type(self)):
            value = getattr(self, name)
            _check_type(value, tp, name)
            if meta is not None:
                problem = rule_problem(meta, value)
                if problem:
                    raise ConfigError(problem, name)
        self.validate()

    def validate(self) -> None:
        """Check the values together; raise ConfigError naming the field."""

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


class Section(Record):
    """A top-level part of the configuration, stored and versioned alone."""

    #: The section's name in the store, in XML and in diffs.
    name: typing.ClassVar[str] = ""
    #: One line shown in ``rollbackconfig diff`` and the XML comments.
    title: typing.ClassVar[str] = ""

    @classmethod
    def first_appearance(cls, stored: typing.Mapping[str, dict]):
        """This section in a stored version written before the section existed; ``stored`` holds that
        version's raw sections, so a setting that moved here from another section keeps its value."""
        return cls()

    def commit_check(self) -> None:
        """Checks for new values only (staging and commit), never for stored versions: a rule added by
        a later release must not make an older version unreadable. Raise ConfigError naming the field."""


def item_tag(f: dataclasses.Field) -> str:
    """The XML tag of one element of a tuple field."""
    return f.metadata.get("item", "item")


@lru_cache(maxsize=None)
def field_types(cls: type) -> dict[str, typing.Any]:
    return typing.get_type_hints(cls)


def _unwrap_optional(tp):
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _type_name(tp) -> str:
    tp, optional = _unwrap_optional(tp)
    if typing.get_origin(tp) is tuple:
        return f"list of {_type_name(typing.get_args(tp)[0])}"
    name = {str: "text", int: "whole number", float: "number", bool: "yes/no"}.get(tp)
    if name is None:
        name = getattr(tp, "__name__", str(tp))
    return f"{name} or nothing" if optional else name


#: What XML 1.0 cannot carry faithfully (CR is read back as LF): a value holding one could be
#: committed but not saved and loaded again, and would reach log lines unchanged.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\r\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _check_type(value, tp, path: str) -> None:
    tp, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return
        raise ConfigError("a value is required", path)
    if typing.get_origin(tp) is tuple:
        if not isinstance(value, tuple):
            raise ConfigError(f"expected {_type_name(tp)}", path)
        inner = typing.get_args(tp)[0]
        for i, item in enumerate(value):
            _check_type(item, inner, f"{path}[{i}]")
        return
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return
    if tp is int and isinstance(value, bool):
        raise ConfigError(f"expected {_type_name(tp)}", path)
    if not isinstance(value, tp):
        raise ConfigError(f"expected {_type_name(tp)}, got {type(value).__name__}", path)
    if tp is str and _UNSTORABLE.search(value):
        c = _UNSTORABLE.search(value).group()
        raise ConfigError(f"control characters cannot be stored (found U+{ord(c):04X})", path)


def to_data(record: Record) -> dict:
    """JSON-ready data; secrets become ``{"$secret": token}``."""
    out = {}
    for f in dataclasses.fields(record):
        out[f.name] = _value_to_data(getattr(record, f.name))
    return out


def _value_to_data(value):
    if isinstance(value, Secret):
        return {"$secret": value.token}
    if isinstance(value, Record):
        return to_data(value)
    if isinstance(value, tuple):
        return [_value_to_data(v) for v in value]
    return value


def from_data(cls: type, data: typing.Any, path: str = ""):
    """Build ``cls`` from data made by :func:`to_data`.

    A field missing from ``data`` takes its default, so a store written by an
    older release still loads when a later release adds a field.
    """
    if not isinstance(data, dict):
        raise ConfigError("expected a group of settings", path or None)
    hints = field_types(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _value_from_data(hints[f.name], data[f.name], _join(path, f.name))
    try:
        return cls(**kwargs)
    except ConfigError as e:
        raise e.at(path or None) from None
    except TypeError as e:
        raise ConfigError(f"incomplete settings ({e})", path or None) from None


def _value_from_data(tp, value, path: str):
    tp, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        raise ConfigError("a value is required", path)
    if tp is Secret:
        if isinstance(value, dict) and "$secret" in value:
            return Secret(value["$secret"])
        raise ConfigError("expected an encrypted secret", path)
    if typing.get_origin(tp) is tuple:
        inner = typing.get_args(tp)[0]
        if not isinstance(value, list):
            raise ConfigError(f"expected {_type_name(tp)}", path)
        return tuple(_value_from_data(inner, v, f"{path}[{i}]") for i, v in enumerate(value))
    if isinstance(tp, type) and issubclass(tp, Record):
        return from_data(tp, value, path)
    return value


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def parse_scalar(tp, text: str, path: str):
    """Turn the text of an XML element or a batch option into a value of ``tp``."""
    text = text.strip()
    if tp is str:
        return text
    if tp is bool:
        low = text.lower()
        if low in ("yes", "y", "true", "1", "on", "enable", "enabled"):
            return True
        if low in ("no", "n", "false", "0", "off", "disable", "disabled"):
            return False
        raise ConfigError(f"expected yes or no, got {text!r}", path)
    if tp is int:
        try:
            return int(text, 10)
        except ValueError:
            raise ConfigError(f"expected a whole number, got {text!r}", path) from None
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"expected a number, got {text!r}", path) from None
    raise ConfigError(f"cannot read a {_type_name(tp)} from text", path)


def format_scalar(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def unwrap_optional(tp):
    """``(inner type, is optional)`` of a field type."""
    return _unwrap_optional(tp)
