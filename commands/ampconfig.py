"""ampconfig: File Reputation and Analysis (SHA-256 lookups and file uploads over HTTPS), and its actions."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.config.engines import FILE_KINDS, FileReputationActions
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.engines import (
    EngineCommand,
    print_policies,
    size_text,
    take_size,
)

GRAMMAR = Grammar("ampconfig", """
print
setup [--enabled=yes|no] [--url=https://HOST[:PORT]] [--api-key=KEY | --api-key-file=FILE]
      [--timeout=20..30] [--file-types=TYPE,...] [--max-file-size=SIZE] [--analysis=yes|no] [--cache=SECONDS]
      [--proxy=HOST:PORT|none] [--proxy-user=NAME] [--proxy-passphrase=P | --proxy-passphrase-file=FILE]
policy incoming|outgoing NAME [--VERDICT=deliver|drop|quarantine|strip] [--VERDICT-quarantine=NAME]
      [--VERDICT-tag=TEXT|none] [--VERDICT-header="Name: value"|none] [--VERDICT-notify=ADDRESS,...|none]
""", expand={"VERDICT": FileReputationActions.VERDICTS}, notes=f"""\
VERDICT: malicious, unscannable, unknown (strip: malicious only).
TYPE: {', '.join(FILE_KINDS)}.
--timeout bounds each query with its one retry (the first try gets half of it).
Without --proxy the outbound clients' proxy (outboundconfig) is used.""")
USAGE = GRAMMAR.usage()


def _setup(ctx, args) -> dict:
    from asyncos_cli.config.fields import ConfigError
    from asyncos_cli.config.proxy import HttpProxy

    changes = args.take_typed((("enabled", "enabled", bool), ("url", "url", str),
                               ("timeout", "query_timeout_seconds", int), ("analysis", "analysis", bool),
                               ("cache", "cache_seconds", int)))
    take_size(args, "max-file-size", "max_file_bytes", changes)
    types = args.take_option("file-types")
    if types is not None:
        changes["file_types"] = tuple(t.strip().lower() for t in str(types).split(",") if t.strip())
    key = args.secret("api-key", ctx)
    if key:
        changes["api_key"] = ctx.keyring.seal(key)
    proxy = args.take_option("proxy")
    user = args.take_option("proxy-user")
    passphrase = args.secret("proxy-passphrase", ctx)
    current = ctx.config.file_reputation.proxy
    if proxy is not None and str(proxy).lower() == "none":
        changes["proxy"] = None
    elif proxy is not None or user is not None or passphrase:
        if proxy is None and current is None:
            raise CommandError("--proxy-user and --proxy-passphrase need --proxy=HOST:PORT")
        host, port = (current.host, current.port) if proxy is None else _host_port(str(proxy))
        try:
            changes["proxy"] = HttpProxy(
                host, port, str(user) if user is not None else (current.username if current else ""),
                ctx.keyring.seal(passphrase) if passphrase else (current.passphrase if current else None))
        except ConfigError as e:
            raise CommandError(f"--proxy: {e}") from None
    return changes


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise CommandError(f"--proxy takes HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _show(ctx) -> None:
    s = ctx.config.file_reputation
    ctx.say(f"File Reputation: {'enabled' if s.enabled else 'disabled'}")
    ctx.say(f"Reputation service: {s.url or '(not set)'}; API key {'set' if s.api_key else 'not set'}")
    ctx.say(f"Query timeout: {s.query_timeout_seconds} s (first try {s.query_timeout_seconds / 2:g} s, one retry "
            f"within the rest); answers cached {s.cache_seconds} s")
    ctx.say(f"File Analysis: {'enabled' if s.analysis else 'disabled'}; files up to {size_text(s.max_file_bytes)}")
    ctx.say(f"File types: {', '.join(s.file_types)}")
    if s.proxy is not None:
        ctx.say(f"Upstream proxy: {s.proxy.host}:{s.proxy.port}"
                + (f" as {s.proxy.username}" if s.proxy.username else ""))
    else:
        p = ctx.config.outbound.proxy
        ctx.say("Upstream proxy: " + (f"{p.host}:{p.port} (outboundconfig)" if p else "none"))
    ctx.say("Actions per mail policy:")
    print_policies(ctx, "file_reputation_actions", FileReputationActions.VERDICTS)


COMMAND = EngineCommand(
    "ampconfig", "file_reputation", USAGE, "file_reputation_actions", FileReputationActions.VERDICTS, _setup, _show,
    (("enabled", "Would you like to use File Reputation?", "bool"),
     ("url", "Enter the file reputation service's URL (https://...):", "text"),
     ("query_timeout_seconds", "Enter the file reputation query timeout in seconds (20 to 30):", "number"),
     ("max_file_bytes", "Enter the largest file to look up (bytes, or 2048K, 32M):", "size"),
     ("analysis", "Would you like to send files with an unknown reputation for analysis?", "bool")))


@command("ampconfig", "Configure File Reputation and Analysis.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    return COMMAND.run(ctx, args)
