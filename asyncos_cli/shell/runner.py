"""Runs one command line: lookup, role check, the command, and undo on abort.

Shared by the REPL, batch runs and (later) SSH sessions, so every way in
applies the same rules.
"""

from __future__ import annotations

from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.files import FileRefused
from asyncos_cli.events.shell import CliBatchCommand
from asyncos_cli.shell import clustermode
from asyncos_cli.shell.args import Args, split_line
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import lookup, redact


class Shell:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def execute(self, line: str) -> None:
        """Run one command line. Raises CommandError (and KeyboardInterrupt on Ctrl-C)."""
        tokens = split_line(line)
        if not tokens:
            return
        ctx = self.ctx
        if ctx.batch:
            # Before any check: the audit log shows what was attempted, refused or not (escaped by the log writer).
            ctx.emit(CliBatchCommand(ctx.pid, ctx.user, redact(line), ctx.origin))
        cmd = lookup(tokens[0])
        if cmd is None:
            raise CommandError(f"Unknown command: {tokens[0]}")
        if cmd.needs_store and not ctx.datadir.is_initialised():
            raise CommandError(
                f"The data directory {ctx.datadir.root} is not initialised: run 'asyncos-cli init' first."
            )
        if ctx.role not in cmd.roles:
            raise CommandError(f"You are not in the correct access group to use {cmd.name}.")
        if cmd.needs_store:
            try:
                clustermode.prepare(ctx, cmd.name)  # may switch the mode, and with it the session
            except ConfigError as e:
                raise CommandError(str(e)) from None
        session = ctx.session if cmd.needs_store else None
        if session is not None and not session.has_pending:
            session.refresh()
        checkpoint = session.checkpoint() if session is not None else None
        # Ctrl-C abandons the step in progress: what a wizard finished before its last menu stays pending.
        steps = [checkpoint]
        if session is not None:
            ctx.prompter.on_menu = lambda: steps.__setitem__(0, session.checkpoint())
        try:
            cmd.invoke(ctx, Args.parse(tokens[1:]))
        except (ConfigError, FileRefused) as e:
            self._undo(checkpoint)
            raise CommandError(str(e)) from None
        except CommandError:
            # A wizard that fails takes its half-made changes with it.
            self._undo(checkpoint)
            raise
        except KeyboardInterrupt:
            self._undo(steps[0])
            raise
        finally:
            ctx.prompter.on_menu = None

    def _undo(self, checkpoint) -> None:
        if checkpoint is not None and self.ctx.has_session:
            self.ctx.session.restore(checkpoint)
