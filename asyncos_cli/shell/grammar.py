"""A command's batch grammar: its forms, their options, and the usage text made from them.

A command declares its forms once, as the lines an administrator reads in its usage::

    GRAMMAR = Grammar("userconfig", '''
        new NAME [FIELDS] (--passphrase=P | --passphrase-file=FILE | --generate)
        delete NAME
    ''', fields=field_options(UserAccount, "full_name", "role", required=True))

``[FIELDS]`` stands for the options of configuration fields: their names,
types, choices, ranges and help come from the field declarations
(``config.fields.setting``), so a setting is written down once. The shell
reads the grammar before a command runs (an option no form of the
subcommand knows is reported by name, before anything else), completion
offers its subcommands and options, and ``usage`` renders it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from asyncos_cli.config.fields import (
    ConfigError,
    check_field,
    declaration,
    field_types,
    parse_scalar,
    unwrap_optional,
)

from .prompter import CommandError

#: Option names whose values are secrets (read also from NAME-file), whatever a field declares.
SECRET_WORDS = re.compile(r"passphrase|password|secret|community|privkey|authkey|token", re.I)


@dataclass(frozen=True)
class Option:
    """One ``--name[=VALUE]`` option; ``record``/``field`` name the configuration field behind it."""

    name: str
    metavar: str = ""
    required: bool = False
    help: str = ""
    record: type | None = None
    field: str | None = None

    @property
    def is_flag(self) -> bool:
        return not self.metavar

    @property
    def secret(self) -> bool:
        if self.record is not None and declaration(self.record, self.field).metadata.get("secret"):
            return True
        return bool(SECRET_WORDS.search(self.name)) and not self.name.endswith("-file")

    def text(self) -> str:
        shown = f"--{self.name}" + (f"={self.metavar}" if self.metavar else "")
        return shown if self.required else f"[{shown}]"

    def read(self, raw: str | bool):
        """The option's value as its field's type, checked by the field's declared rules."""
        if self.record is None:
            return raw
        tp, _ = unwrap_optional(field_types(self.record)[self.field])
        text = "" if raw is True else str(raw)
        try:
            value = parse_scalar(tp, text, f"--{self.name}")
            check_field(self.record, self.field, value, f"--{self.name}")
        except ConfigError as e:
            raise CommandError(str(e)) from None
        return value


def field_options(record: type, *names: str, required: bool = False) -> tuple[Option, ...]:
    """Options for fields of ``record``, as their declarations describe them."""
    return tuple(_option_of(record, name, required) for name in names)


def _option_of(record: type, name: str, required: bool) -> Option:
    meta = declaration(record, name).metadata
    tp, _ = unwrap_optional(field_types(record)[name])
    return Option(meta.get("option") or name.replace("_", "-"), _metavar(name, tp, meta), required,
                  meta.get("help", ""), record, name)


def _metavar(name: str, tp, meta) -> str:
    choices = meta.get("choices")
    if choices and len(choices) <= 6:
        return "|".join(choices)
    if tp is bool:
        return "yes|no"
    if getattr(meta.get("check"), "__name__", "") == "ip_problem":
        return "IP"
    if meta.get("unit") in ("bytes", "seconds", "minutes", "days"):
        return meta["unit"].upper()
    if tp in (int, float):
        return "N"
    return name.split("_")[-1].upper()


@dataclass(frozen=True)
class Form:
    """One line of the usage: the words that choose it, and the options it takes."""

    #: The subcommand and its spellings (``list | print``); empty when the form starts with an argument.
    subcommands: tuple[str, ...]
    options: tuple[Option, ...]
    #: Groups of options of which exactly one must be given: ``(--passphrase=P | --generate)``.
    one_of: tuple[tuple[str, ...], ...] = ()
    text: str = ""


#: The tokens of a usage line: brackets, parentheses, "|", an option (its value may hold "[...]" and "|"),
#: or a word.
_TOKENS = re.compile(r"""\[|\]|\(|\)|\||--[A-Za-z0-9][A-Za-z0-9-]*(?:=(?:'[^']*'|"[^"]*"|\[[^\]\s]*\]|[^\s\]\)\['"])*)?"""
                     r"""|[^\s\[\]()|]+""")


def parse_form(line: str, groups: dict[str, Sequence[Option]]) -> Form:
    """A usage line (without the command name) as a Form; ``[FIELDS]`` (or another key of ``groups``) expands
    to the options of that group of configuration fields.

    ``[...]`` holds optional options; ``(--a=X | --b)`` at the top level means exactly one of them;
    a parenthesis holding words is a comment; ``--a=X | --b=Y`` outside brackets is a choice, not a must.
    """
    shown = line
    by_name: dict[str, Option] = {}
    for key, group_options in groups.items():
        if f"[{key}]" in shown:
            shown = shown.replace(f"[{key}]", " ".join(o.text() for o in group_options))
            by_name.update({o.name: o for o in group_options})
    reader = _FormReader(by_name)
    tokens = _TOKENS.findall(shown.strip())
    for i, tok in enumerate(tokens):
        reader.take(tok, tokens[i - 1] if i else "", tokens[i + 1] if i + 1 < len(tokens) else "")
    return Form(_subcommand_words(reader.words), tuple(reader.options), tuple(reader.one_of), shown.strip())


class _FormReader:
    """The state of reading one usage line, token by token."""

    def __init__(self, by_name: dict[str, Option]):
        self.by_name = by_name
        self.options: list[Option] = []
        self.one_of: list[tuple[str, ...]] = []
        self.words: list[str] = []  # what comes before the first option, outside brackets ("|" kept)
        self.depth = 0
        self.group: list[str] | None = None
        self.comment = False

    def take(self, tok: str, before: str, after: str) -> None:
        if tok in ("[", "]"):
            self.depth += 1 if tok == "[" else -1
        elif tok == "(":
            self.group, self.comment = [], False
        elif tok == ")":
            if self.group and self.depth == 0 and not self.comment:
                self.one_of.append(tuple(self.group))
            self.group = None
        elif tok.startswith("--"):
            self._option(tok, "|" in (before, after))
        elif self.group is not None:
            self.comment = self.comment or tok != "|"
        elif not self.options and self.depth == 0:
            self.words.append(tok)

    def _option(self, tok: str, beside_bar: bool) -> None:
        if self.group is not None and self.comment:
            return
        name, _, metavar = tok[2:].partition("=")
        required = self.depth == 0 and self.group is None and not beside_bar
        base = self.by_name.get(name)
        self.options.append(Option(name, metavar, required, base.help if base else "",
                                   base.record if base else None, base.field if base else None))
        if self.group is not None:
            self.group.append(name)


def _fold_bars(words: list[str]) -> list[list[str]]:
    """``["new", "|", "edit", "NAME"]`` -> ``[["new", "edit"], ["NAME"]]`` (a|b written together splits too)."""
    out: list[list[str]] = []
    join = False
    for word in words:
        if word == "|":
            join = True
            continue
        choices = word.split("|")
        if join and out:
            out[-1].extend(choices)
        else:
            out.append(choices)
        join = False
    return out


def _matches(words: list[list[str]], typed: list[str]) -> bool:
    """The typed words fit the form's first words: keywords by spelling, arguments by anything."""
    return all(any(c == t or not c.islower() for c in choices) for choices, t in zip(words, typed))


def _subcommand_words(words: list[str]) -> tuple[str, ...]:
    """``list | print`` gives both spellings; ``NAME ...`` (an argument first) gives none."""
    out: list[str] = []
    expect = True
    for word in words:
        if word == "|":
            expect = True
        elif expect and re.fullmatch(r"[a-z][a-z0-9_-]*", word):
            out.append(word)
            expect = False
        else:
            break
    return tuple(out)


@dataclass(frozen=True)
class Grammar:
    """Every batch form of one command."""

    command: str
    spec: str = ""
    #: Options of configuration fields, written [FIELDS] in the spec; or {"KEY": options} for [KEY].
    fields: tuple[Option, ...] | dict = ()
    #: Lines after the forms (what a metavar means, where values come from).
    notes: str = ""
    #: Options accepted beside the ones shown (older spellings kept working).
    aliases: tuple[str, ...] = ()
    #: Upper-case words in option names that stand for several: {"VERDICT": ("positive", "suspect")}.
    expand: dict = field(default_factory=dict)
    #: Subcommands that also take another's options: {"edit": "new"} (all of them optional).
    same_as: dict = field(default_factory=dict)
    #: The names a NAME argument may take, read from a configuration (for completion): config -> names.
    names: Callable | None = None
    forms: tuple[Form, ...] = field(init=False, default=())

    def __post_init__(self):
        object.__setattr__(self, "forms", tuple(_parse_spec(self.spec, self.fields)))

    # ------------------------------------------------------------ reading

    @property
    def subcommands(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for form in self.forms:
            for word in form.subcommands:
                seen.setdefault(word, None)
        return tuple(seen)

    def forms_for(self, sub: str | None) -> list[Form]:
        """The forms a line starting with ``sub`` may be; a word no form names is an argument."""
        sub = (sub or "").lower()
        named = [f for f in self.forms if sub in f.subcommands]
        return named or [f for f in self.forms if not f.subcommands]

    def forms_of_line(self, positional: Sequence[str]) -> list[Form]:
        """The forms a batch line may be: its subcommand's, and those of a subcommand named further on
        (``listenerconfig edit NAME hostaccess policy ...``)."""
        forms = self.forms_for(positional[0] if positional else None)
        for word in positional[1:]:
            forms += [f for f in self.forms if word.lower() in f.subcommands and f not in forms]
        return forms

    def options_for(self, sub: str | None) -> dict[str, Option]:
        return self._options_of(self.forms_for(sub))

    def _options_of(self, forms: Iterable[Form]) -> dict[str, Option]:
        out: dict[str, Option] = {}
        forms = list(forms)
        for form in list(forms):
            for sub in form.subcommands:
                if sub in self.same_as:
                    forms += [dataclasses.replace(f, options=tuple(dataclasses.replace(o, required=False)
                                                                   for o in f.options))
                              for f in self.forms_for(self.same_as[sub])]
        for form in forms:
            for opt in (o for template in form.options for o in self._expanded(template)):
                out.setdefault(opt.name, opt)
                if opt.secret and not opt.name.endswith("-file"):
                    out.setdefault(f"{opt.name}-file", Option(f"{opt.name}-file", "FILE"))
        for name in self.aliases:
            out.setdefault(name, Option(name, "VALUE"))
        return out

    def _expanded(self, opt: Option) -> list[Option]:
        for word, values in self.expand.items():
            if word in opt.name:
                return [o for v in values for o in self._expanded(dataclasses.replace(opt, name=opt.name.replace(word, v)))]
        return [opt]

    def options_for_line(self, positional: Sequence[str]) -> dict[str, Option]:
        return self._options_of(self.forms_of_line(positional) or self.forms)

    def completions_after(self, positional: Sequence[str], config) -> list[str]:
        """What may follow ``positional`` (subcommand and arguments typed so far): the next word of a form
        (a keyword such as ``incoming``, or the names from the configuration where an argument stands)."""
        out: list[str] = []
        typed = [w.lower() for w in positional]
        for form in self.forms_of_line(positional):
            text = re.sub(r"\((?![^)]*--)[^)]*\)", " ", form.text)  # a parenthesis of words is a comment
            words = [w for w in _TOKENS.findall(text) if not w.startswith("--") and w not in "[]()"]
            words = _fold_bars(words)
            if len(words) <= len(typed) or not _matches(words, typed):
                continue
            for choice in words[len(typed)]:
                if choice.islower():
                    out.append(choice)
                elif self.names is not None and config is not None:
                    out.extend(self.names(config))
        return list(dict.fromkeys(out))

    def option(self, sub: str | None, name: str) -> Option | None:
        return self.options_for(sub).get(name)

    def usage(self) -> str:
        lines = ["Usage:"]
        for form in self.forms:
            lines.extend(_wrap(f"{self.command} {form.text}".rstrip()))
        if self.notes:
            lines.append(self.notes.strip("\n"))
        return "\n".join(lines)

    # ------------------------------------------------------------ checking a batch line

    def check(self, args) -> None:
        """Refuse, by name, options that no form of the subcommand takes; then required ones missing."""
        if not self.forms:
            return
        sub = args.subcommand()
        forms = self.forms_of_line(args.positional)
        if not forms:
            if sub is not None:
                raise CommandError(f"Unknown option '{args.positional[0]}'.\n{self.usage()}")
            forms = list(self.forms)  # no subcommand: options are judged against every form
        unknown = [n for n in args.options if n not in self._options_of(forms)]
        if unknown:
            where = f"{self.command} {sub}" if sub and forms[0].subcommands else self.command
            raise CommandError(f"Unknown option for {where}: {', '.join('--' + n for n in unknown)}")
        if len(forms) == 1 and forms[0].subcommands:
            self._check_required(forms[0], args)

    def _check_required(self, form: Form, args) -> None:
        given = set(args.options)
        missing = [o.text() for o in form.options
                   if o.required and o.name not in given and not (o.secret and f"{o.name}-file" in given)]
        if missing:
            raise CommandError(f"{self.command} {form.subcommands[0]} needs {' '.join(missing)}")
        for group in form.one_of:
            present = [n for n in group if n in given or (f"{n}-file" in given and f"{n}-file" not in group)]
            if len(present) != 1:
                choices = " | ".join(o.text().strip("[]") for o in form.options if o.name in group)
                raise CommandError(f"{self.command} {form.subcommands[0]} needs exactly one of {choices}")


def _parse_spec(spec: str, fields) -> Iterable[Form]:
    """Forms from a spec: one per line; an indented line continues the one above."""
    lines: list[str] = []
    for raw in spec.strip("\n").splitlines():
        if not raw.strip():
            continue
        if lines and raw.startswith((" " * 6, "\t")) and raw.strip()[0] in "[(-":
            lines[-1] += " " + raw.strip()
        else:
            lines.append(raw.strip())
    groups = fields if isinstance(fields, dict) else {"FIELDS": fields}
    for line in lines:
        yield parse_form(line, groups)


def _wrap(line: str, width: int = 110) -> list[str]:
    if len(line) <= width:
        return [f"  {line}"]
    out, current = [], "  "
    for word in re.findall(r"\[[^\]]*\]|\([^)]*\)|\S+", line):
        if len(current) + len(word) + 1 > width and current.strip():
            out.append(current.rstrip())
            current = "      "
        current += word + " "
    out.append(current.rstrip())
    return out
