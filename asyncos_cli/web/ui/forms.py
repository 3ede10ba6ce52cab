"""Form fields read and checked with the configuration's own declarations, so a page refuses a value with the
sentence the shell and the XML import give, shown next to the field it is about.

A page collects problems in a ``Problems`` (field name -> sentence); the widgets here render a field with its
label, its declared help and range, its value as typed, and its problem (``aria-invalid`` and
``aria-describedby`` so a screen reader reads the sentence with the field).
"""

from __future__ import annotations

from asyncos_cli.config.fields import (
    ConfigError,
    check_field,
    declaration,
    field_types,
    parse_scalar,
    unwrap_optional,
)

from .html import esc


class Problems(dict):
    """Field name -> what is wrong with it; ``general`` for what belongs to no one field."""

    def add(self, error: ConfigError, fields: tuple[str, ...] = ()) -> None:
        """Put a record's refusal next to the field its path names (``passphrases.priority`` -> ``priority``)."""
        parts = (error.path or "").split(".")
        where = next((p for p in reversed(parts) if p in fields), "general")
        self.setdefault(where, error.message)


def read(cls: type, name: str, text: str | None, problems: Problems, field_name: str | None = None):
    """The form's text for field ``name`` of ``cls`` as a value, or None with the problem noted."""
    tp, _optional = unwrap_optional(field_types(cls)[name])
    key = field_name or name
    try:
        value = (text or "").strip() == "on" if tp is bool else parse_scalar(tp, text or "", key)
        check_field(cls, name, value, key)
        return value
    except ConfigError as e:
        problems.setdefault(key, e.message)
        return None


def help_of(cls: type, name: str) -> str:
    meta = declaration(cls, name).metadata
    text = meta.get("help", "")
    if meta.get("low") is not None and meta.get("high") is not None:
        unit = f" {meta['unit']}" if meta.get("unit") else ""
        text += f" From {meta['low']:g} to {meta['high']:g}{unit}."
    return text


def _described(name: str, problems: Problems, help_text: str) -> tuple[str, str]:
    """(the field's ARIA attributes, the help and problem lines under it)."""
    ids, after = [], ""
    if help_text:
        ids.append(f"{name}-help")
        after += f'<span class="help" id="{name}-help">{esc(help_text)}</span>'
    if name in problems:
        ids.append(f"{name}-error")
        after += f'<span class="field-error" id="{name}-error" role="alert">{esc(problems[name])}</span>'
    attrs = (f' aria-describedby="{" ".join(ids)}"' if ids else "") + (' aria-invalid="true"' if name in problems
                                                                       else "")
    return attrs, after


def text_field(name: str, label: str, value, problems: Problems, kind: str = "text", help_text: str = "",
               extra: str = "") -> str:
    attrs, after = _described(name, problems, help_text)
    return (f'<div class="field"><label for="{name}">{esc(label)}</label>'
            f'<input id="{name}" name="{name}" type="{kind}" value="{esc(value)}"{attrs}{extra}>{after}</div>')


def checkbox(name: str, label: str, checked: bool, value: str = "on", ident: str = "") -> str:
    ident = ident or name
    return (f'<div class="field check"><input type="checkbox" id="{esc(ident)}" name="{esc(name)}" '
            f'value="{esc(value)}"{" checked" if checked else ""}><label for="{esc(ident)}">{esc(label)}</label></div>')


def select(name: str, label: str, options, chosen: str, problems: Problems | None = None) -> str:
    attrs, after = _described(name, problems or Problems(), "")
    opts = "".join(f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(text)}</option>'
                   for v, text in options)
    return (f'<div class="field"><label for="{name}">{esc(label)}</label>'
            f'<select id="{name}" name="{name}"{attrs}>{opts}</select>{after}</div>')


def general(problems: Problems) -> str:
    return f'<p class="error" role="alert">{esc(problems["general"])}</p>' if "general" in problems else ""
