"""Manual pages: where they live, and a renderer for the roff subset they use.

A small renderer of our own rather than man(1)/groff: those are not on every
machine, and ``help CMD`` must work on a fresh one. Supported: .TH .SH .SS
.PP .LP .P .TP .IP .RS .RE .nf .fi .br .B .I .BR .IR .RB .RI, \\fB \\fI \\fR
\\fP, \\- \\(em \\e and comments.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

WIDTH = 78


def man_dir() -> Path:
    env = os.environ.get("ASYNCOS_MAN")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "man"


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
    out: list[str] = []
    para: list[str] = []
    indent = 7
    base_indent = 7
    fill = True
    tag_pending = False

    def flush():
        nonlocal para
        if para:
            text = " ".join(para)
            out.append(textwrap.fill(text, WIDTH, initial_indent=" " * indent, subsequent_indent=" " * indent))
            para = []

    for raw in source.splitlines():
        if raw.startswith('.\\"') or raw.startswith("'\\\""):
            continue
        if raw.startswith("."):
            macro, _, rest = raw[1:].partition(" ")
            args = _macro_args(rest)
            if macro == "TH":
                title = f"{args[0]}({args[1] if len(args) > 1 else '1'})" if args else ""
                out.append(f"{title}{'asyncos-cli manual':^{WIDTH - 2 * len(title)}}{title}")
                out.append("")
            elif macro in ("SH", "SS"):
                flush()
                if out and out[-1] != "":
                    out.append("")
                out.append((" " * 3 if macro == "SS" else "") + _inline(" ".join(args)))
                indent = base_indent = 7
            elif macro in ("PP", "LP", "P"):
                flush()
                indent = base_indent
                out.append("")
            elif macro == "TP":
                flush()
                out.append("")
                indent = base_indent
                tag_pending = True
            elif macro == "IP":
                flush()
                out.append("")
                indent = base_indent + 4
                if args and args[0]:
                    out.append(" " * base_indent + _inline(args[0]))
            elif macro == "RS":
                flush()
                base_indent += 4
                indent = base_indent
            elif macro == "RE":
                flush()
                base_indent = max(7, base_indent - 4)
                indent = base_indent
            elif macro == "nf":
                flush()
                fill = False
            elif macro == "fi":
                fill = True
            elif macro == "br":
                flush()
            if macro in ("B", "I"):
                line = " ".join(_inline(a) for a in args)
            elif macro in ("BR", "IR", "RB", "RI", "BI", "IB"):
                line = "".join(_inline(a) for a in args)
            else:
                continue
        else:
            line = _inline(raw)
        if tag_pending:
            out.append(" " * base_indent + line)
            indent = base_indent + 4
            tag_pending = False
            continue
        if not fill:
            out.append(" " * indent + line)
            continue
        if not line.strip():
            flush()
            out.append("")
            continue
        para.append(line.strip())

    flush()
    return "\n".join(_squeeze(out)).rstrip() + "\n"


def _squeeze(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return out
