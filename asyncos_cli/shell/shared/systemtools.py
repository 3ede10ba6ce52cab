"""Running the machine's own network tools (ping, traceroute) from the shell, line by line.

The gateway does not reimplement ICMP: it runs the operating system's program, shows each line as it comes,
stops it on Ctrl-C (the SSH prompter watches the keys) and says plainly when the machine has no such program.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess

from asyncos_cli.shell.prompter import CommandError

_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})")


def checked_host(text: str, command: str) -> str:
    """A host name or address, never something a program would read as an option."""
    host = text.strip()
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not _HOST.fullmatch(host) or ".." in host:
        raise CommandError(f"{command}: {host!r} is not a host name or an IP address")
    return host


def program(*names: str, command: str, package: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise CommandError(f"{command} is not available on this machine: the operating system has no "
                       f"{' or '.join(names)} program (Debian package {package}).")


def stream(ctx, argv: list[str], seconds: float) -> int:
    """Run argv, saying each line of its output as it comes; Ctrl-C (or ``seconds``) stops it. Its exit status."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                            errors="replace")
    import threading
    import time

    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
        done.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + seconds
    shown = 0
    stopped = False
    while True:
        finished = done.is_set()
        while shown < len(lines):
            ctx.say(lines[shown])
            shown += 1
        if finished:
            break
        if time.monotonic() > deadline or not ctx.prompter.wait_unless_stopped(0.1):
            stopped = True
            proc.terminate()
            done.wait(5)
    try:
        return proc.wait(5) if not stopped else 0
    except subprocess.TimeoutExpired:
        proc.kill()
        return 1
