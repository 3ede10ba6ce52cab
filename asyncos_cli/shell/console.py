"""The local console: who is speaking and where shell-side events are written."""

from __future__ import annotations

import sys

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.events import Event
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.prompter import CommandError, Prompter

CONSOLE_USER = "admin"


class ShellLogs:
    """Writes the shell's events (CLI audit, commits) with the configured subscriptions.

    Opened on the first event, so commands that log nothing never pay for it.
    """

    def __init__(self, datadir: DataDir, ctx_ref: list):
        self.datadir = datadir
        self._ctx_ref = ctx_ref
        self._service = None
        self._logs = None

    def __call__(self, event: Event) -> None:
        if event.log_type is None or not self.datadir.is_initialised():
            return
        if self._service is None:
            from asyncos_cli.events import log_subscriber
            from asyncos_cli.services.logs import LogService

            ctx = self._ctx_ref[0]
            try:
                logs = ctx.session.snapshot.config.logs
            except CommandError:
                return
            self._logs = LogService(self.datadir.logs, logs, ctx.state.get("serial", ""))
            self._service = log_subscriber(self._logs)
        self._service(event)  # the same writer as the daemon's: every log type the event goes to

    def close(self) -> None:
        if self._logs is not None:
            self._logs.close()
            self._logs = self._service = None


def console_context(datadir: DataDir, prompter: Prompter, batch: bool) -> Context:
    if not datadir.owned_by_caller():
        raise CommandError(
            f"Only the owner of {datadir.root} may use the console; other users log in over SSH."
        )
    ref: list = []
    ctx = Context(
        datadir=datadir,
        prompter=prompter,
        user=CONSOLE_USER,
        role="Administrators",
        batch=batch,
        origin="console",
        confined=False,
        emit=ShellLogs(datadir, ref),
        stdin=sys.stdin,
    )
    ref.append(ctx)
    return ctx
