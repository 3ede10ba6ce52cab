"""One registry drives help and man pages; no retired terms anywhere a user can see."""

from __future__ import annotations

import ast
import re

from conftest import ROOT

from asyncos_cli.shell.manpage import man_dir, render
from asyncos_cli.shell.registry import all_commands, redact

RETIRED = re.compile(r"white[- ]?list|black[- ]?list|\bmaster\b|\bslave\b|black[- ]?hole", re.I)


def test_every_command_has_a_man_page_and_every_page_a_command():
    names = {c.name for c in all_commands()}
    pages = {p.stem for p in man_dir().glob("*.1")} - {"asyncos-cli"}
    assert names - pages == set(), "commands without man/NAME.1"
    assert pages - names == set(), "man pages without a command"


def test_every_module_in_commands_is_a_registered_command():
    """commands/ holds one module per CLI command; the shell framework and shared pieces live in asyncos_cli/shell/."""
    modules = {p.stem for p in (ROOT / "commands").glob("*.py")} - {"__init__"}
    assert modules == {c.name for c in all_commands()}


def test_every_page_renders_with_name_and_description():
    for page in man_dir().glob("*.1"):
        text = render(page.read_text())
        assert "NAME" in text and "DESCRIPTION" in text, page
        assert "\\f" not in text and not re.search(r"^\.", text, re.M), page


def test_help_lists_every_command(cli):
    out = cli("-c", "help").stdout
    for c in all_commands():
        assert re.search(rf"^{re.escape(c.name)}\s+{re.escape(c.summary)}$", out, re.M), c.name
    out = cli("-c", "help commit").stdout
    assert "commit(1)" in out and "There is no data to commit." in out
    r = cli("-c", "help nosuch", check=False)
    assert r.returncode == 1 and "help is not available for nosuch" in r.stderr


def _user_visible_strings():
    """String literals in the shipped code (messages, prompts), the man pages and the README."""
    for folder in ("asyncos_cli", "commands", "scanning"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    yield f"{path.name}:{node.lineno}", node.value
    for path in [*man_dir().glob("*.1"), ROOT / "README.md"]:
        yield path.name, path.read_text()


def test_no_retired_terms_in_help_man_pages_or_messages(cli):
    offenders = [(where, m.group(0)) for where, text in _user_visible_strings() if (m := RETIRED.search(text))]
    help_text = cli("-c", "help").stdout + "".join(cli("-c", f"help {c.name}").stdout for c in all_commands())
    if m := RETIRED.search(help_text):
        offenders.append(("help", m.group(0)))
    assert offenders == []


def test_redaction_of_secret_options_and_words():
    assert redact("sethostname a.example.com --passphrase=abc") == "sethostname a.example.com --passphrase=*****"
    assert redact("init --admin-passphrase=s3cret") == "init --admin-passphrase=*****"
    assert redact("init --admin-passphrase-file=/tmp/f") == "init --admin-passphrase-file=/tmp/f"
    assert redact("whatever --community=public --auth-password='a b'") == (
        "whatever --community=***** --auth-password=*****"
    )
    assert "s3" not in redact("broken 'quote --privkey=s3cret")
