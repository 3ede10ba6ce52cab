"""Message filters in the appliance's language: parse (lark, LALR), compile, evaluate.

    Name: if (rule AND NOT rule) { action; action; } else { action; }

Rules combine with AND/OR/NOT and parentheses, ``#`` starts a comment,
``if`` nests through ``else if``. A filter written ``Name!`` instead of
``Name:`` is inactive. Errors point at the line and column.

Supported rules: true, mail-from, rcpt-to, subject, header('X'),
body-contains('re'), only-body-contains('re'), attachment-filename,
attachment-filetype, attachment-mimetype, attachment-protected,
attachment-unprotected, attachment-size, attachment-contains('re'),
attachment-binary-contains('re'), every-attachment-contains('re'),
attachment-filehashlist('List'), url-reputation(min, max), remote-ip,
sendergroup. Supported actions: log-entry, insert-header, strip-header,
drop, bounce, deliver, skip-filters, quarantine, notify, bcc,
drop-attachments-by-name|filetype|mimetype|size|filehashlist,
drop-attachments-where-contains. Anything else is refused when the filter
is added, naming what is not supported yet.

Content filters use the same language and the same primitives; they run
per mail policy after the engines (see pipeline.py).

Text rules match NFC-normalised text, so composed and decomposed accented
letters are one letter; ``(?i)`` folds case for any script.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

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
NUMBER: /-?\d+(\.\d+)?[KMG]?/i
COMMENT: /#[^\n]*/
%import common.WS
%ignore WS
%ignore COMMENT
"""

RULES = {"true", "mail-from", "rcpt-to", "subject", "header", "body-contains", "only-body-contains",
         "attachment-filename", "attachment-filetype", "attachment-mimetype", "attachment-protected",
         "attachment-unprotected", "attachment-size", "attachment-contains", "attachment-binary-contains",
         "every-attachment-contains", "attachment-filehashlist", "url-reputation", "remote-ip", "sendergroup",
         "sender-maturity", "sdr-reputation", "sdr-threat-category", "dkim-authentication",
         "spf-status", "spf-passed", "dmarc-status"}
#: Rules AsyncOS 14.0 removed, with what replaces them.
REPLACED = {"sender-domain-age": "sender-maturity", "domain-age": "sender-maturity",
            "sender_domain_age": "sender-maturity"}
ACTIONS = {"log-entry", "insert-header", "strip-header", "drop", "bounce", "deliver", "skip-filters", "quarantine",
           "notify", "bcc", "drop-attachments-by-name", "drop-attachments-by-filetype", "drop-attachments-by-mimetype",
           "drop-attachments-by-size", "drop-attachments-where-contains", "drop-attachments-by-filehashlist"}
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
    #: The compiled if statement: body(facts, outcome, filter name) -> whether its condition matched.
    body: Callable
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
        out.append(Filter(str(name_tok), str(marker) == ":", _compile_if(ifstmt), src))
    names = [f.name for f in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise FilterError(f"Duplicate filter name: {', '.join(sorted(dup))}")
    return out


def _check(tree, Tree, Token) -> None:
    for sub in tree.iter_subtrees():
        if sub.data in ("call_compare", "call", "compare", "flag"):
            name = str(sub.children[0])
            if name.lower() in REPLACED:
                raise FilterError(f"Sender Domain Age ({name}) is not offered in AsyncOS 14.0: use "
                                  f"{REPLACED[name.lower()]} (Sender Maturity, in days up to 90)",
                                  sub.meta.line, sub.meta.column)
            if name not in RULES:
                raise FilterError(f"the rule {name!r} is not supported yet", sub.meta.line, sub.meta.column)
        elif sub.data == "action":
            name = str(sub.children[0])
            if name not in ACTIONS:
                raise FilterError(f"the action {name!r} is not supported yet", sub.meta.line, sub.meta.column)
        else:
            continue
        patterns = [v for v in _args(sub)[:1] if name in _REGEX_ARGUMENT]
        if sub.data in ("compare", "call_compare") and str(sub.children[-1])[:1] in "\"'":
            patterns.append(_literal(sub.children[-1]))
        for pattern in patterns:
            try:
                re.compile(str(pattern))
            except re.error as e:
                raise FilterError(f"invalid regular expression {str(pattern)!r} ({e})", sub.meta.line,
                                  sub.meta.column) from None


_REGEX_ARGUMENT = {"body-contains", "only-body-contains", "attachment-contains", "every-attachment-contains",
                   "attachment-binary-contains", "drop-attachments-by-name", "drop-attachments-where-contains"}


# ---------------------------------------------------------------- evaluation


@dataclass
class Outcome:
    """What the filters decided for one copy of a message."""

    log_entries: list[str] = field(default_factory=list)
    add_headers: list[tuple[str, str]] = field(default_factory=list)
    strip_headers: list[str] = field(default_factory=list)
    final: str | None = None  # drop, bounce, deliver, quarantine
    final_by: str = ""  # the filter that took the final action
    #: The stage that took it (antivirus, url_scanning, dlp, unscannable...); "" for a message filter.
    final_stage: str = ""
    quarantine: str = ""
    notify: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    #: Top-level attachments to strip: {"name", "sha256", "why"}.
    dropped_attachments: list[dict] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)
    stopped: bool = False

    def copy(self) -> "Outcome":
        """An independent copy for one policy's later stages (the lists are not shared)."""
        fields = {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()}
        return Outcome(**fields)

    def summary(self) -> dict:
        return {"matched": self.matched, "final_by": self.final_by, "log_entries": self.log_entries,
                "add_headers": self.add_headers, "strip_headers": self.strip_headers,
                "dropped_attachments": self.dropped_attachments, "quarantine": self.quarantine,
                "notify": self.notify, "bcc": self.bcc}


class Facts:
    """What rules look at: the parsed message, the envelope, the policy, the connection."""

    def __init__(self, message, envelope, policy_name: str, hostname: str, sender_group: str = "",
                 hash_lists=None, url_reputation=None):
        self.message, self.envelope = message, envelope
        self.policy, self.hostname, self.sender_group = policy_name, hostname, sender_group
        self.top = list(message.attachments)
        #: Every attachment at any depth, listed once for all the rules that look at them.
        self.every = list(message.all_attachments())
        #: name (lower case) -> set of SHA-256 values (the hash_lists section's lists)
        self.hash_lists = hash_lists or {}
        #: scanning.urls.UrlReputation, or None when no provider is configured
        self.url_reputation = url_reputation

    def hash_list(self, name: str) -> set[str]:
        return self.hash_lists.get(name.lower(), set())

    def all_urls(self) -> list[str]:
        urls = list(self.message.body_urls)
        for a in self.message.all_attachments():
            urls.extend(u for u in a.urls if u not in urls)
        return urls

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


def run_filters(filters: list[Filter], facts: Facts, out: Outcome | None = None) -> Outcome:
    out = out if out is not None else Outcome()
    for f in filters:
        if not f.active:
            continue
        if f.body(facts, out, f.name):
            out.matched.append(f.name)
        if out.stopped or out.final in ("drop", "bounce", "quarantine"):
            break
    return out


def _literal(tok) -> str | int:
    s = str(tok)
    if s[:1] in "\"'":
        return _unescape(s[1:-1])
    mult = {"k": 1024, "m": 1024**2, "g": 1024**3}.get(s[-1].lower(), 1)
    number = s.rstrip("KMGkmg")
    return float(number) * mult if "." in number else int(number) * mult


def _unescape(s: str) -> str:
    """Backslash escapes of a quoted string: \\n, \\t, an escaped quote or backslash; others stay for the regex.

    (Python's "unicode_escape" codec would mangle non-ASCII letters in the script.)
    """
    def one(m):
        c = m.group(1)
        if c in "\"'\\":
            return c
        return {"n": "\n", "t": "\t"}.get(c, "\\" + c)

    return re.sub(r"\\(.)", one, s)


def _args(node) -> list:
    for child in node.children:
        if getattr(child, "data", None) == "args":
            return [_literal(v) for v in child.children]
    return []


def _cmp(left, op: str, right) -> bool:
    if isinstance(right, (int, float)):
        try:
            left = int(left)
        except (TypeError, ValueError):
            return False
        return {"==": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
                ">": left > right, ">=": left >= right}[op]
    found = re.search(str(right), str(left)) is not None
    return found if op == "==" else (not found if op == "!=" else False)


# ---------------------------------------------------------------- compiling
#
# A filter is compiled once (scripts are cached per configuration version): each rule becomes a predicate over
# the Facts, each action a step on the Outcome, so a message pays for what its rules test and nothing for
# dispatching them by name.

Predicate = Callable[["Facts"], bool]
Step = Callable[["Facts", Outcome, str], object]


def _compile_if(node) -> Step:
    """An if statement: True when its own condition matched (an else-if's match is not the filter's)."""
    cond, block = _compile_cond(node.children[0]), _compile_block(node.children[1])
    other = None
    if len(node.children) > 2:
        branch = node.children[2]
        other = _compile_if(branch) if branch.data == "ifstmt" else _compile_block(branch)
        chained = branch.data == "ifstmt"

    def run(facts: Facts, out: Outcome, fname: str) -> bool:
        if cond(facts):
            block(facts, out, fname)
            return True
        if other is not None:
            matched = other(facts, out, fname)
            return bool(matched) if chained else False
        return False

    return run


def _compile_cond(node) -> Predicate:
    kind = getattr(node, "data", None)
    if kind in ("orc", "andc"):
        parts = [_compile_cond(c) for c in node.children]
        if kind == "orc":
            return lambda facts: any(p(facts) for p in parts)
        return lambda facts: all(p(facts) for p in parts)
    if kind == "neg":
        inner = _compile_cond(node.children[0])
        return lambda facts: not inner(facts)
    name = str(node.children[0])
    op = value = None
    if kind in ("compare", "call_compare"):
        op, value = str(node.children[-2]), _literal(node.children[-1])
    return _RULES.get(name, _never)(_args(node), op, value)


def _never(args, op, value) -> Predicate:
    return lambda facts: False


_SPF_IDENTITIES = {"pra": "spf_pra", "mailfrom": "spf", "helo": "spf_helo"}


def _spf_status(args, op, value) -> Callable:
    identity = str(args[0]).lower() if args else ""
    if (identity and identity not in _SPF_IDENTITIES) or len(args) > 1:
        raise FilterError("spf-status takes one identity: \"pra\", \"mailfrom\" or \"helo\"")
    wanted = str(value).lower() if isinstance(value, str) else value
    return lambda facts: _cmp(_spf_result(facts.envelope, identity) or "none", op, wanted)


def _spf_result(envelope, identity: str) -> str:
    if identity:
        return getattr(envelope, _SPF_IDENTITIES[identity])
    return envelope.spf_pra or envelope.spf


def _compare(get) -> Callable:
    """A rule that compares one value of the message (mail-from, subject, remote-ip...)."""
    return lambda args, op, value: lambda facts: _cmp(get(facts), op, value)


def _any_attachment(get) -> Callable:
    """A rule true when any attachment, at any depth, compares true."""
    return lambda args, op, value: lambda facts: any(_cmp(get(a), op, value) for a in facts.every)


def _header(args, op, value) -> Predicate:
    name = str(args[0]) if args else None

    def test(facts: Facts) -> bool:
        values = facts.message.header(name) if name is not None else []
        return bool(values) if op is None else any(_cmp(v, op, value) for v in values)

    return test


def _body_contains(only: bool) -> Callable:
    def compile_(args, op, value) -> Predicate:
        rx = _regex(args)
        if rx is None:
            return lambda facts: False

        def test(facts: Facts) -> bool:
            if _search(rx, facts.message.body_text):
                return True
            return not only and any(_search(rx, a.text) for a in facts.every if a.text)

        return test

    return compile_


def _attachment_contains(args, op, value) -> Predicate:
    rx = _regex(args)
    return (lambda facts: False) if rx is None else (lambda facts: any(_contains(rx, a) for a in facts.every))


def _every_attachment_contains(args, op, value) -> Predicate:
    rx = _regex(args)
    if rx is None:
        return lambda facts: False
    return lambda facts: bool(facts.top) and all(any(_contains(rx, x) for x in a.walk()) for a in facts.top)


def _binary_contains(args, op, value) -> Predicate:
    rx = _regex(args)
    if rx is None:
        return lambda facts: False
    return lambda facts: any(rx.search(a.data.decode("latin-1")) for a in facts.every if a.data)


def _filehashlist(args, op, value) -> Predicate:
    name = str(args[0]) if args else None
    if name is None:
        return lambda facts: False
    return lambda facts: bool(hashes := facts.hash_list(name)) and any(a.sha256 in hashes for a in facts.every)


def _sdr_reputation(args, op, value) -> Predicate:
    if args:  # sdr-reputation(['awful', 'poor']) or sdr-reputation('awful')
        wanted = {str(a).strip("[] '\"").lower() for a in args}
        return lambda facts: facts.envelope.sdr_verdict.lower() in wanted
    if op is None:
        return lambda facts: False
    return lambda facts: bool(facts.envelope.sdr_verdict) and _cmp(facts.envelope.sdr_verdict.lower(), op, value)


def _sdr_category(args, op, value) -> Predicate:
    if op is None:
        return lambda facts: False
    return lambda facts: bool(facts.envelope.sdr_category) and _cmp(facts.envelope.sdr_category, op, value)


def _sender_maturity(args, op, value) -> Predicate:
    if op is None:
        return lambda facts: False
    return lambda facts: facts.envelope.sender_maturity is not None and _cmp(facts.envelope.sender_maturity, op,
                                                                              value)


_RULES: dict[str, Callable] = {
    "true": lambda args, op, value: lambda facts: True,
    "mail-from": _compare(lambda f: f.envelope.sender),
    "rcpt-to": lambda args, op, value: lambda facts: any(_cmp(r, op, value) for r in facts.envelope.recipients),
    "subject": _compare(lambda f: f.message.subject),
    "header": _header,
    "body-contains": _body_contains(only=False),
    "only-body-contains": _body_contains(only=True),
    "attachment-filename": _any_attachment(lambda a: a.filename),
    "attachment-filetype": _any_attachment(lambda a: a.detected_type),
    "attachment-mimetype": _any_attachment(lambda a: a.declared_type),
    "attachment-size": _any_attachment(lambda a: a.size),
    "attachment-protected": lambda args, op, value: lambda facts: any(a.protected for a in facts.every),
    "attachment-unprotected": lambda args, op, value: lambda facts: any(not a.protected for a in facts.every),
    "attachment-contains": _attachment_contains,
    "every-attachment-contains": _every_attachment_contains,
    "attachment-binary-contains": _binary_contains,
    "attachment-filehashlist": _filehashlist,
    "url-reputation": lambda args, op, value: lambda facts: bool(_bad_urls(facts, args)),
    "sdr-reputation": _sdr_reputation,
    "sdr-threat-category": _sdr_category,
    "sender-maturity": _sender_maturity,
    "remote-ip": _compare(lambda f: f.envelope.remote_ip),
    "sendergroup": _compare(lambda f: f.sender_group),
    # pass, fail, temperror, permerror or none (no signature, or the policy does not verify): RFC 8601's words.
    "dkim-authentication": _compare(lambda f: f.envelope.dkim or "none"),
    # An identity's SPF/SIDF result, compared without case ("Pass" as the appliance writes it, or "pass"):
    # spf-status("pra"), ("mailfrom") or ("helo"); without one, the PRA's where it was checked, else MAIL FROM's.
    "spf-status": lambda args, op, value: _spf_status(args, op, value),
    # The PRA identity first, as the appliance checks it, then MAIL FROM.
    "spf-passed": lambda args, op, value: lambda facts: _spf_result(facts.envelope, "") == "pass",
    "dmarc-status": _compare(lambda f: f.envelope.dmarc or "none"),
}
assert set(_RULES) == RULES, set(_RULES) ^ RULES


@lru_cache(maxsize=256)
def _compile_regex(pattern: str):
    from .extract.text import normalise

    try:
        return re.compile(normalise(pattern))
    except re.error:
        return None  # checked when the filter is added; an old stored script just does not match


def _regex(args):
    return _compile_regex(str(args[0])) if args else None


def _search(rx, text: str) -> bool:
    """A match in the text, or, for a (?i) pattern, in its case-folded form too ("STRASSE" finds "Straße")."""
    if rx.search(text) is not None:
        return True
    return bool(rx.flags & re.IGNORECASE) and rx.search(text.casefold()) is not None


def _contains(rx, attachment) -> bool:
    if attachment.text:
        return _search(rx, attachment.text)
    if attachment.data and attachment.detected_type in ("text", "html", "binary"):
        from .extract.text import normalise

        return _search(rx, normalise(attachment.data.decode("utf-8", "replace")))
    return False


def _bad_urls(facts: Facts, args) -> list[str]:
    """URLs whose reputation score lies in [low, high] (URLs with no score never match)."""
    if facts.url_reputation is None or len(args) < 2:
        return []
    low, high = float(args[0]), float(args[1])
    out = []
    for url in facts.all_urls():
        v = facts.url_reputation.verdict(url)
        if v.score is not None and low <= v.score <= high:
            out.append(url)
    return out


def _expand(text: str, facts: Facts, fname: str) -> str:
    variables = facts.variables(fname)

    def header(mo):
        return ", ".join(facts.message.header(mo.group(1)))

    text = re.sub(r"\$Header\[['\"]([^'\"]+)['\"]\]", header, text)
    for key in sorted(variables, key=len, reverse=True):
        text = text.replace(key, variables[key])
    return text


def _compile_block(block) -> Step:
    steps = [_compile_if(node) if getattr(node, "data", None) == "ifstmt" else _compile_action(node)
             for node in block.children]

    def run(facts: Facts, out: Outcome, fname: str) -> None:
        for step in steps:
            step(facts, out, fname)
            if out.stopped:
                return

    return run


def _compile_action(node) -> Step:
    name, args = str(node.children[0]), _args(node)
    if name in FINAL:
        quarantine = (str(args[0]) if args else "Policy") if name == "quarantine" else None
        return _final(name, quarantine)
    if name.startswith("drop-attachments-"):
        return _drop_attachments(name, args[0]) if args else _nothing
    return _ACTIONS.get(name, _no_action)(args)


def _nothing(facts: Facts, out: Outcome, fname: str) -> None:
    pass


def _no_action(args) -> Step:
    return _nothing


def _final(name: str, quarantine: str | None) -> Step:
    def step(facts: Facts, out: Outcome, fname: str) -> None:
        out.final, out.final_by = name, fname
        if quarantine is not None:
            out.quarantine = quarantine

    return step


def _log_entry(args) -> Step:
    text = str(args[0]) if args else ""
    return lambda facts, out, fname: out.log_entries.append(_expand(text, facts, fname))


def _insert_header(args) -> Step:
    if len(args) < 2:
        return _nothing
    name, text = str(args[0]), str(args[1])
    return lambda facts, out, fname: out.add_headers.append((name, _expand(text, facts, fname)))


def _appender(field_name: str) -> Callable:
    """strip-header, notify, bcc: their one argument goes on a list of the outcome."""
    def compile_(args) -> Step:
        if not args:
            return _nothing
        value = str(args[0])
        return lambda facts, out, fname: getattr(out, field_name).append(value)

    return compile_


def _skip_filters(args) -> Step:
    def step(facts: Facts, out: Outcome, fname: str) -> None:
        out.stopped = True

    return step


_ACTIONS: dict[str, Callable] = {"log-entry": _log_entry, "insert-header": _insert_header,
                                 "strip-header": _appender("strip_headers"), "skip-filters": _skip_filters,
                                 "notify": _appender("notify"), "bcc": _appender("bcc")}


def _attachment_test(kind: str, arg) -> Callable:
    """Whether one attachment (at any depth) is what drop-attachments-<kind>(arg) strips."""
    if kind in ("name", "contains"):
        rx = _compile_regex(str(arg))
        if rx is None:
            return lambda facts, a: False
        if kind == "name":
            return lambda facts, a: rx.search(a.filename) is not None
        return lambda facts, a: _contains(rx, a)
    if kind == "filetype":
        return lambda facts, a: a.detected_type == str(arg)
    if kind == "mimetype":
        return lambda facts, a: a.declared_type == str(arg)
    if kind == "size":
        return (lambda facts, a: a.size >= arg) if isinstance(arg, (int, float)) else (lambda facts, a: False)
    if kind == "filehashlist":
        return lambda facts, a: a.sha256 in facts.hash_list(str(arg))
    return lambda facts, a: False


def _drop_attachments(action: str, arg) -> Step:
    """Mark top-level attachments to strip; a match anywhere inside an archive strips the archive."""
    hit = _attachment_test(action.rsplit("-", 1)[-1], arg)

    def step(facts: Facts, out: Outcome, fname: str) -> None:
        for top in facts.top:
            if any(hit(facts, a) for a in top.walk()):
                if all(d["sha256"] != top.sha256 for d in out.dropped_attachments):
                    out.dropped_attachments.append({"name": top.filename, "sha256": top.sha256, "why": action})

    return step
