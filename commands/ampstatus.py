"""ampstatus: the file reputation service's state."""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.registry import command


@command("ampstatus", "Display file reputation and analysis status.", roles=R.VIEW)
def run(ctx, args):
    from asyncos_cli.shell.shared.enginestatus import show

    args.expect_done("ampstatus")
    s = ctx.config.file_reputation
    show(ctx, "file_reputation", "Lookup", [
        f"File reputation service: {s.url or '(none set)'}; lookups {'on' if s.enabled else 'off'}",
        f"Query timeout: {s.query_timeout_seconds} s (the first try half of it, one retry the rest)"])
