"""Wizards through the scripted Prompter: defaults, re-asking, menus, abort."""

from __future__ import annotations

import pytest

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.prompter import CommandError, ScriptExhausted
from asyncos_cli.shell.runner import Shell
from asyncos_cli.shell.scripted import ScriptedPrompter


def _shell(datadir, answers):
    p = ScriptedPrompter(answers)
    ctx = Context(DataDir(datadir), p, confined=False)
    return Shell(ctx), ctx, p


def test_sethostname_wizard_reasks_until_valid(datadir):
    shell, ctx, p = _shell(datadir, ["bad_name.example.com", "single", "good.example.com"])
    shell.execute("sethostname")
    assert ctx.config.system.hostname == "good.example.com"
    assert p.text.count("Enter the new hostname.") == 3
    assert "[ironport.example.com]> " in p.text
    assert "characters a host name cannot hold: _" in p.text
    assert "must be fully qualified" in p.text


def test_enter_takes_the_default(datadir):
    shell, ctx, p = _shell(datadir, [""])
    shell.execute("sethostname")
    assert not ctx.session.has_pending


def test_commit_wizard_asks_comment_and_rollback(datadir):
    shell, ctx, p = _shell(datadir, ["w.example.com", "my comment", "N"])
    shell.execute("sethostname")
    shell.execute("commit")
    assert "Please enter some comments describing your changes:\n[]> " in p.text
    assert "Do you want to save the current configuration for rollback? [Y]> " in p.text
    v = ctx.store.versions()[-1]
    assert v.comment == "my comment" and v.rollback is False


def test_menu_enter_goes_up_and_unknown_option_reasks(datadir):
    shell, ctx, p = _shell(datadir, ["bogus", "list", ""])
    shell.execute("rollbackconfig")
    assert p.text.count("Choose the operation you want to perform:") == 3
    assert "- ROLLBACK - Roll back to a previously committed configuration." in p.text
    assert "Unknown option 'bogus'." in p.text
    assert "Initial configuration" in p.text and "test ports (current)" in p.text


def test_interrupted_wizard_leaves_nothing_pending(datadir):
    class Interrupting(ScriptedPrompter):
        def read_line(self, prompt, secret=False):
            if "Do you want to save" in prompt:
                raise KeyboardInterrupt
            return super().read_line(prompt, secret)

    p = Interrupting(["x.example.com"])
    ctx = Context(DataDir(datadir), p, confined=False)
    shell = Shell(ctx)
    shell.execute("sethostname")
    assert ctx.session.has_pending
    p.answers = ["comment"]
    with pytest.raises(KeyboardInterrupt):
        shell.execute("commit")
    # commit was abandoned: the change made before it stays pending, the commit did not happen
    assert ctx.session.has_pending and ctx.store.head_id() == 2


def test_failed_wizard_takes_its_changes_with_it(datadir):
    shell, ctx, p = _shell(datadir, ["y.example.com"])
    with pytest.raises(ScriptExhausted):
        shell.execute("rollbackconfig")  # runs out of answers inside the menu
    assert not ctx.session.has_pending


def test_role_check(datadir):
    p = ScriptedPrompter([])
    ctx = Context(DataDir(datadir), p, user="guest", role="Guests")
    with pytest.raises(CommandError, match="You are not in the correct access group to use sethostname."):
        Shell(ctx).execute("sethostname a.example.com")


def test_loadconfig_wizard_reauthenticates(datadir, tmp_path):
    from conftest import PASSPHRASE

    path = tmp_path / "c.xml"
    shell, ctx, p = _shell(datadir, [])
    shell.execute(f"saveconfig {path}")
    p.answers = ["wrong passphrase"]
    with pytest.raises(CommandError, match="Passphrase incorrect"):
        shell.execute("loadconfig")
    p.answers = [PASSPHRASE, "2", str(path)]
    shell.execute("loadconfig")
    assert "Enter your Passphrase to make changes:" in p.text and "No changes detected" in p.text


def test_listenerconfig_edit_takes_the_number_and_asks_the_limits(datadir):
    shell, ctx, p = _shell(datadir, ["EDIT", "1", "SETUP", "", "", "", "", "50", "60", "", "", ""])
    shell.execute("listenerconfig")
    first = ctx.config.listeners.listeners[0]
    assert (first.max_connections, first.idle_timeout_seconds) == (50, 60)
    assert "Enter the maximum number of concurrent connections." in p.text


def test_ctrl_c_in_a_menu_abandons_only_the_step_in_progress(datadir):
    class InterruptedAtEdit(ScriptedPrompter):
        def read_line(self, prompt, secret=False):
            if "Enter the name or number of the listener you wish to edit." in self.text.splitlines()[-1:][0]:
                raise KeyboardInterrupt
            return super().read_line(prompt, secret)

    p = InterruptedAtEdit(["NEW", "Extra", "1", "127.0.0.1", "2626", "EDIT", "x"])
    ctx = Context(DataDir(datadir), p, confined=False)
    with pytest.raises(KeyboardInterrupt):
        Shell(ctx).execute("listenerconfig")
    # NEW completed before the menu came back: it stays pending; the interrupted EDIT left nothing
    assert ctx.session.pending_names() == ["listeners"]
    assert ctx.config.listeners.get("Extra") is not None
