"""antispamstatus: the anti-spam engine's version and state."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.registry import command


@command("antispamstatus", "Display anti-spam engine status.", roles=R.VIEW)
def run(ctx, args):
    import asyncio

    from asyncos_cli.services.engines import rspamd
    from asyncos_cli.shell.shared.enginestatus import show

    args.expect_done("antispamstatus")
    s = ctx.config.antispam
    lines = [f"Anti-spam engine: Rspamd at {s.url}; scanning {'on' if s.enabled else 'off'}"]
    try:
        lines.append(f"Engine version: {asyncio.run(rspamd.version(s.url))}")
    except rspamd.RspamdUnavailable as e:
        lines.append(f"Engine version: unknown ({e})")
    lines.append("Rules: Rspamd's own, updated with its package and its maps (not by this gateway)")
    show(ctx, "antispam", "Scan", lines)
