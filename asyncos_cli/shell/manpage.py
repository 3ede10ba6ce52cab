"""Manual pages: where they live, and a renderer for the roff subset they use.

A small renderer of our own rather than man(1)/groff: those are not on every
machine, and ``help CMD`` must work on a fresh one. Supported: .TH .SH .SS
.PP .LP .P .TP .IP .RS .RE .nf .fi .br .B .I .BR .IR .RB .RI, \\fB \\fI \\fR
\\fP, \\- \\(em \\e and comments.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
from pathlib import Path

WIDTH = 78


def man_dir() -> Path:
    """ASYNCOS_MAN, else the checkout's man/ beside the package, else where the wheel put them (PREFIX/share/man)."""
    env = os.environ.get("ASYNCOS_MAN")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "man"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "man" / "man1"


def man_path(name: str) -> Path:
    return man_dir() / f"{name}.1"


_ESCAPES = [
    (re.compile(r"\\f[BIRP]"), ""),
    (re.compile(r"\\f\(..|\\f\[[^]]*\]"), ""),
    (re.compile(r"\\-"), "-"),
    (re.compile(r"\\\(em"), "--"),
    (re.compile(r"\\\(en"), "-"),
    (re.compile(r"\\\(bu"), "*"),
    (re.compile(r"\\e"), "\\\\"),
    (re.compile(r"\\&"), ""),
    (re.compile(r"\\ "), " "),
]


def _inline(text: str) -> str:
    for rx, rep in _ESCAPES:
        text = rx.sub(rep, text)
    return text


def _macro_args(rest: str) -> list[str]:
    return [a.strip('"') for a in re.findall(r'"[^"]*"|\S+', rest)]


def render(source: str) -> str:
    page = _Page()
    for raw in source.splitlines():
        if raw.startswith('.\\"') or raw.startswith("'\\\""):
            continue
        if raw.startswith("."):
            macro, _, rest = raw[1:].partition(" ")
            line = page.macro(macro, _macro_args(rest))
            if line is None:
                continue
        else:
            line = _inline(raw)
        page.text(line)
    page.flush()
    return "\n".join(_squeeze(page.out)).rstrip() + "\n"


class _Page:
    """The rendering state of one page: output lines, the paragraph being filled, indents."""

    def __init__(self):
        self.out: list[str] = []
        self.para: list[str] = []
        self.indent = self.base_indent = 7
        self.fill = True
        self.tag_pending = False

    def flush(self) -> None:
        if self.para:
            self.out.append(textwrap.fill(" ".join(self.para), WIDTH, initial_indent=" " * self.indent,
                                          subsequent_indent=" " * self.indent))
            self.para = []

    def macro(self, macro: str, args: list[str]) -> str | None:
        """Apply a request; a font macro (B, I, BR...) returns its text line, the others None."""
        if macro in ("B", "I"):
            return " ".join(_inline(a) for a in args)
        if macro in ("BR", "IR", "RB", "RI", "BI", "IB"):
            return "".join(_inline(a) for a in args)
        handler = getattr(self, f"_{macro}", None)
        if handler is not None:
            handler(args)
        return None

    def _TH(self, args) -> None:
        title = f"{args[0]}({args[1] if len(args) > 1 else '1'})" if args else ""
        self.out += [f"{title}{'asyncos-cli manual':^{WIDTH - 2 * len(title)}}{title}", ""]

    def _SH(self, args, sub: bool = False) -> None:
        self.flush()
        if self.out and self.out[-1] != "":
            self.out.append("")
        self.out.append((" " * 3 if sub else "") + _inline(" ".join(args)))
        self.indent = self.base_indent = 7

    def _SS(self, args) -> None:
        self._SH(args, sub=True)

    def _PP(self, args) -> None:
        self.flush()
        self.indent = self.base_indent
        self.out.append("")

    _LP = _P = _PP

    def _TP(self, args) -> None:
        self._PP(args)
        self.tag_pending = True

    def _IP(self, args) -> None:
        self._PP(args)
        self.indent = self.base_indent + 4
        if args and args[0]:
            self.out.append(" " * self.base_indent + _inline(args[0]))

    def _RS(self, args) -> None:
        self.flush()
        self.base_indent += 4
        self.indent = self.base_indent

    def _RE(self, args) -> None:
        self.flush()
        self.base_indent = max(7, self.base_indent - 4)
        self.indent = self.base_indent

    def _nf(self, args) -> None:
        self.flush()
        self.fill = False

    def _fi(self, args) -> None:
        self.fill = True

    def _br(self, args) -> None:
        self.flush()

    def text(self, line: str) -> None:
        if self.tag_pending:
            self.out.append(" " * self.base_indent + line)
            self.indent = self.base_indent + 4
            self.tag_pending = False
        elif not self.fill:
            self.out.append(" " * self.indent + line)
        elif not line.strip():
            self.flush()
            self.out.append("")
        else:
            self.para.append(line.strip())


def _squeeze(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return out
