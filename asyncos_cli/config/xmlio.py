"""The configuration as XML, as the appliance's saveconfig/loadconfig/showconfig speak it.

Writing walks the schema; reading walks it again, strictly: a file that is
broken, foreign (another product) or partial (a section or setting missing)
is refused with the line where the problem is, and nothing is changed.

Passphrases are written in one of three ways: ``mask`` (replaced by
asterisks; on load the current secret is kept and reported), ``encrypt``
(the token sealed with this appliance's key; reloadable where the key is)
or ``plain``.

The reader is a small tree builder on pyexpat rather than ElementTree
because error messages need the line of every element, and because it lets
us refuse DTDs and entity declarations outright (no entity expansion of any
kind reaches the parser's output).
"""

from __future__ import annotations

import dataclasses
import re
import time
import typing
from dataclasses import dataclass, field
from xml.parsers import expat
from xml.sax.saxutils import escape

from .. import __version__
from .fields import (
    ConfigError,
    Record,
    Secret,
    field_types,
    format_scalar,
    item_tag,
    parse_scalar,
    unwrap_optional,
)
from .schema import SECTIONS, Config, secrets_in
from .secrets import Keyring

PRODUCT = "asyncos-cli"
#: The file format this release writes; a file of this format must hold every setting. A file of an earlier
#: format is read as the store reads a version an earlier release wrote: a setting it lacks takes its default, a
#: section it lacks is made by the section's first_appearance() from the file's own sections (so a setting that
#: moved keeps its value), and a setting since retired is read only for that. Bump it when settings are added.
FORMAT = "3"
READS = ("1", "2", "3")
#: The settings format 3 holds (settings_fingerprint()): tests/test_xmlio.py fails when they change and FORMAT
#: did not, so that files written before the change are read as an earlier format.
FORMAT_SETTINGS = "2ac5e663c264e698"
MODES = ("mask", "encrypt", "plain")
MASK = "*****"


def settings_fingerprint() -> str:
    """A digest of every setting's path (section, record fields, nested records): what a file format holds."""
    import hashlib

    paths: list[str] = []

    def walk(cls: type, path: str) -> None:
        hints = field_types(cls)
        for f in dataclasses.fields(cls):
            paths.append(f"{path}.{f.name}")
            tp, _ = unwrap_optional(hints[f.name])
            if typing.get_origin(tp) is tuple:
                tp = typing.get_args(tp)[0]
            if isinstance(tp, type) and issubclass(tp, Record):
                walk(tp, f"{path}.{f.name}")

    for section in SECTIONS:
        walk(section, section.name)
    return hashlib.sha256("\n".join(paths).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- writing


def to_xml(config: Config, mode: str, keyring: Keyring | None, saved_by: str = "") -> str:
    if mode not in MODES:
        raise ConfigError(f"unknown passphrase option {mode!r}; choose one of {', '.join(MODES)}")
    note = {
        "mask": "passphrases masked: this file cannot restore them",
        "encrypt": "passphrases encrypted with this appliance's key",
        "plain": "passphrases in PLAIN TEXT: protect this file",
    }[mode]
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<!-- {PRODUCT} {__version__} configuration"
        + (f", saved {time.strftime('%a %b %d %H:%M:%S %Y')} by {saved_by}" if saved_by else "")
        + f"; {note} -->",
        f'<config product="{PRODUCT}" format="{FORMAT}" version="{__version__}" passphrases="{mode}">',
    ]
    for section in config.sections():
        out.append(f"  <!-- {section.title} -->")
        _write_record(out, section.name, section, 1, mode, keyring)
    out.append("</config>")
    return "\n".join(out) + "\n"


def _write_record(out, tag, record, depth, mode, keyring):
    pad = "  " * depth
    out.append(f"{pad}<{tag}>")
    for f in dataclasses.fields(record):
        _write_value(out, f.name, getattr(record, f.name), depth + 1, mode, keyring, f)
    out.append(f"{pad}</{tag}>")


def _write_value(out, tag, value, depth, mode, keyring, f=None):
    pad = "  " * depth
    if value is None:
        out.append(f'{pad}<{tag} unset="yes"/>')
    elif isinstance(value, Secret):
        if mode == "mask":
            out.append(f'{pad}<{tag} masked="yes">{MASK}</{tag}>')
        elif mode == "encrypt":
            out.append(f'{pad}<{tag} encrypted="yes">{escape(value.token)}</{tag}>')
        else:
            out.append(f"{pad}<{tag}>{escape(keyring.reveal(value))}</{tag}>")
    elif isinstance(value, Record):
        _write_record(out, tag, value, depth, mode, keyring)
    elif isinstance(value, tuple):
        if not value:
            out.append(f"{pad}<{tag}/>")
            return
        out.append(f"{pad}<{tag}>")
        for item in value:
            _write_value(out, item_tag(f), item, depth + 1, mode, keyring)
        out.append(f"{pad}</{tag}>")
    else:
        out.append(f"{pad}<{tag}>{escape(format_scalar(value))}</{tag}>")


# ---------------------------------------------------------------- reading


@dataclass
class Node:
    tag: str
    attrs: dict
    line: int
    children: list = field(default_factory=list)
    text: str = ""


@dataclass
class LoadResult:
    config: Config
    #: Paths of masked passphrases for which the current secret was kept.
    kept_masked: list[str]
    passphrases: str


def parse_tree(text: str) -> Node:
    parser = expat.ParserCreate("UTF-8")
    root_holder: list[Node] = []
    stack: list[Node] = []

    def start(tag, attrs):
        node = Node(tag, attrs, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(node)
        elif root_holder:
            raise ConfigError("more than one top-level element", line=parser.CurrentLineNumber)
        else:
            root_holder.append(node)
        stack.append(node)

    def end(tag):
        stack.pop()

    def chars(data):
        if stack:
            stack[-1].text += data

    def refuse_dtd(*args):
        raise ConfigError("document type declarations are not accepted", line=parser.CurrentLineNumber)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    try:
        parser.Parse(text.encode("utf-8") if isinstance(text, str) else text, True)
    except expat.ExpatError as e:
        raise ConfigError(f"the file is not well-formed XML ({expat.ErrorString(e.code)})", line=e.lineno) from None
    if not root_holder:
        raise ConfigError("the file holds no XML element")
    return root_holder[0]


def from_xml(text: str | bytes, keyring: Keyring, current: Config) -> LoadResult:
    root = parse_tree(text)
    if root.tag != "config" or root.attrs.get("product") != PRODUCT:
        what = root.attrs.get("product") or f"<{root.tag}>"
        raise ConfigError(
            f"this is not an {PRODUCT} configuration file (it holds {what})", line=root.line
        )
    if root.attrs.get("format") not in READS:
        raise ConfigError(
            f"configuration format {root.attrs.get('format')!r} is not supported (this release reads "
            f"{', '.join(READS)})", line=root.line,
        )
    reader = _Reader(keyring, current, int(root.attrs["format"]))
    by_tag = reader.children(root, {s.name for s in SECTIONS}, "")
    raw = {n.tag: _raw_settings(n) for n in root.children} if reader.older else {}
    sections = {}
    for cls in SECTIONS:
        node = by_tag.get(cls.name)
        if node is None and reader.older:
            sections[cls.name] = cls.first_appearance(raw)
        elif node is None:
            raise ConfigError(f"the section <{cls.name}> is missing: the file is incomplete", line=root.line)
        else:
            sections[cls.name] = reader.record(cls, node, cls.name)
    return LoadResult(Config(sections), reader.kept_masked, root.attrs.get("passphrases", ""))


def _raw_settings(node: Node) -> dict:
    """A section's single-valued settings as the store keeps them (numbers, yes/no, text): what first_appearance()
    reads of an earlier release's sections."""
    out: dict = {}
    for child in node.children:
        if child.children:
            continue
        text = child.text.strip()
        out[child.tag] = int(text) if re.fullmatch(r"-?\d+", text) else {"yes": True, "no": False}.get(text, text)
    return out


def _children_by_tag(node: Node, allowed: set[str], path: str) -> dict[str, Node]:
    out = {}
    for child in node.children:
        if child.tag not in allowed:
            where = f"<{path}>" if path else "<config>"
            raise ConfigError(f"unknown setting <{child.tag}> in {where}", line=child.line)
        if child.tag in out:
            raise ConfigError(f"<{child.tag}> appears twice", line=child.line)
        out[child.tag] = child
    return out


class _Reader:
    def __init__(self, keyring: Keyring, current: Config, file_format: int = int(FORMAT)):
        self.keyring = keyring
        self.current = current
        self.file_format = file_format
        self.kept_masked: list[str] = []
        self._current_secrets = {
            path: secret
            for section in current.sections()
            for path, secret in (
                (f"{section.name}.{p}", s) for p, s in secrets_in(section)
            )
        }

    @property
    def older(self) -> bool:
        return self.file_format < int(FORMAT)

    def children(self, node: Node, allowed: set[str], path: str) -> dict[str, Node]:
        """The children by tag; in a file of an earlier format, one this release does not know is a setting
        since retired (its section's first_appearance() may read it), not an error."""
        if self.older:
            node = Node(node.tag, node.attrs, node.line, [c for c in node.children if c.tag in allowed], node.text)
        return _children_by_tag(node, allowed, path)

    def record(self, cls: type, node: Node, path: str):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        hints = field_types(cls)
        by_tag = self.children(node, set(fields), path)
        kwargs = {}
        for name, f in fields.items():
            child = by_tag.get(name)
            if child is None and self.older:
                continue  # written before the setting existed: its default
            if child is None:
                raise ConfigError(f"the setting <{name}> is missing from <{node.tag}>", path, node.line)
            kwargs[name] = self.value(hints[name], child, f"{path}.{name}", f)
        try:
            return cls(**kwargs)
        except ConfigError as e:
            field_name = (e.path or "").split(".")[0].split("[")[0]
            line = by_tag[field_name].line if field_name in by_tag else node.line
            raise e.at(path, line) from None

    def value(self, tp, node: Node, path: str, f: dataclasses.Field | None):
        tp, optional = unwrap_optional(tp)
        if node.attrs.get("unset") == "yes":
            if optional:
                return None
            raise ConfigError("a value is required", path, node.line)
        if tp is Secret:
            return self.secret(node, path)
        if typing.get_origin(tp) is tuple:
            inner = typing.get_args(tp)[0]
            tag = item_tag(f) if f is not None else "item"
            items = []
            for i, child in enumerate(node.children):
                if child.tag != tag:
                    raise ConfigError(f"expected <{tag}>, found <{child.tag}>", path, child.line)
                items.append(self.value(inner, child, f"{path}[{i}]", None))
            return tuple(items)
        if isinstance(tp, type) and issubclass(tp, Record):
            return self.record(tp, node, path)
        if node.children:
            raise ConfigError(f"<{node.tag}> holds elements where a value belongs", path, node.line)
        try:
            return parse_scalar(tp, node.text, path)
        except ConfigError as e:
            raise ConfigError(e.message, path, node.line) from None

    def secret(self, node: Node, path: str) -> Secret:
        text = node.text.strip()
        if node.attrs.get("masked") == "yes":
            kept = self._current_secrets.get(path)
            if kept is None:
                raise ConfigError(
                    "this passphrase was masked when the file was saved and there is no current "
                    "one to keep: save the file again with encrypted or plain passphrases",
                    path,
                    node.line,
                )
            self.kept_masked.append(path)
            return kept
        if node.attrs.get("encrypted") == "yes":
            try:
                secret = Secret(text)
                self.keyring.reveal(secret)
            except ConfigError as e:
                raise ConfigError(e.message, path, node.line) from None
            return secret
        if not text:
            raise ConfigError("the passphrase is empty", path, node.line)
        return self.keyring.seal(text)
