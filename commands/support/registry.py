"""The one registry of shell commands.

Each command module registers itself with :func:`command`. The registry
drives dispatch, ``help``, completion, the role check, secret redaction and
the man-page check: nothing else keeps a list of commands.
"""

from __future__ import annotations

import importlib
import re
import shlex
from dataclasses import dataclass
from typing import Callable, Iterable

from asyncos_cli.auth import roles as R

#: Every command: its module (named after it) and its aliases. A batch run
#: imports only the module of the command it runs; help and completion load all.
MODULES: dict[str, tuple[str, ...]] = {
    "alertconfig": (),
    "ampconfig": (),
    "antispamconfig": (),
    "antivirusconfig": (),
    "awarenessconfig": (),
    "bouncerecipients": (),
    "certconfig": (),
    "clear": (),
    "cloudserviceconfig": (),
    "commit": (),
    "deleterecipients": (),
    "delivernow": (),
    "destconfig": (),
    "displayalerts": (),
    "dlpconfig": (),
    "dnsconfig": (),
    "domainrepconfig": (),
    "filters": (),
    "findevent": (),
    "hashlistconfig": (),
    "help": ("h", "?"),
    "hoststatus": (),
    "init": (),
    "license_smart": (),
    "listenerconfig": (),
    "loadconfig": (),
    "logconfig": (),
    "outboundconfig": (),
    "passwd": ("passphrase",),
    "policyconfig": (),
    "protectedattachmentconfig": (),
    "quarantineconfig": (),
    "quit": ("exit", "q"),
    "redirectrecipients": (),
    "remediate": (),
    "remediationconfig": (),
    "report": (),
    "reputationconfig": (),
    "resumelistener": (),
    "rollbackconfig": (),
    "rollovernow": (),
    "saveconfig": (),
    "scanconfig": (),
    "sdrconfig": (),
    "sethostname": (),
    "showconfig": (),
    "showrecipients": (),
    "smartaccountinfo": (),
    "smtproutes": (),
    "snmpconfig": (),
    "sshconfig": (),
    "sslconfig": (),
    "status": (),
    "supportrequest": (),
    "suspendlistener": (),
    "tophosts": (),
    "trace": (),
    "urllistconfig": (),
    "userconfig": (),
    "version": (),
    "workqueue": (),
}
_MODULE_OF = {alias: name for name, aliases in MODULES.items() for alias in (name, *aliases)}

#: Option names that always hold secrets, whatever the command declares.
_SECRET_WORDS = re.compile(r"passphrase|password|secret|community|privkey|authkey|token", re.I)
REDACTED = "*****"


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    run: Callable
    roles: frozenset[str]
    #: Subcommand keywords, for completion and for the batch grammar.
    subcommands: tuple[str, ...] = ()
    #: Options beyond the generic secret words whose values are redacted.
    secret_options: frozenset[str] = frozenset()
    #: Positions (0-based, after the command name) of positional secrets.
    secret_positions: frozenset[int] = frozenset()
    #: False for commands that work on a data directory never initialised (init, help).
    needs_store: bool = True
    aliases: tuple[str, ...] = ()

    def redact_tokens(self, tokens: list[str]) -> list[str]:
        out = []
        for i, tok in enumerate(tokens):
            if tok.startswith("--") and "=" in tok:
                name, _, value = tok[2:].partition("=")
                if name.endswith("-file") or name.endswith("_file"):
                    out.append(tok)  # a file name, not the secret
                elif _SECRET_WORDS.search(name) or name.lower() in self.secret_options:
                    out.append(f"--{name}={REDACTED}")
                else:
                    out.append(tok)
            elif i in self.secret_positions and not tok.startswith("--"):
                out.append(REDACTED)  # a positional secret; a flag at that place (--generate) is not one
            else:
                out.append(tok)
        return out


_REGISTRY: dict[str, Command] = {}
_loaded = False


def command(
    name: str,
    summary: str,
    roles: Iterable[str] = R.ALL,
    subcommands: Iterable[str] = (),
    secret_options: Iterable[str] = (),
    secret_positions: Iterable[int] = (),
    needs_store: bool = True,
):
    """Register the decorated ``run(ctx, args)`` as a shell command."""

    def wrap(fn: Callable) -> Callable:
        cmd = Command(
            name=name,
            summary=summary,
            run=fn,
            roles=frozenset(roles),
            subcommands=tuple(subcommands),
            secret_options=frozenset(secret_options),
            secret_positions=frozenset(secret_positions),
            needs_store=needs_store,
            aliases=MODULES.get(name, ()),
        )
        for key in (name, *cmd.aliases):
            if key in _REGISTRY:
                raise RuntimeError(f"the command name {key!r} is registered twice")
            _REGISTRY[key] = cmd
        return fn

    return wrap


def load_all() -> None:
    global _loaded
    if not _loaded:
        for module in MODULES:
            importlib.import_module(f"commands.{module}")
        _loaded = True


def lookup(name: str) -> Command | None:
    key = name.lower()
    module = _MODULE_OF.get(key)
    if module is None:
        return None
    if key not in _REGISTRY:
        importlib.import_module(f"commands.{module}")
    return _REGISTRY.get(key)


def all_commands() -> list[Command]:
    """Each command once (aliases folded), by name."""
    load_all()
    unique = {c.name: c for c in _REGISTRY.values()}
    return [unique[n] for n in sorted(unique)]


def all_names() -> list[str]:
    load_all()
    return sorted(_REGISTRY)


def redact(line: str) -> str:
    """The line as it may be recorded: secret option values and positions replaced."""
    try:
        tokens = shlex.split(line)
    except ValueError:
        # Unbalanced quotes: fall back to a word-level scrub.
        return " ".join(_scrub_word(w) for w in line.split())
    if not tokens:
        return line
    cmd = lookup(tokens[0])
    if cmd is None:
        return " ".join(_scrub_word(w) for w in tokens)
    return " ".join(shlex.quote(t) if t != REDACTED and not t.startswith("--") else t
                    for t in [tokens[0], *cmd.redact_tokens(tokens[1:])])


def _scrub_word(word: str) -> str:
    if word.startswith("--") and "=" in word:
        name = word[2:].split("=", 1)[0]
        if _SECRET_WORDS.search(name) and not name.endswith("file"):
            return f"--{name}={REDACTED}"
    return word
