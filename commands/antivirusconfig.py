"""antivirusconfig: anti-virus scanning with ClamAV's clamd, and each mail policy's anti-virus actions."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.engines import AntivirusActions
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.engines import (
    EngineCommand,
    print_policies,
    print_unavailable,
    scanner_setup,
    size_text,
    unavailable_questions,
)

GRAMMAR = Grammar("antivirusconfig", """
print
setup [--enabled=yes|no] [--clamd=SOCKET|HOST:PORT] [--timeout=SECONDS] [--max-size=SIZE]
      [--unavailable=deliver|quarantine|defer] [--unavailable-quarantine=NAME] [--retry=SECONDS]
policy incoming|outgoing NAME [--VERDICT=deliver|drop|quarantine|strip]
      [--VERDICT-quarantine=NAME] [--VERDICT-tag=TEXT|none] [--VERDICT-header="Name: value"|none]
      [--VERDICT-notify=ADDRESS,sender,recipients|none]
test          (asks clamd for its version over the configured socket)
""", notes="""\
VERDICT: clean, infected, unscannable, encrypted (strip: infected only). SIZE: bytes, or 2048K, 10M.""", expand={"VERDICT": AntivirusActions.VERDICTS})
USAGE = GRAMMAR.usage()

def _show(ctx) -> None:
    s = ctx.config.antivirus
    ctx.say(f"Anti-virus scanning (ClamAV): {'enabled' if s.enabled else 'disabled'}")
    ctx.say(f"clamd: {s.clamd}; scan timeout {s.timeout_seconds:g} s; messages larger than "
            f"{size_text(s.max_scan_bytes)} are unscannable")
    print_unavailable(ctx, s)
    ctx.say("Actions per mail policy:")
    print_policies(ctx, "antivirus_actions", AntivirusActions.VERDICTS)


def _test(ctx) -> None:
    import asyncio

    from asyncos_cli.services.engines import clamd

    s = ctx.config.antivirus
    try:
        answer = asyncio.run(clamd.version(s.clamd))
    except clamd.ClamdUnavailable as e:
        raise CommandError(f"clamd did not answer: {e}") from None
    ctx.say(f"clamd at {s.clamd} answered: {answer}")


COMMAND = EngineCommand(
    "antivirusconfig", "antivirus", USAGE, "antivirus_actions", AntivirusActions.VERDICTS, scanner_setup("clamd"),
    _show,
    (("enabled", "Would you like to enable anti-virus scanning?", "bool"),
     ("clamd", "Enter clamd's socket (a path, or host:port):", "text"),
     ("timeout_seconds", "Enter the scan timeout in seconds:", "number"),
     ("max_scan_bytes", "Enter the largest message to scan (bytes, or 2048K, 10M):", "size"),
     *unavailable_questions()),
    test=_test)


@command("antivirusconfig", "Configure anti-virus scanning (ClamAV).", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    return COMMAND.run(ctx, args)
