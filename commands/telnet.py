"""telnet: a TCP conversation from the gateway with a remote host (an SMTP server, usually), over a real socket.

Interactively each line typed is sent and the answer shown, until the far end closes or the line is empty;
in batch the --send lines are sent in turn. An SMTP answer is read up to its last line (``250 ...``), so a
multi-line EHLO answer is shown whole.
"""

from __future__ import annotations

import re
import socket

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.systemtools import checked_host

GRAMMAR = Grammar("telnet", """
HOST [PORT] [--send=LINE ...]
""", notes="PORT defaults to 25. In batch a --send line cannot hold a comma (repeated options are joined by commas).")

_FINAL = re.compile(r"^\d{3}(?: |$)")
TIMEOUT = 10.0


@command("telnet", "Connect to a remote host.", roles=R.VIEW, grammar=GRAMMAR)
def run(ctx, args):
    sends = args.take_option("send")
    args.expect_done("telnet")
    words = list(args.positional)
    if len(words) > 2:
        raise CommandError("Usage: telnet HOST [PORT]")
    if not words:
        if ctx.batch:
            raise CommandError("Usage: telnet HOST [PORT]")
        words = [ctx.prompter.ask("Enter the remote hostname or IP address."),
                 str(ctx.prompter.ask_int("Enter the remote port.", 25, 1, 65535))]
    host = checked_host(words[0], "telnet")
    port = words[1] if len(words) > 1 else "25"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise CommandError(f"telnet: the port is a number from 1 to 65535, got {port!r}")
    ctx.say(f"Trying {host}...")
    try:
        conn = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    except OSError as e:
        raise CommandError(f"telnet: Unable to connect to remote host: {e.strerror or e}") from None
    with conn:
        peer = conn.getpeername()[0]
        ctx.say(f"Connected to {host}{f' ({peer})' if peer != host else ''}.")
        ctx.say("Escape character is '^]'.")
        reader = conn.makefile("rb")
        open_ = _answer(ctx, reader)
        lines = [s for s in (str(sends).split(",") if sends not in (None, True) else []) if s.strip()]
        interactive = not ctx.batch and ctx.prompter.interactive and not lines
        while open_:
            if interactive:
                try:
                    line = ctx.prompter.read_line("")  # an empty line (or Ctrl-D) ends the conversation
                except EOFError:
                    line = ""
            elif lines:
                line = lines.pop(0)
                ctx.say(line)
            else:
                break
            if not line:
                break
            conn.sendall(line.encode("utf-8", "replace") + b"\r\n")
            open_ = _answer(ctx, reader)
    ctx.say("Connection closed by foreign host." if not open_ else "Connection closed.")


def _answer(ctx, reader) -> bool:
    """Show the far end's answer (to its last SMTP line, or what comes within the timeout); False once closed."""
    while True:
        try:
            raw = reader.readline(4096)
        except socket.timeout:
            return True
        if not raw:
            return False
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        ctx.say(text)
        if _FINAL.match(text):
            return True
