"""The interactive shell: ``hostname> `` prompt, completion, history, Ctrl-C handling."""

from __future__ import annotations

from asyncos_cli import PRODUCT, __version__
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.events.shell import CliInput, CliLogin
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.prompter import CommandError
from asyncos_cli.shell.registry import redact

from .completer import CommandCompleter
from .history import RedactingHistory
from .runner import Shell


def hostname(ctx: Context) -> str:
    try:
        return ctx.session.snapshot.config.system.hostname
    except CommandError:
        return "asyncos"


def prompt_name(ctx: Context) -> str:
    """The host name, or in a cluster the mode the appliance shows: ``(Cluster NAME)``."""
    from asyncos_cli.config.cluster import Membership

    try:
        member = Membership.load(ctx.datadir)
    except ConfigError:
        member = None
    if member is None:
        return hostname(ctx)
    mode = getattr(ctx._store, "mode", None)  # the store is opened by the first command, not by the prompt
    return f"({mode})" if mode else f"(Cluster {member.cluster})"


def config_for_completion(ctx: Context):
    """The configuration names are completed from (pending changes included), or None when unreadable."""
    try:
        return ctx.config if ctx.datadir.is_initialised() else None
    except CommandError:
        return None


class IdleTimeout(Exception):
    """No input within the configured idle time: the session ends."""


class SessionClosed(EOFError):
    """The terminal went away (an SSH client disconnected): the session ends at once."""


def terminal_reader(ctx: Context):
    """The main prompt on the local terminal: completion and (redacted) history."""
    from prompt_toolkit import PromptSession

    history_file = ctx.datadir.private_dir(ctx.datadir.history) / ctx.user
    session = PromptSession(
        history=RedactingHistory(str(history_file)),
        completer=CommandCompleter(lambda: config_for_completion(ctx)),
        complete_while_typing=False,
    )

    def read(prompt: str) -> str:
        """The prompt, ended by adminaccessconfig's inactivity timeout as SSH sessions are."""
        import threading

        app = session.app

        def expire():
            loop = getattr(app, "loop", None)
            if app.is_running and loop is not None:
                loop.call_soon_threadsafe(lambda: app.exit(exception=IdleTimeout()))

        timer = threading.Timer(ctx.session.snapshot.config.admin_access.timeout_minutes * 60, expire)
        timer.daemon = True
        timer.start()
        try:
            return session.prompt(prompt)
        finally:
            timer.cancel()

    return read


def run_repl(ctx: Context, read_command=None, local_address: str = "console") -> int:
    """The shell loop. ``read_command(prompt)`` returns a line; EOFError ends the session."""
    shell = Shell(ctx)
    if not ctx.datadir.is_initialised():
        ctx.say("This appliance has not been set up yet: running init.")
        try:
            shell.execute("init")
        except (CommandError, KeyboardInterrupt, EOFError) as e:
            ctx.say(f"\n{e}" if str(e) else "\nSet-up abandoned.")
            return 1

    ctx.emit(CliLogin(ctx.pid, ctx.user, ctx.origin, local_address))
    read_command = read_command or terminal_reader(ctx)
    try:
        return _loop(ctx, shell, read_command)
    except SessionClosed:
        return 0


def _loop(ctx: Context, shell: Shell, read_command) -> int:
    ctx.say(f"\n{PRODUCT} {__version__}\n")
    _lifecycle_banner(ctx)
    _warn_demo_certificate(ctx)
    while True:
        prompt = f"\n{prompt_name(ctx)}> "
        try:
            line = read_command(prompt)
        except KeyboardInterrupt:
            continue
        except EOFError:
            line = "quit"
        if not line.strip():
            continue
        ctx.emit(CliInput(ctx.pid, ctx.user, redact(line), prompt))
        try:
            shell.execute(line)
        except CommandError as e:
            ctx.say(str(e))
        except KeyboardInterrupt:
            pending = ctx.session.pending_names() if ctx.has_session else []
            ctx.say("\nCommand aborted." + (f" Pending changes ({', '.join(pending)}): commit or clear them."
                                             if pending else " Nothing is pending."))
        except SessionClosed:
            raise
        except EOFError:
            ctx.say("\nCommand aborted: end of input.")
        if ctx.quit_requested:
            return 0


def _lifecycle_banner(ctx: Context) -> None:
    from asyncos_cli.lifecycle import alerts

    for line in alerts(ctx.session.snapshot.config.system.model):
        ctx.say(line)


def _warn_demo_certificate(ctx: Context) -> None:
    """As the appliance does, while a listener with STARTTLS presents the demonstration certificate."""
    listeners = ctx.session.snapshot.config.listeners.listeners
    in_use = [l.name for l in listeners if l.enabled and l.starttls != "off" and not l.certificate]
    if in_use:
        ctx.say(
            "WARNING: You are currently using a demonstration certificate "
            f"(listeners: {', '.join(in_use)}). Import your own with certconfig and set it with "
            "listenerconfig edit LISTENER --certificate=NAME before production use."
        )
