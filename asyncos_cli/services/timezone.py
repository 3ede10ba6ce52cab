"""settz in effect: the process's local time (logs, reports, the shell's dates) follows the configured zone."""

from __future__ import annotations

import os
import time
import zoneinfo
from pathlib import Path


def apply(name: str) -> None:
    """Make ``name`` this process's local time zone (each process of the gateway calls it when it reads the
    configuration: the daemon, the shell, the SSH and web servers)."""
    if os.environ.get("TZ") == name:
        return
    os.environ["TZ"] = name
    time.tzset()


def zones() -> list[str]:
    """Every zone the machine's database knows, sorted (the lists settz shows)."""
    return sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")


def database_version() -> str:
    """The zone database's version (tzdata's), as settz prints it."""
    for path in zoneinfo.TZPATH:
        data = Path(path) / "tzdata.zi"
        if data.is_file():
            first = data.read_text(errors="replace").split("\n", 1)[0]
            if first.startswith("# version "):
                return first.removeprefix("# version ").strip()
    return "unknown"
