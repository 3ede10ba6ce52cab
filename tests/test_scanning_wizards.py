"""The scanning commands' menus, as an administrator walks them (scripted Prompter)."""

from __future__ import annotations

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.runner import Shell
from asyncos_cli.shell.scripted import ScriptedPrompter


def _shell(datadir, answers):
    p = ScriptedPrompter(answers)
    ctx = Context(DataDir(datadir), p, confined=False)
    return Shell(ctx), ctx, p


def test_scanconfig_menu_reaches_protected_attachments_and_its_passwords(datadir):
    answers = [
        "PROTECTEDATTACHMENTCONFIG",
        "SETUP", "Y", "N", "N",
        "PASSWORDS",
        "NEW", "", "First-Pass-1",   # priority defaults to the first free one (0)
        "NEW", "0", "Second-Pass-2",  # taken: refused, the menu comes back
        "NEW", "5", "Second-Pass-2",
        "SWAP", "0", "5",
        "PRINT",
        "", "", "",
    ]
    shell, ctx, p = _shell(datadir, answers)
    shell.execute("scanconfig")
    pa = ctx.config.protected_attachments
    assert pa.inbound and not pa.outbound and not pa.harvest_from_body
    assert [(x.priority, ctx.keyring.reveal(x.passphrase)) for x in pa.ordered()] == [
        (0, "Second-Pass-2"), (5, "First-Pass-1")]
    text = p.text
    assert "Do you want to scan password-protected attachments for inbound mails?" in text
    assert "User Defined Passwords" in text and "Priority:  Password:" in text
    assert "A password with priority 0 already exists" in text
    assert "First-Pass-1" not in text and "Second-Pass-2" not in text  # never echoed or printed


def test_scanconfig_setup_wizard_reasks_bad_numbers(datadir):
    shell, ctx, p = _shell(datadir, ["SETUP", "10", "2048", "3", "x", "200", "3", "N", "2", ""])
    shell.execute("scanconfig")
    s = ctx.config.scanning
    assert s.max_attachment_bytes == 2048 and s.max_depth == 3 and s.max_ratio == 200
    assert s.unscannable_action == "quarantine" and not s.url_scanning and s.url_blocked_action == "drop"


def test_hashlist_quarantine_and_url_menus(datadir, tmp_path):
    h = "ab" * 32
    shell, ctx, p = _shell(datadir, ["NEW", "Bad", "ADD", "Bad", f"{h} nothex", "ADD", "Bad", h, ""])
    shell.execute("hashlistconfig")
    assert ctx.config.hash_lists.get("bad").hashes == (h,)
    assert "'nothex' is not a SHA-256 value" in p.text
    shell, ctx, p = _shell(datadir, ["ADD", "1", "bad.example.net https://x.example.org/path", ""])
    shell.execute("urllistconfig")
    assert ctx.config.reputation.url_blocked == ("bad.example.net", "https://x.example.org/path")
    # NEW asks the retention and the expiry action: Enter takes the defaults
    shell, ctx, p = _shell(datadir, ["NEW", "Held", "", "", "MESSAGES", "Held", ""])
    shell.execute("quarantineconfig")
    assert ctx.config.quarantines.get("held") is not None and "holds no messages" in p.text


def test_antivirusconfig_setup_wizard_reasks_bad_answers(datadir):
    answers = [
        "SETUP",
        "Y",                      # enable
        "nowhere",                # neither a socket path nor host:port: refused, asked again
        "127.0.0.1:3310",
        "0",                      # timeout out of range: asked again
        "30",
        "10X",                    # not a size: asked again
        "5M",
        "2",                      # quarantine when clamd is unavailable
        "",                       # back out of the menu
    ]
    shell, ctx, p = _shell(datadir, answers)
    shell.execute("antivirusconfig")
    av = ctx.config.antivirus
    assert (av.enabled, av.clamd, av.timeout_seconds, av.max_scan_bytes, av.unavailable_action) == (
        True, "127.0.0.1:3310", 30.0, 5 * 1024 * 1024, "quarantine")
    text = p.text
    assert "Choose the operation you want to perform:" in text and "- SETUP -" in text
    assert "neither a socket path nor host:port" in text and "must be from 1 to 600" in text
    assert "takes a size such as" in text
    assert "When the engine is unavailable: quarantine to Unscannable" in text
