"""Message filters in the appliance's language: parse (lark, LALR), compile, evaluate.

    Name: if (rule AND NOT rule) { action; action; } else { action; }

Rules combine with AND/OR/NOT and parentheses, ``#`` starts a comment,
``if`` nests through ``else if``. A filter written ``Name!`` instead of
``Name:`` is inactive. Errors point at the line and column.

Supported rules: true, mail-from, rcpt-to, subject, header('X'),
body-contains('re'), attachment-filename, attachment-filetype,
attachment-mimetype, attachment-protected, attachment-unprotected,
attachment-size, attachment-contains('re'), remote-ip, sendergroup.
Supported actions: log-entry, insert-header, strip-header, drop, bounce,
deliver, skip-filters, quarantine, notify, bcc, drop-attachments-by-name,
drop-attachments-by-filetype, drop-attachments-by-size. Anything else is
refused when the filter is added, naming what is not supported yet.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import lru_cache

GRAMMAR = r"""
start: filter+
filter: NAME (COLON | BANG) ifstmt "."?
ifstmt: "if"i cond block ("else"i (ifstmt | block))?
block: "{" action* "}"
action: NAME ("(" [args] ")")? ";"
args: value ("," value)*
?cond: orc
?orc: andc (_OR andc)*
?andc: notc (_AND notc)*
?notc: _NOT notc -> neg
     | atom
?atom: "(" cond ")"
     | test
test: NAME "(" [args] ")" OP value  -> call_compare
    | NAME "(" [args] ")"           -> call
    | NAME OP value                 -> compare
    | NAME                          -> flag
?value: STRING | NUMBER
COLON: ":"
BANG: "!"
_AND.2: /and\b/i
_OR.2: /or\b/i
_NOT.2: /not\b/i
OP: "==" | "!=" | "<=" | ">=" | "<" | ">"
NAME: /[A-Za-z_$][A-Za-z0-9_\-]*/
STRING: /"(\\.|[^"\\])*"/ | /'(\\.|[^'\\])*'/
NUMBER: /\d+[KMG]?/i
COMMENT: /#[^\n]*/
%import common.WS
%ignore WS
%ignore COMMENT
"""

RULES = {"true", "mail-from", "rcpt-to", "subject", "header", "body-contains", "attachment-filename",
         "attachment-filetype", "attachment-mimetype", "attachment-protected", "attachment-unprotected",
         "attachment-size", "attachment-contains", "remote-ip", "sendergroup"}
ACTIONS = {"log-entry", "insert-header", "strip-header", "drop", "bounce", "deliver", "skip-filters", "quarantine",
           "notify", "bcc", "drop-attachments-by-name", "drop-attachments-by-filetype", "drop-attachments-by-size"}
FINAL = {"drop", "bounce", "deliver", "quarantine"}


class FilterError(ValueError):
    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.line, self.column = line, column
        where = f"line {line}, column {column}: " if line else ""
        super().__init__(where + message)


@dataclass(frozen=True)
class Filter:
    name: str
    active: bool
    body: object  # the compiled if-statement
    source: str


@lru_cache(maxsize=1)
def _parser():
    from lark import Lark

    return Lark(GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False)


def parse_filters(text: str) -> list[Filter]:
    """Every filter in a script (a lone '.' line at the end is allowed)."""
    from lark import Token, Tree
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    text = re.sub(r"(?m)^\s*\.\s*\Z", "", text.rstrip() + "\n")
    try:
        tree = _parser().parse(text)
    except UnexpectedToken as e:
        expected = ", ".join(sorted(e.expected)[:6])
        raise FilterError(f"Invalid filter syntax: unexpected {e.token!r}; expected {expected}", e.line, e.column) from None
    except UnexpectedCharacters as e:
        raise FilterError(f"Invalid filter syntax: unexpected character {text[e.pos_in_stream]!r}", e.line,
                          e.column) from None
    except UnexpectedInput as e:
        raise FilterError(f"Invalid filter syntax: {e}", getattr(e, "line", None), getattr(e, "column", None)) from None
    out = []
    for node in tree.children:
        name_tok, marker, ifstmt = node.children[0], node.children[1], node.children[2]
        _check(ifstmt, Tree, Token)
        src = text[node.meta.start_pos:node.meta.end_pos] if hasattr(node.meta, "start_pos") else ""
        out.append(Filter(str(name_tok), str(marker) == ":", ifstmt, src))
    names = [f.name for f in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise FilterError(f"Duplicate filter name: {', '.join(sorted(dup))}")
    return out


def _check(tree, Tree, Token) -> None:
    for sub in tree.iter_subtrees():
        if sub.data in ("call_compare", "call", "compare", "flag"):
            name = str(sub.children[0])
            if name not in RULES:
                raise FilterError(f"the rule {name!r} is not supported yet", sub.meta.line, sub.meta.column)
        elif sub.data == "action":
            name = str(sub.children[0])
            if name not in ACTIONS:
                raise FilterError(f"the action {name!r} is not supported yet", sub.meta.line, sub.meta.column)


# ---------------------------------------------------------------- evaluation


@dataclass
class Outcome:
    """What the filters decided for one copy of a message."""

    log_entries: list[str] = field(default_factory=list)
    add_headers: list[tuple[str, str]] = field(default_factory=list)
    strip_headers: list[str] = field(default_factory=list)
    final: str | None = None  # drop, bounce, deliver, quarantine
    final_by: str = ""  # the filter that took the final action
    quarantine: str = ""
    notify: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    dropped_attachments: list[str] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)
    stopped: bool = False


class Facts:
    """What rules look at: the parsed message, the envelope, the policy, the connection."""

    def __init__(self, message, envelope, policy_name: str, hostname: str, sender_group: str = ""):
        self.message, self.envelope = message, envelope
        self.policy, self.hostname, self.sender_group = policy_name, hostname, sender_group
        self.top = list(message.attachments)

    def variables(self, filter_name: str) -> dict[str, str]:
        now = time.localtime()
        return {
            "$filesizes": ", ".join(str(a.size) for a in self.top),
            "$filenames": ", ".join(a.filename for a in self.top),
            "$filetypes": ", ".join(a.detected_type for a in self.top),
            "$MID": str(self.envelope.mid),
            "$Subject": self.message.subject,
            "$EnvelopeFrom": self.envelope.sender,
            "$EnvelopeRecipients": ", ".join(self.envelope.recipients),
            "$RemoteIP": self.envelope.remote_ip,
            "$Hostname": self.hostname,
            "$Policy": self.policy,
            "$FilterName": filter_name,
            "$Date": time.strftime("%m/%d/%Y", now),
            "$Time": time.strftime("%H:%M:%S", now),
            "$BodySize": str(self.message.size),
        }


def run_filters(filters: list[Filter], facts: Facts) -> Outcome:
    out = Outcome()
    for f in filters:
        if not f.active:
            continue
        if _run_if(f.body, facts, out, f.name):
            out.matched.append(f.name)
        if out.stopped or out.final in ("drop", "bounce", "quarantine"):
            break
    return out


def _run_if(node, facts, out, fname) -> bool:
    cond, block = node.children[0], node.children[1]
    if _eval(cond, facts):
        _do_block(block, facts, out, fname)
        return True
    if len(node.children) > 2:
        other = node.children[2]
        if other.data == "ifstmt":
            return _run_if(other, facts, out, fname)
        _do_block(other, facts, out, fname)
    return False


def _literal(tok) -> str | int:
    s = str(tok)
    if s[:1] in "\"'":
        return bytes(s[1:-1], "utf-8").decode("unicode_escape")
    mult = {"k": 1024, "m": 1024**2, "g": 1024**3}.get(s[-1].lower(), 1)
    return int(s.rstrip("KMGkmg")) * mult


def _args(node) -> list:
    for child in node.children:
        if getattr(child, "data", None) == "args":
            return [_literal(v) for v in child.children]
    return []


def _cmp(left, op: str, right) -> bool:
    if isinstance(right, int):
        try:
            left = int(left)
        except (TypeError, ValueError):
            return False
        return {"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
                ">": left > right, ">=": left >= right}[op]
    found = re.search(str(right), str(left)) is not None
    return found if op == "==" else (not found if op == "!=" else False)


def _eval(node, facts: Facts) -> bool:
    kind = getattr(node, "data", None)
    if kind == "orc":
        return any(_eval(c, facts) for c in node.children)
    if kind == "andc":
        return all(_eval(c, facts) for c in node.children)
    if kind == "neg":
        return not _eval(node.children[0], facts)
    name = str(node.children[0])
    args = _args(node)
    op = value = None
    if kind in ("compare", "call_compare"):
        op, value = str(node.children[-2]), _literal(node.children[-1])
    return _rule(name, args, op, value, facts)


def _rule(name, args, op, value, facts: Facts) -> bool:
    m, env = facts.message, facts.envelope
    every = list(m.all_attachments())
    if name == "true":
        return True
    if name == "mail-from":
        return _cmp(env.sender, op, value)
    if name == "rcpt-to":
        return any(_cmp(r, op, value) for r in env.recipients)
    if name == "subject":
        return _cmp(m.subject, op, value)
    if name == "header":
        values = m.header(str(args[0])) if args else []
        return bool(values) if op is None else any(_cmp(v, op, value) for v in values)
    if name == "body-contains":
        return re.search(str(args[0]), m.body_text) is not None if args else False
    if name == "attachment-filename":
        return any(_cmp(a.filename, op, value) for a in every)
    if name == "attachment-filetype":
        return any(_cmp(a.detected_type, op, value) for a in every)
    if name == "attachment-mimetype":
        return any(_cmp(a.declared_type, op, value) for a in every)
    if name == "attachment-protected":
        return any(a.protected for a in every)
    if name == "attachment-unprotected":
        return any(not a.protected for a in every)
    if name == "attachment-size":
        return any(_cmp(a.size, op, value) for a in every)
    if name == "attachment-contains":
        rx = re.compile(str(args[0])) if args else None
        return bool(rx) and any(rx.search(a.data.decode("utf-8", "replace")) for a in every if a.data)
    if name == "remote-ip":
        return _cmp(env.remote_ip, op, value)
    if name == "sendergroup":
        return _cmp(facts.sender_group, op, value)
    return False


def _expand(text: str, facts: Facts, fname: str) -> str:
    variables = facts.variables(fname)

    def header(mo):
        return ", ".join(facts.message.header(mo.group(1)))

    text = re.sub(r"\$Header\[['\"]([^'\"]+)['\"]\]", header, text)
    for key in sorted(variables, key=len, reverse=True):
        text = text.replace(key, variables[key])
    return text


def _do_block(block, facts: Facts, out: Outcome, fname: str) -> None:
    for node in block.children:
        if getattr(node, "data", None) == "ifstmt":
            _run_if(node, facts, out, fname)
            continue
        name, args = str(node.children[0]), _args(node)
        if name == "log-entry":
            out.log_entries.append(_expand(str(args[0]) if args else "", facts, fname))
        elif name == "insert-header" and len(args) >= 2:
            out.add_headers.append((str(args[0]), _expand(str(args[1]), facts, fname)))
        elif name == "strip-header" and args:
            out.strip_headers.append(str(args[0]))
        elif name in FINAL:
            out.final, out.final_by = name, fname
            if name == "quarantine":
                out.quarantine = str(args[0]) if args else "Policy"
        elif name == "skip-filters":
            out.stopped = True
        elif name == "notify" and args:
            out.notify.append(str(args[0]))
        elif name == "bcc" and args:
            out.bcc.append(str(args[0]))
        elif name.startswith("drop-attachments-by-") and args:
            kind, arg = name.rsplit("-", 1)[-1], args[0]
            for a in facts.top:
                hit = (kind == "name" and re.search(str(arg), a.filename)) or \
                      (kind == "filetype" and a.detected_type == str(arg)) or \
                      (kind == "size" and isinstance(arg, int) and a.size >= arg)
                if hit and a.filename not in out.dropped_attachments:
                    out.dropped_attachments.append(a.filename)
        if out.stopped:
            return
