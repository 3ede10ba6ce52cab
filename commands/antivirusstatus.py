"""antivirusstatus: the anti-virus engine's version, definitions and state."""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.registry import command


@command("antivirusstatus", "Display anti-virus engine and definitions status.", roles=R.VIEW)
def run(ctx, args):
    import asyncio

    from asyncos_cli.services.engines import clamd
    from asyncos_cli.shell.shared.enginestatus import show

    args.expect_done("antivirusstatus")
    s = ctx.config.antivirus
    lines = [f"Anti-virus engine: ClamAV (clamd at {s.clamd}); scanning {'on' if s.enabled else 'off'}"]
    try:
        answer = asyncio.run(clamd.version(s.clamd))
    except clamd.ClamdUnavailable as e:
        lines.append(f"Engine version: unknown ({e})")
    else:
        engine, _, rest = answer.partition("/")
        lines.append(f"Engine version: {engine}")
        lines.append(_definitions(rest))
    show(ctx, "antivirus", "Scan", lines)


def _definitions(rest: str) -> str:
    """clamd's VERSION after the engine: "DBVERSION/DATE" (the daily database), or nothing when only local
    databases are loaded."""
    number, _, stamp = rest.partition("/")
    if not number:
        return "Definitions: no official database loaded (local signatures only)"
    try:
        age = int((time.time() - time.mktime(time.strptime(stamp.strip(), "%a %b %d %H:%M:%S %Y"))) // 86400)
        return f"Definitions: version {number}, {stamp.strip()} ({age} days old)"
    except ValueError:
        return f"Definitions: version {number}, {stamp.strip()}"
