"""The shell over SSH: its own process, supervised by the gateway daemon.

asyncssh with prompt_toolkit's SSH support serves the interactive shell; a
command on the ssh command line (``ssh admin@host 'showconfig'``) runs as a
batch command. Users authenticate against the appliance's accounts with a
passphrase or a public key from ``sshconfig``.

Commands are synchronous code (SQLite, wizards), so each SSH session runs its
shell in a worker thread; the thread reaches the session's terminal through
the event loop (``SshPrompter``), which is the only thread that touches
asyncssh and prompt_toolkit objects.

The process follows the configuration: when the ``ssh`` section changes it
closes its listener and opens the new one; sessions already open go on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import logging
import signal
import sys
import threading

import asyncssh
from prompt_toolkit import PromptSession, print_formatted_text
from prompt_toolkit.contrib.ssh.server import (
    PromptToolkitSSHServer,
    PromptToolkitSSHSession,
)

from asyncos_cli.config.datadir import DataDir, write_private
from asyncos_cli.events.auth import (
    LoggedOut,
    LoginFailed,
)
from asyncos_cli.services import listening, servicechild
from asyncos_cli.services.access import AccessPoint
from asyncos_cli.shell.context import Context
from asyncos_cli.shell.prompter import CommandError, Prompter
from asyncos_cli.shell.shared.newpassphrase import ask_new_passphrase, store_passphrase

from .batch import run_batch, split_commands
from .completer import CommandCompleter
from .history import RedactingHistory
from .repl import IdleTimeout, SessionClosed, config_for_completion, run_repl
from .runner import Shell
from .scripted import ScriptedPrompter

log = logging.getLogger("asyncos.sshd")

POLL_SECONDS = 0.5


class _CtrlC(Exception):
    pass


class SshPrompter(Prompter):
    """A Prompter whose terminal is an SSH channel, used from a worker thread."""

    interactive = True

    def __init__(self, loop, app_session, idle_seconds: float, on_input):
        self.loop = loop
        self.app_session = app_session
        self.idle_seconds = idle_seconds
        self.on_input = on_input
        self._questions = None
        self._closed = False
        self._pending = None

    def close(self) -> None:
        """The channel is gone: wake the session's thread, which then ends the session."""
        self._closed = True
        if self._pending is not None:
            self._pending.cancel()

    def _call(self, coro):
        if self._closed:
            coro.close()
            raise SessionClosed()
        self._pending = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return self._pending.result()
        except _CtrlC:
            raise KeyboardInterrupt from None
        except (concurrent.futures.CancelledError, asyncio.CancelledError):
            raise SessionClosed() from None
        finally:
            self._pending = None

    async def _prompt(self, session: PromptSession, prompt: str, secret: bool, **prompt_args) -> str:
        async def guarded() -> str:
            try:
                return await session.prompt_async(prompt, is_password=secret, **prompt_args)
            except KeyboardInterrupt:
                # Ctrl-C from the user: a KeyboardInterrupt escaping a task stops the
                # whole event loop (every session), so it travels as a plain exception.
                raise _CtrlC() from None

        try:
            return await asyncio.wait_for(guarded(), self.idle_seconds)
        except asyncio.TimeoutError:
            if session.app.is_running:
                session.app.exit(result="")
            raise IdleTimeout() from None

    def _session(self, **kwargs) -> PromptSession:
        return PromptSession(input=self.app_session.input, output=self.app_session.output, **kwargs)

    def read_line(self, prompt: str, secret: bool = False) -> str:
        async def ask():
            from .completer import choices_completer

            if self._questions is None:
                self._questions = self._session()
            return await self._prompt(self._questions, prompt, secret, completer=choices_completer(self.completions),
                                      complete_while_typing=False)

        answer = self._call(ask())
        self.on_input(prompt, "*****" if secret else answer, secret)
        return answer

    def command_reader(self, history_file: str, config_source=lambda: None):
        """The main prompt; ``config_source`` (called in the command thread, which owns the store) gives the
        configuration names are completed from."""
        holder = {}
        snapshot = {}

        def read(prompt: str) -> str:
            snapshot["config"] = config_source()

            async def ask():
                if "session" not in holder:
                    holder["session"] = self._session(
                        history=RedactingHistory(history_file),
                        completer=CommandCompleter(lambda: snapshot.get("config")),
                        complete_while_typing=False,
                    )
                return await self._prompt(holder["session"], prompt, False)

            return self._call(ask())

        return read

    def write(self, text: str) -> None:
        async def out():
            print_formatted_text(text, end="", output=self.app_session.output, flush=True)

        self._call(out())

    def page(self, text: str) -> None:
        from .terminal import paginate

        rows = self.app_session.output.get_size().rows - 1
        paginate(self, text, rows, self._read_key)

    def wait_unless_stopped(self, seconds: float) -> bool:
        """Watch the keys for ``seconds``: Ctrl-C (or q) stops what is being followed."""
        from prompt_toolkit.application import Application
        from prompt_toolkit.key_binding import KeyBindings
        from prompt_toolkit.layout import Layout, Window
        from prompt_toolkit.layout.controls import FormattedTextControl

        async def watch():
            kb = KeyBindings()

            @kb.add("c-c")
            @kb.add("q")
            def _(event):
                event.app.exit(result=True)

            app = Application(layout=Layout(Window(FormattedTextControl(""), height=1)), key_bindings=kb,
                              input=self.app_session.input, output=self.app_session.output, erase_when_done=True)
            try:
                return await asyncio.wait_for(app.run_async(), seconds)
            except asyncio.TimeoutError:
                return False

        return not self._call(watch())

    def _read_key(self) -> str:
        """One key press from the SSH terminal, without Enter."""
        from prompt_toolkit.application import Application
        from prompt_toolkit.key_binding import KeyBindings
        from prompt_toolkit.layout import Layout, Window
        from prompt_toolkit.layout.controls import FormattedTextControl

        async def one_key():
            kb = KeyBindings()

            @kb.add("<any>")
            def _(event):
                event.app.exit(result=event.key_sequence[0].data)

            @kb.add("c-c")
            def _(event):
                event.app.exit(result="\x03")

            app = Application(layout=Layout(Window(FormattedTextControl(""), height=1)), key_bindings=kb,
                              input=self.app_session.input, output=self.app_session.output, erase_when_done=True)
            return await app.run_async()

        return self._call(one_key())


class SshApp(AccessPoint):
    """Everything the SSH server needs from the appliance, shared by all connections."""

    def __init__(self, datadir: DataDir):
        super().__init__(datadir)
        #: What a passphrase login found (expiry reminder, change required), per user and address.
        self.login_notes: dict = {}

    def login_by_passphrase(self, user: str, passphrase: str, address: str, via: str = "SSH"):
        result = super().login_by_passphrase(user, passphrase, address, via)
        if result is not None:
            self.login_notes[(user, address)] = result
        return result

    def login_by_key(self, user: str, key: asyncssh.SSHKey, address: str) -> bool:
        offered = key.export_public_key("openssh").decode().split()[:2]
        known = [k.key.split()[:2] for k in self.config.ssh.user_keys if k.user == user]
        if self.config.users.get(user) is None or offered not in known:
            return False
        if self.accounts.status(user).locked:
            self.bus.emit(LoginFailed(user, address, "account locked"))
            return False
        return True

    # ------------------------------------------------------------ sessions

    def context(self, user: str, address: str, prompter: Prompter, batch: bool) -> Context:
        return Context(
            datadir=self.datadir,
            prompter=prompter,
            user=user,
            role=self.role_of(user),
            batch=batch,
            origin=address,
            confined=True,
            emit=self.bus.emit,
            stdin=io.StringIO(""),
        )

    def _passphrase_checks(self, ctx: Context, prompter: SshPrompter, note) -> bool:
        """Expiry reminder, and a forced change when the policy requires one; False ends the session."""
        if note is None:
            return True
        if note.expires_in_days is not None:
            prompter.say(f"Your passphrase will expire in {note.expires_in_days} days: change it with passwd.")
        if not note.must_change:
            return True
        prompter.say("Your passphrase must be changed now.")
        try:
            store_passphrase(ctx, ctx.user, ask_new_passphrase(ctx, ctx.user, offer_generated=False))
        except CommandError as e:
            prompter.say(str(e))
            return False
        prompter.say("Passphrase changed.")
        return True

    def run_exec(self, user: str, address: str, command: str) -> tuple[str, str, int]:
        note = self.login_notes.get((user, address))
        if note is not None and note.must_change:
            return "", ("asyncos-cli: your passphrase must be changed before you can run commands: "
                        "log in interactively\n"), 1
        out, err = io.StringIO(), io.StringIO()
        ctx = self.context(user, address, ScriptedPrompter(out=out, batch=True), batch=True)
        try:
            status = run_batch(Shell(ctx), split_commands(command), err=err)
        finally:
            ctx.close()
            release_freed_memory()
        return out.getvalue(), err.getvalue(), status

    def run_interactive(self, user: str, address: str, prompter: SshPrompter, local: str) -> None:
        from asyncos_cli.events.shell import CliInput

        ctx = self.context(user, address, prompter, batch=False)
        prompter.on_input = lambda prompt, answer, secret: ctx.emit(CliInput(ctx.pid, user, answer, prompt))
        history = str(self.datadir.private_dir(self.datadir.history) / user)
        try:
            if not self._passphrase_checks(ctx, prompter, self.login_notes.pop((user, address), None)):
                return
            run_repl(ctx, prompter.command_reader(history, lambda: config_for_completion(ctx)), local_address=local)
            self.bus.emit(LoggedOut(user, address))
        except IdleTimeout:
            prompter.say("\nSession timed out: no input for "
                         f"{self.config.admin_access.timeout_minutes} minutes.")
            self.bus.emit(LoggedOut(user, address, "inactivity timeout"))
        finally:
            ctx.close()
            release_freed_memory()


async def in_thread(fn, *args):
    """Run a session's synchronous shell in a thread of its own.

    A daemon thread rather than an executor's: a session stuck at a prompt must
    neither starve other sessions nor hold the process at exit.
    """
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def work():
        try:
            result = fn(*args)
        except BaseException as e:  # handed to the awaiting task, not lost in the thread
            loop.call_soon_threadsafe(_settle, done, None, e)
        else:
            loop.call_soon_threadsafe(_settle, done, result, None)

    threading.Thread(target=work, name="ssh-session", daemon=True).start()
    return await done


def _settle(fut, result, error):
    if fut.cancelled():
        return
    if error is not None:
        fut.set_exception(error if isinstance(error, Exception) else RuntimeError(repr(error)))
    else:
        fut.set_result(result)


class GatewaySession(PromptToolkitSSHSession):
    def __init__(self, app: SshApp, server: "GatewaySSHServer"):
        super().__init__(self._interact_shell, enable_cpr=False)
        self.app = app
        self.server = server
        self.command: str | None = None
        self.prompter: SshPrompter | None = None
        #: "sftp" or "scp" when this session transfers files instead of running the shell.
        self.transfer: str | None = None

    def exec_requested(self, command: str) -> bool:
        if command.startswith("scp "):
            return self._may_transfer("scp", command)
        self.command = command
        return True

    def subsystem_requested(self, subsystem: str) -> bool:
        return subsystem == "sftp" and self._may_transfer("sftp", None)

    def _may_transfer(self, kind: str, command: str | None) -> bool:
        from .filetransfer import may_transfer

        role = self.app.role_of(self.server.user)
        if not may_transfer(role):
            self.app.bus.emit(LoginFailed(self.server.user, self.server.address,
                                          f"{role} may not transfer files", via=kind.upper()))
            return False
        self.transfer, self.command = kind, command
        return True

    def session_started(self) -> None:
        if self.transfer is not None:
            return self._start_transfer()
        if self.command is None:
            return super().session_started()
        self.interact_task = asyncio.get_running_loop().create_task(self._exec())

    def eof_received(self) -> bool:
        # ssh sends EOF at once when its stdin is empty (e.g. < /dev/null); keep
        # the channel half-open so the command's output can still be sent.
        return True

    def data_received(self, data, datatype) -> None:
        if self.command is None:
            super().data_received(data, datatype)

    def _start_transfer(self) -> None:
        """Hand the channel to asyncssh's own SFTP/SCP session, with the confined file system."""
        from asyncssh.sftp import MIN_SFTP_VERSION
        from asyncssh.stream import SSHServerStreamSession

        from .filetransfer import ConfigurationSFTPServer

        app, server = self.app, self.server
        role = app.role_of(server.user)

        def factory(chan):
            return ConfigurationSFTPServer(chan, str(app.datadir.configuration), server.user, role,
                                           server.address, self.transfer.upper(), app.bus.emit)

        real = getattr(self._chan, "_orig_chan", self._chan)  # under asyncssh's line editor wrapper
        stream = SSHServerStreamSession(None, factory, MIN_SFTP_VERSION, allow_scp=True)
        real._session = stream  # from here on the channel talks to the transfer session
        stream.connection_made(real)
        stream.session_started()

    async def _exec(self) -> None:
        try:
            out, err, status = await in_thread(self.app.run_exec, self.server.user, self.server.address, self.command)
            if out:
                self._chan.write(out)
            if err:
                self._chan.write_stderr(err)
        except Exception as e:  # the session ends with the reason, the server goes on
            log.exception("ssh exec failed")
            self._chan.write_stderr(f"asyncos-cli: internal error: {e}\n")
            status = 1
        self._chan.exit(status)

    async def _interact_shell(self, ssh_session) -> None:
        loop = asyncio.get_running_loop()
        self.prompter = SshPrompter(
            loop, ssh_session.app_session, self.app.config.admin_access.timeout_minutes * 60, lambda *a: None
        )
        await in_thread(self.app.run_interactive, self.server.user, self.server.address, self.prompter,
                        self.server.local)

    def connection_lost(self, exc) -> None:
        if self.prompter is not None:
            self.prompter.close()
        super().connection_lost(exc)


class GatewaySSHServer(PromptToolkitSSHServer):
    def __init__(self, app: SshApp):
        super().__init__(interact=None, enable_cpr=False)
        self.app = app
        self.user = ""
        self.address = "?"
        self.local = "?"

    def connection_made(self, conn) -> None:
        peer = conn.get_extra_info("peername") or ("?",)
        sock = conn.get_extra_info("sockname") or ("?",)
        self.address, self.local = peer[0], sock[0]

    def begin_auth(self, username: str) -> bool:
        self.user = username
        try:
            self.app.refresh()
        except Exception:  # the poll loop reports it; this login runs on the version in effect
            pass
        return True  # always authenticate (prompt_toolkit's base class would not)

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        try:
            return await self.app.check_passphrase(username, password, self.address) is not None
        except Exception:  # a fault of ours denies this login (and says why), never drops the connection
            log.exception("the login check of %s from %s failed", username, self.address)
            return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key) -> bool:
        return self.app.login_by_key(username, key, self.address)

    def auth_completed(self) -> None:
        self.app.logged_in(self.user, self.address)

    def session_requested(self):
        return GatewaySession(self.app, self)


def host_key(datadir: DataDir):
    """Generated once and kept: the fingerprint must not change between starts."""
    path = datadir.private_dir(datadir.state) / "ssh_host_ed25519_key"
    if not path.exists():
        write_private(path, asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    return asyncssh.read_private_key(str(path))


async def serve(datadir: DataDir) -> None:
    app = SshApp(datadir)
    key = host_key(datadir)

    def wanted(config):
        if not config.ssh.enabled:
            return []
        return [(listening.Binding("SSH", i.name, i.address, i.ssh_port), None)
                for i in config.interfaces.with_service("ssh")]

    async def open_one(binding, _):
        return await asyncssh.create_server(
            lambda: GatewaySSHServer(app), binding.address, binding.port, server_host_keys=[key],
            login_timeout=60, reuse_address=True)

    async def close(server):
        server.close()
        await server.wait_closed()

    await servicechild.run(app, "sshd", log, wanted, open_one, close)


_libc = None


def _few_malloc_arenas() -> None:
    """Each session's thread would get a glibc malloc arena of its own (up to 8 per core), each
    keeping tens of megabytes after its thread ended: the process grew from 54 MB to 280 MB over a
    thousand logins. Sessions are short and mostly wait on the network: two arenas serve them."""
    global _libc
    try:
        import ctypes

        _libc = ctypes.CDLL("libc.so.6")
        M_ARENA_MAX = -8
        _libc.mallopt(M_ARENA_MAX, 2)
    except (OSError, AttributeError):
        _libc = None  # not glibc: nothing to tune


def release_freed_memory() -> None:
    """Hand the pages a finished session freed (SQLite caches, TLS state) back to the system."""
    if _libc is not None:
        try:
            _libc.malloc_trim(0)
        except AttributeError:
            pass


def main() -> None:
    import faulthandler

    servicechild.die_with_parent()
    _few_malloc_arenas()

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # stack dump on demand, for operators
    logging.basicConfig(level=logging.WARNING, format="asyncos-cli sshd: %(message)s", stream=sys.stderr)
    asyncio.run(serve(DataDir.from_env()))


if __name__ == "__main__":
    main()
