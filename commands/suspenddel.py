"""suspenddel: suspend delivery only; deliveries under way get a grace delay; resumedel undoes it."""

from __future__ import annotations

from asyncos_cli.shell.shared.suspension import suspend_command

run = suspend_command(
    "suspenddel", "Suspend delivery.", receiving=False,
    notes="Receiving goes on. Deliveries still under way after the delay (30 s unless --delay says otherwise) are "
          "stopped; their messages stay queued. In effect at once, until resumedel or a restart of the gateway.")
