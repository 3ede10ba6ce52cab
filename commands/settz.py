"""settz: the time zone of the gateway's logs, reports and the shell's dates.

As on the appliance the wizard asks a region, then a zone in it; batch forms name the zone. Setting the
machine's clock is the operating system's job (ntpconfig compares it with time servers).
"""

from __future__ import annotations

import time

from asyncos_cli.auth import roles as R
from asyncos_cli.config.system import timezone_problem
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command

GRAMMAR = Grammar("settz", """
print
ZONE                              (an IANA name: Europe/Paris, America/New_York, UTC)
list [REGION]
""", notes="The change takes effect at commit, in the daemon, the SSH and web servers and new shell commands.")


@command("settz", "Set the local time zone.", roles=R.CONFIGURE, grammar=GRAMMAR)
def run(ctx, args):
    from asyncos_cli.services import timezone

    args.expect_done("settz")
    words = list(args.positional)
    current = ctx.config.system.timezone
    if words == ["print"]:
        return _print(ctx, current, timezone.database_version())
    if words and words[0] == "list" and len(words) <= 2:
        found = [z for z in timezone.zones() if len(words) == 1 or z.split("/")[0].lower() == words[1].lower()]
        if not found:
            raise CommandError(f"settz: no time zones in region {words[1]!r} (regions: {', '.join(_regions())})")
        for z in found:
            ctx.say(z)
        return
    if len(words) > 1:
        raise UsageError()
    if words:
        zone = words[0]
    elif ctx.batch:
        raise UsageError()
    else:
        zone = _ask(ctx, current, timezone)
    problem = timezone_problem(zone)
    if problem:
        raise CommandError(f"settz: {problem}")
    ctx.replace_section("system", timezone=zone)
    ctx.say(f"Time zone set to {zone} (pending: commit to apply).")


def _print(ctx, current: str, version: str) -> None:
    from zoneinfo import ZoneInfo

    now = time.time()
    import datetime

    local = datetime.datetime.fromtimestamp(now, ZoneInfo(current))
    ctx.say(f"Current time zone: {current}")
    ctx.say(f"Current time zone version: {version}")
    ctx.say(f"Time in that zone: {local.strftime('%a %b %d %H:%M:%S %Y %Z')}")


def _regions() -> list[str]:
    from asyncos_cli.services import timezone

    return sorted({z.split("/")[0] for z in timezone.zones() if "/" in z})


def _ask(ctx, current: str, timezone) -> str:
    p = ctx.prompter
    _print(ctx, current, timezone.database_version())
    regions = _regions() + ["UTC"]
    region = regions[p.choose("Please choose your region:", regions, regions.index(current.split("/")[0])
                              if current.split("/")[0] in regions else len(regions) - 1)]
    if region == "UTC":
        return "UTC"
    zones = [z for z in timezone.zones() if z.split("/")[0] == region]
    names = [z.split("/", 1)[1].replace("_", " ") for z in zones]
    return zones[p.choose("Please choose your time zone:", names, zones.index(current) if current in zones else 0)]
