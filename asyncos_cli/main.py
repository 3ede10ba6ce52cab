"""The ``asyncos-cli`` program: shell (default), -c, batch, serve, stop, init.

Only this module knows about click. Batch paths import neither
prompt_toolkit nor anything of the relay: start-up time is a feature.
"""

from __future__ import annotations

import os
import sys
import time

import click

from .config.datadir import DataDir


def _fail(message: str, code: int = 1):
    click.echo(f"asyncos-cli: {message}", err=True)
    sys.exit(code)


def _batch(commands) -> int:
    from commands.base import CommandError

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
    finally:
        ctx.close()


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "command", metavar="'CMD; CMD'", help="Run commands in batch mode and exit.")
@click.version_option(package_name="asyncos-cli", message="%(prog)s %(version)s")
@click.pass_context
def cli(click_ctx, command):
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


def _interactive() -> int:
    from commands.base import CommandError

    from .shell.console import console_context
    from .shell.repl import run_repl
    from .shell.terminal import TerminalPrompter

    datadir = DataDir.from_env()
    holder: list = []

    def audit(prompt, answer, secret):
        from .events import CliInput

        ctx = holder[0]
        ctx.emit(CliInput(ctx.pid, ctx.user, answer, prompt))

    try:
        ctx = console_context(datadir, TerminalPrompter(on_input=audit), batch=False)
    except CommandError as e:
        _fail(str(e))
    holder.append(ctx)
    try:
        return run_repl(ctx)
    finally:
        ctx.close()


@cli.command()
@click.argument("file", type=click.File("r"))
def batch(file):
    """Run the commands in FILE (one or more per line, ';' between), then exit."""
    from .shell.batch import lines_to_commands

    sys.exit(_batch(lines_to_commands(file)))


@cli.command()
@click.option("--admin-passphrase-file", metavar="FILE", help="Read admin's passphrase from FILE ('-': stdin).")
@click.option("--hostname", metavar="NAME", help="The appliance's host name (default ironport.example.com).")
def init(admin_passphrase_file, hostname):
    """Prepare a new data directory: the default configuration and admin's passphrase."""
    line = "init"
    if admin_passphrase_file:
        line += f" --admin-passphrase-file={_quote(admin_passphrase_file)}"
    if hostname:
        line += f" --hostname={_quote(hostname)}"
    if sys.stdin.isatty() and not admin_passphrase_file:
        from commands.base import CommandError

        from .shell.console import console_context
        from .shell.runner import Shell
        from .shell.terminal import TerminalPrompter

        datadir = DataDir.from_env()
        try:
            ctx = console_context(datadir, TerminalPrompter(), batch=False)
            Shell(ctx).execute(line)
        except CommandError as e:
            _fail(str(e))
        except (KeyboardInterrupt, EOFError):
            _fail("set-up abandoned; nothing was written", 130)
        return
    sys.exit(_batch([line]))


def _quote(value: str) -> str:
    import shlex

    return shlex.quote(value)


@cli.command()
@click.option("--detach", is_flag=True, help="Run in the background; return once it answers.")
def serve(detach):
    """Run the gateway daemon (foreground unless --detach)."""
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
        asyncio.run(Daemon(datadir).run())
    except AlreadyRunning as e:
        _fail(str(e))


def _detach(datadir: DataDir) -> int:
    import subprocess

    from .control.client import DaemonUnavailable, request

    try:
        request(datadir.control_socket, "ping", timeout=1)
        click.echo(f"asyncos-cli: the gateway is already running ({datadir.control_socket})")
        return 0
    except Exception:
        pass
    out_path = datadir.private_dir(datadir.logs) / "daemon.out"
    with open(out_path, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "asyncos_cli", "serve"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            env={**os.environ, "ASYNCOS_DATA": str(datadir.root)},
        )
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            _fail(f"the daemon exited at start (status {proc.returncode}); see {out_path}")
        try:
            request(datadir.control_socket, "ping", timeout=1)
            click.echo(f"asyncos-cli: gateway started in the background (pid {proc.pid})")
            return 0
        except DaemonUnavailable:
            time.sleep(0.1)
    _fail(f"the daemon did not answer within 20 s; see {out_path}")
    return 1


@cli.command()
def stop():
    """Stop the running gateway daemon."""
    from .control.client import ControlError, DaemonUnavailable, request

    datadir = DataDir.from_env()
    try:
        pid = request(datadir.control_socket, "status")["pid"]
        request(datadir.control_socket, "shutdown")
    except (DaemonUnavailable, ControlError):
        click.echo("asyncos-cli: the gateway is not running")
        return
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            click.echo(f"asyncos-cli: gateway stopped (pid {pid})")
            return
        time.sleep(0.1)
    _fail(f"the gateway (pid {pid}) did not stop within 15 s")


if __name__ == "__main__":
    cli()
