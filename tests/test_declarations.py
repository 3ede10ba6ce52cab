"""One declaration per setting: field rules, command grammars, the list editor, completion."""

from __future__ import annotations

import io
import re

import pytest
from conftest import batch_fails, batch_ok

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.config.fields import ConfigError, declaration
from asyncos_cli.config.schema import SECTIONS, Config, Listener
from asyncos_cli.shell.args import Args
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import all_commands
from asyncos_cli.shell.runner import Shell
from asyncos_cli.shell.scripted import ScriptedPrompter


def _batch_shell(datadir):
    ctx = Context(DataDir(datadir), ScriptedPrompter(batch=True, out=io.StringIO()), batch=True, confined=False)
    return Shell(ctx), ctx


# ---------------------------------------------------------------- field declarations


def test_record_checks_each_field_from_its_declaration():
    with pytest.raises(ConfigError, match=r"^port: must be from 1 to 65535, got 0$"):
        Listener("a", "public", port=0)
    with pytest.raises(ConfigError, match=r"^kind: must be one of public, private, got 'x'$"):
        Listener("a", "x")
    with pytest.raises(ConfigError, match="listener name 'a b' may hold only"):
        Listener("a b", "public")
    meta = declaration(Listener, "max_message_bytes").metadata
    assert (meta["low"], meta["high"], meta["unit"], meta["option"]) == (1024, 1024**3, "bytes", "max-message-size")
    assert meta["help"]


def test_config_is_a_typed_object_of_every_section():
    config = Config.default()
    assert [s.name for s in config.sections()] == [s.name for s in SECTIONS]
    assert config.listeners is config["listeners"]
    assert config.with_section(config.system.replace(hostname="a.example.com")).system.hostname == "a.example.com"


def test_the_same_rule_message_from_a_batch_option_a_wizard_and_a_loaded_file(datadir, tmp_path):
    rule = "must be from 1 to 65535, got 70000"
    assert f"--port: {rule}" in batch_fails(datadir, "listenerconfig edit IncomingMail --port=70000")

    p = ScriptedPrompter(["EDIT", "1", "SETUP", "", "70000", "2526", *[""] * 7, ""])
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("listenerconfig")
    assert f"\n{rule}\n" in p.text  # re-asked with the field's own words
    assert ctx.config.listeners.get("IncomingMail").port == 2526

    saved = tmp_path / "c.xml"
    batch_ok(datadir, f"saveconfig {saved}")
    text = saved.read_text()
    saved.write_text(re.sub(r"(<listener>.*?<port>)\d+(</port>)", r"\g<1>70000\2", text, count=1, flags=re.S))
    assert f"port: {rule}" in batch_fails(datadir, f"loadconfig {saved}")


# ---------------------------------------------------------------- grammars


def test_a_mistyped_option_is_named_before_anything_else(datadir):
    err = batch_fails(datadir, "userconfig new bob --fullname=Bob --rol=operator --generate")
    assert "Unknown option for userconfig new: --rol" in err
    err = batch_fails(datadir, "userconfig new bob --rol=operator")
    assert "Unknown option for userconfig new: --rol" in err
    assert "userconfig new needs --fullname" in batch_fails(datadir, "userconfig new bob --role=operator --generate")
    assert "Unknown option for listenerconfig edit: --prot" in batch_fails(
        datadir, "listenerconfig edit IncomingMail --prot=26")


def test_every_command_names_an_option_it_does_not_take(datadir):
    shell, _ = _batch_shell(datadir)
    for cmd in all_commands():
        if cmd.name in ("quit", "init"):
            continue
        with pytest.raises(CommandError) as e:
            shell.execute(f"{cmd.name} --no-such-option=1")
        assert f"Unknown option for {cmd.name}" in str(e.value) and "--no-such-option" in str(e.value), cmd.name


def test_usage_comes_from_the_declaration(datadir):
    err = batch_fails(datadir, "scanconfig setup --bogus")
    assert "Unknown option for scanconfig setup: --bogus" in err
    usage = batch_fails(datadir, "scanconfig frobnicate")
    assert "scanconfig setup [--max-attachment-size=BYTES]" in usage
    assert "[--unscannable-action=deliver|drop|quarantine]" in usage


def test_every_listing_command_has_a_print_form(datadir):
    shell, ctx = _batch_shell(datadir)
    listing = [c for c in all_commands() if "print" in c.subcommands]
    assert len(listing) >= 30
    needs_daemon = set()
    for cmd in listing:
        try:
            shell.execute(f"{cmd.name} print")
        except CommandError as e:
            assert "not running" in str(e) or "daemon" in str(e), (cmd.name, str(e))
            needs_daemon.add(cmd.name)
    assert not needs_daemon, needs_daemon


# ---------------------------------------------------------------- the list editor


def test_a_number_from_the_printed_list_stands_for_a_name(datadir):
    batch_ok(datadir, "listenerconfig edit 2 --port=2600; commit")
    assert "OutgoingMail (127.0.0.1) SMTP TCP Port 2600" in batch_ok(datadir, "listenerconfig print")
    out = batch_ok(datadir, "quarantineconfig edit 1 --retention=7; quarantineconfig print")
    assert "Policy                      0      7 days" in out
    batch_ok(datadir, "smtproutes new a.example 192.0.2.1; smtproutes edit 1 192.0.2.2; commit")
    assert "a.example => 192.0.2.2" in batch_ok(datadir, "smtproutes print")
    batch_ok(datadir, "alertconfig new ops@example.com; alertconfig edit 1 --severities=Critical; commit")
    assert "ops@example.com" in batch_ok(datadir, "alertconfig print")
    batch_ok(datadir, "hashlistconfig new L; hashlistconfig delete 1; commit")
    assert "No hash lists" in batch_ok(datadir, "hashlistconfig list")
    batch_ok(datadir, "userconfig new bob --fullname=Bob --role=operator --generate; commit")
    batch_ok(datadir, "userconfig edit 2 --fullname=Robert; commit")
    assert '"Robert"' in batch_ok(datadir, "userconfig print")
    assert "There is no listener named '9'" in batch_fails(datadir, "listenerconfig edit 9 --port=2601")


def test_edit_offers_each_current_value_as_the_default(datadir):
    batch_ok(datadir, "quarantineconfig edit Policy --retention=9 --expiry-action=release; commit")
    p = ScriptedPrompter(["EDIT", "Policy", "", "", ""])
    ctx = Context(DataDir(datadir), p, confined=False)
    Shell(ctx).execute("quarantineconfig")
    assert "[9]> " in p.text and "[2]> " in p.text  # release is choice 2
    q = ctx.config.quarantines.get("Policy")
    assert (q.retention_days, q.expiry_action) == (9, "release")


# ---------------------------------------------------------------- completion


def _complete(text, config=None):
    from prompt_toolkit.document import Document

    from asyncos_cli.shell.completer import CommandCompleter

    return [c.text for c in CommandCompleter(lambda: config).get_completions(Document(text), None)]


def test_completion_of_commands_subcommands_options_and_names():
    config = Config.default()
    assert "listenerconfig" in _complete("listen")
    assert _complete("help listen") == ["listenerconfig"]
    assert "new" in _complete("userconfig n")
    assert _complete("listenerconfig edit Inc", config) == ["IncomingMail"]
    assert _complete("listenerconfig edit IncomingMail --max-conn", config) == ["--max-connections="]
    assert "admin" in _complete("userconfig edit ", config)
    assert _complete("policyconfig edit incoming D", config) == ["DEFAULT"]
    assert set(_complete("policyconfig edit ", config)) == {"incoming", "outgoing"}
    assert "Policy" in _complete("quarantineconfig messages ", config)
    assert "mail_logs" in _complete("logconfig edit ", config)
    assert "--passphrase-file=" in _complete("userconfig new bob --pass")


def test_menu_questions_offer_their_words_for_completion(datadir):
    seen = []

    class Recording(ScriptedPrompter):
        def read_line(self, prompt, secret=False):
            seen.append(self.completions)
            return super().read_line(prompt, secret)

    p = Recording([""])
    Shell(Context(DataDir(datadir), p, confined=False)).execute("listenerconfig")
    assert seen == [("NEW", "EDIT", "DELETE")]
    assert p.completions == ()


def test_args_split_and_take_fields_read_the_declaration():
    from asyncos_cli.shell.grammar import field_options

    args = Args.from_line("edit X --port=2526 --starttls=required")
    assert args.split() == ("edit", ["X"])
    assert args.take_fields(field_options(Listener, "port", "starttls")) == {"port": 2526, "starttls": "required"}
    with pytest.raises(CommandError, match="--starttls: must be one of off, preferred, required"):
        Args.from_line("x --starttls=maybe").take_fields(field_options(Listener, "starttls"))
