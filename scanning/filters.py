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
         "sender-maturity", "sdr-reputation", "sdr-threat-category"}
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
    if name in ("body-contains", "only-body-contains"):
        rx = _regex(args)
        if rx is None:
            return False
        hit = _search(rx, m.body_text)
        if name == "only-body-contains" or hit:
            return hit
        return any(_search(rx, a.text) for a in every if a.text)
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
        rx = _regex(args)
        return rx is not None and any(_contains(rx, a) for a in every)
    if name == "every-attachment-contains":
        rx = _regex(args)
        return rx is not None and bool(facts.top) and all(any(_contains(rx, x) for x in a.walk()) for a in facts.top)
    if name == "attachment-binary-contains":
        rx = _regex(args)
        return rx is not None and any(rx.search(a.data.decode("latin-1")) for a in every if a.data)
    if name == "attachment-filehashlist":
        hashes = facts.hash_list(str(args[0])) if args else set()
        return any(a.sha256 in hashes for a in every)
    if name == "url-reputation":
        return bool(_bad_urls(facts, args))
    if name == "sdr-reputation":
        if args:  # sdr-reputation(['awful', 'poor']) or sdr-reputation('awful')
            return env.sdr_verdict.lower() in {str(a).strip("[] '\"").lower() for a in args}
        return bool(env.sdr_verdict) and op is not None and _cmp(env.sdr_verdict.lower(), op, value)
    if name == "sdr-threat-category":
        return bool(env.sdr_category) and op is not None and _cmp(env.sdr_category, op, value)
    if name == "sender-maturity":
        days = env.sender_maturity
        return days is not None and op is not None and _cmp(days, op, value)
    if name == "remote-ip":
        return _cmp(env.remote_ip, op, value)
    if name == "sendergroup":
        return _cmp(facts.sender_group, op, value)
    return False


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
        elif name.startswith("drop-attachments-") and args:
            _drop_attachments(name, args[0], facts, out)
        if out.stopped:
            return


def _drop_attachments(action: str, arg, facts: Facts, out: Outcome) -> None:
    """Mark top-level attachments to strip; a match anywhere inside an archive strips the archive."""
    kind = action.rsplit("-", 1)[-1]
    rx = _compile_regex(str(arg)) if kind in ("name", "contains") else None
    hashes = facts.hash_list(str(arg)) if kind == "filehashlist" else set()
    for top in facts.top:
        for a in top.walk():
            hit = ((kind == "name" and rx is not None and rx.search(a.filename)) or
                   (kind == "filetype" and a.detected_type == str(arg)) or
                   (kind == "mimetype" and a.declared_type == str(arg)) or
                   (kind == "size" and isinstance(arg, (int, float)) and a.size >= arg) or
                   (kind == "contains" and rx is not None and _contains(rx, a)) or
                   (kind == "filehashlist" and a.sha256 in hashes))
            if hit:
                if all(d["sha256"] != top.sha256 for d in out.dropped_attachments):
                    out.dropped_attachments.append({"name": top.filename, "sha256": top.sha256, "why": action})
                break
