"""The ``asyncos-cli`` program: shell (default), -c, batch, serve, stop, init.

Only this module knows about click. Batch paths import neither
prompt_toolkit nor anything of the relay, and the most common one,
``asyncos-cli -c '...'``, does not even import click: start-up time is a
feature (bench/cli_startup.py).
"""

from __future__ import annotations

import os
import signal
import sys

from .config.datadir import DataDir


def cli(argv: list[str] | None = None) -> None:
    """The console script's entry point."""
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) == 2 and args[0] == "-c":
        from .shell.batch import split_commands

        sys.exit(_batch(split_commands(args[1])))
    if args and args[0] not in _PROGRAM_COMMANDS and not args[0].startswith("-"):
        from asyncos_cli.shell.registry import lookup

        if lookup(args[0]) is not None:
            # `asyncos-cli saveconfig f.xml` is `asyncos-cli -c 'saveconfig f.xml'`, same exit status.
            import shlex

            sys.exit(_batch([shlex.join(args)]))
    _app()(args=args, prog_name="asyncos-cli")


#: The program's own subcommands (click); every other first word that names a shell command runs it.
_PROGRAM_COMMANDS = frozenset({"batch", "init", "serve", "stop", "version"})


def _echo(message: str) -> None:
    sys.stdout.write(message + "\n")


def _fail(message: str, code: int = 1):
    sys.stderr.write(f"asyncos-cli: {message}\n")
    sys.exit(code)


def _batch(commands) -> int:
    from asyncos_cli.shell.prompter import CommandError

    from .shell.batch import run_batch
    from .shell.console import console_context
    from .shell.runner import Shell
    from .shell.scripted import batch_prompter

    datadir = DataDir.from_env()
    try:
        ctx = console_context(datadir, batch_prompter(), batch=True)
    except CommandError as e:
        _fail(str(e))
    try:
        return run_batch(Shell(ctx), commands)
    except BrokenPipeError:
        # The reader went away (`asyncos-cli -c 'status' | head`): stop quietly, as a Unix filter does. Further
        # writes to the closed pipe (at exit, when Python flushes) go to /dev/null instead.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:
        ctx.close()


def _interactive() -> int:
    from asyncos_cli.shell.prompter import CommandError

    from .shell.console import console_context
    from .shell.repl import IdleTimeout, run_repl
    from .shell.terminal import TerminalPrompter

    # Ctrl-C stops what runs (tail, grep -t, a wizard) also when the shell was started with SIGINT ignored, as a
    # script's background job or nohup starts it: Python keeps an ignored SIGINT ignored, and tail never ended.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    datadir = DataDir.from_env()
    holder: list = []

    def audit(prompt, answer, secret):
        from .events.shell import CliInput

        ctx = holder[0]
        ctx.emit(CliInput(ctx.pid, ctx.user, answer, prompt))

    try:
        ctx = console_context(datadir, TerminalPrompter(on_input=audit), batch=False)
    except CommandError as e:
        _fail(str(e))
    holder.append(ctx)
    try:
        return run_repl(ctx)
    except IdleTimeout:
        _echo(f"\nSession timed out: no input for {ctx.config.admin_access.timeout_minutes} minutes.")
        return 0
    finally:
        ctx.close()


def _quote(value: str) -> str:
    import shlex

    return shlex.quote(value)


def _detach(datadir: DataDir) -> int:
    from .control.daemonproc import DaemonProcessError, running, start_detached

    if running(datadir):
        _echo(f"asyncos-cli: the gateway is already running ({datadir.control_socket})")
        return 0
    try:
        pid = start_detached(datadir)
    except DaemonProcessError as e:
        _fail(str(e))
    _echo(f"asyncos-cli: gateway started in the background (pid {pid})")
    return 0


def _init(admin_passphrase_file, hostname) -> None:
    line = "init"
    if admin_passphrase_file:
        line += f" --admin-passphrase-file={_quote(admin_passphrase_file)}"
    if hostname:
        line += f" --hostname={_quote(hostname)}"
    if not (sys.stdin.isatty() and not admin_passphrase_file):
        sys.exit(_batch([line]))
    from asyncos_cli.shell.prompter import CommandError

    from .shell.console import console_context
    from .shell.runner import Shell
    from .shell.terminal import TerminalPrompter

    try:
        ctx = console_context(DataDir.from_env(), TerminalPrompter(), batch=False)
        Shell(ctx).execute(line)
    except CommandError as e:
        _fail(str(e))
    except (KeyboardInterrupt, EOFError):
        _fail("set-up abandoned; nothing was written", 130)


def _serve(detach: bool) -> None:
    datadir = DataDir.from_env()
    if not datadir.is_initialised():
        _fail(f"the data directory {datadir.root} is not initialised: run 'asyncos-cli init' first")
    if detach:
        sys.exit(_detach(datadir))
    import asyncio
    import logging

    from .daemon import AlreadyRunning, Daemon

    logging.basicConfig(level=logging.WARNING, format="asyncos-cli serve: %(message)s")
    try:
        import uvloop  # the SMTP loop is the hot path; the SSH shell runs in its own process

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(Daemon(datadir).run())
    except AlreadyRunning as e:
        _fail(str(e))


def _stop() -> None:
    from .control.daemonproc import DaemonProcessError, stop

    try:
        pid = stop(DataDir.from_env())
    except DaemonProcessError as e:
        _fail(str(e))
    _echo("asyncos-cli: the gateway is not running" if pid is None else f"asyncos-cli: gateway stopped (pid {pid})")


def _app():
    """The click application; built only when a path other than ``-c`` needs it."""
    import click

    @click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
    @click.option("-c", "command", metavar="'CMD; CMD'", help="Run commands in batch mode and exit.")
    @click.pass_context
    def app(click_ctx, command):
        """The appliance shell. With no command: the interactive shell on a terminal,
        or batch commands read from standard input."""
        if click_ctx.invoked_subcommand is not None:
            return
        if command is not None:
            from .shell.batch import split_commands

            sys.exit(_batch(split_commands(command)))
        if not sys.stdin.isatty():
            from .shell.batch import lines_to_commands

            sys.exit(_batch(lines_to_commands(sys.stdin)))
        sys.exit(_interactive())

    @app.command()
    @click.argument("file", type=click.File("r"))
    def batch(file):
        """Run the commands in FILE (one or more per line, ';' between), then exit."""
        from .shell.batch import lines_to_commands

        sys.exit(_batch(lines_to_commands(file)))

    @app.command()
    @click.option("--admin-passphrase-file", metavar="FILE", help="Read admin's passphrase from FILE ('-': stdin).")
    @click.option("--hostname", metavar="NAME", help="The appliance's host name (default ironport.example.com).")
    def init(admin_passphrase_file, hostname):
        """Prepare a new data directory: the default configuration and admin's passphrase."""
        _init(admin_passphrase_file, hostname)

    @app.command()
    @click.option("--detach", is_flag=True, help="Run in the background; return once it answers.")
    def serve(detach):
        """Run the gateway daemon (foreground unless --detach)."""
        _serve(detach)

    @app.command()
    def stop():
        """Stop the running gateway daemon."""
        _stop()

    @app.command()
    def version():
        """Print the program's version."""
        from . import __version__

        _echo(f"asyncos-cli {__version__}")

    return app


if __name__ == "__main__":
    cli()
