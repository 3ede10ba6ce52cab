"""suspend: suspend receiving and delivery; sessions and deliveries under way get a grace delay; resume undoes it."""

from __future__ import annotations

from asyncos_cli.shell.shared.suspension import suspend_command

run = suspend_command(
    "suspend", "Suspend receiving and delivery.", receiving=True,
    notes="Sessions and deliveries still under way after the delay (30 s unless --delay says otherwise) are "
          "closed; no accepted message is lost. In effect at once, until resume or a restart of the gateway.")
