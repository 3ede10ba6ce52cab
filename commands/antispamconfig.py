"""antispamconfig: anti-spam scanning with Rspamd, and each mail policy's thresholds and actions."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.engines import AntispamActions
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

GRAMMAR = Grammar("antispamconfig", """
print
setup [--enabled=yes|no] [--url=http://HOST:PORT] [--timeout=SECONDS] [--max-size=SIZE]
      [--unavailable=deliver|quarantine|defer] [--unavailable-quarantine=NAME] [--retry=SECONDS]
policy incoming|outgoing NAME [--positive-threshold=SCORE] [--suspect-threshold=SCORE]
      [--VERDICT=deliver|drop|quarantine] [--VERDICT-quarantine=NAME] [--VERDICT-tag=TEXT|none]
      [--VERDICT-header="Name: value"|none] [--VERDICT-notify=ADDRESS,sender,recipients|none]
test           (scans a small test message with Rspamd)
""", notes="""\
VERDICT: positive, suspect, negative (Rspamd's score against the policy's thresholds).
Messages larger than --max-size skip anti-spam scanning, as on the appliance.""", expand={"VERDICT": AntispamActions.VERDICTS})
USAGE = GRAMMAR.usage()

def _thresholds(actions) -> str:
    return f"positive at {actions.positive_threshold:g}, suspect at {actions.suspect_threshold:g}"


def _show(ctx) -> None:
    s = ctx.config.antispam
    ctx.say(f"Anti-spam scanning (Rspamd): {'enabled' if s.enabled else 'disabled'}")
    ctx.say(f"Rspamd: {s.url} (/checkv2); timeout {s.timeout_seconds:g} s; messages larger than "
            f"{size_text(s.max_scan_bytes)} are not scanned")
    print_unavailable(ctx, s)
    ctx.say("Thresholds and actions per mail policy:")
    print_policies(ctx, "antispam_actions", AntispamActions.VERDICTS, _thresholds)


def _test(ctx) -> None:
    import asyncio

    from asyncos_cli.services.engines import rspamd

    s = ctx.config.antispam
    probe = (b"From: probe@example.com\r\nTo: probe@example.com\r\nSubject: antispamconfig test\r\n"
             b"Message-ID: <antispamconfig-test@example.com>\r\n\r\nA test message.\r\n")
    try:
        answer = asyncio.run(rspamd.check(s.url, probe, {"From": "probe@example.com"}, s.timeout_seconds))
    except rspamd.RspamdUnavailable as e:
        raise CommandError(f"Rspamd did not answer: {e}") from None
    ctx.say(f"Rspamd at {s.url} answered: action {answer.get('action')}, score {answer.get('score')}")


COMMAND = EngineCommand(
    "antispamconfig", "antispam", USAGE, "antispam_actions", AntispamActions.VERDICTS, scanner_setup("url"),
    _show,
    (("enabled", "Would you like to enable anti-spam scanning?", "bool"),
     ("url", "Enter Rspamd's URL (its normal worker, e.g. http://127.0.0.1:11333):", "text"),
     ("timeout_seconds", "Enter the timeout for scanning a single message, in seconds:", "number"),
     ("max_scan_bytes", "Never scan messages larger than (bytes, or 2048K, 2M):", "size"),
     *unavailable_questions()),
    test=_test,
    policy_extra=(("positive-threshold", "positive_threshold", float),
                  ("suspect-threshold", "suspect_threshold", float)))


@command("antispamconfig", "Configure anti-spam scanning (Rspamd).", roles=R.CONFIGURE,
         grammar=GRAMMAR)
def run(ctx, args):
    return COMMAND.run(ctx, args)
