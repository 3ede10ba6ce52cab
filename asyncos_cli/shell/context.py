"""What a running command can reach: the prompter, the session, the data directory."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Callable

from asyncos_cli.config.datadir import DataDir
from asyncos_cli.config.fields import ConfigError
from asyncos_cli.config.schema import Config, Section
from asyncos_cli.shell.prompter import CommandError, Prompter


@dataclass
class Context:
    datadir: DataDir
    prompter: Prompter
    user: str = "admin"
    role: str = "Administrators"
    #: True for -c, batch FILE, piped stdin and ssh 'cmd': no questions may be asked.
    batch: bool = False
    #: "console" for a local run by the data directory's owner, else the peer address.
    origin: str = "console"
    #: Where shell-side events go (CLI audit and system logs).
    emit: Callable = lambda event: None
    stdin: object = field(default_factory=lambda: sys.stdin)
    #: False only for the local console: every other door names files inside configuration/.
    confined: bool = True
    #: Set by quit/exit: the shell stops after this command.
    quit_requested: bool = False
    _session: object = None
    _keyring: object = None
    _state: object = None
    _store: object = None
    _accounts: object = None
    _files: object = None
    #: Further connections a command opened (tracking, remediation jobs), closed with the context.
    _opened: list = field(default_factory=list)

    def database(self):
        """A connection to the data directory's database for this command, closed when the context closes."""
        from asyncos_cli.config.store import connect

        conn = connect(self.datadir.database)
        self._opened.append(conn)
        return conn

    # ------------------------------------------------------------ store access (opened on first use)

    @property
    def store(self):
        if self._store is None:
            from asyncos_cli.config.cluster import open_store

            try:
                self._store = open_store(self.datadir, editing=True)
            except ConfigError as e:
                raise CommandError(str(e)) from None
            self._store.migrate(lambda: self.keyring)
        return self._store

    @property
    def session(self):
        if self._session is None:
            from asyncos_cli.config.session import Session
            from asyncos_cli.config.store import StoreNotInitialised

            try:
                self._session = Session(self.store, self.user)
            except StoreNotInitialised as e:
                raise CommandError(str(e)) from None
            from asyncos_cli.services import timezone

            timezone.apply(self._session.config.system.timezone)  # this shell's log lines and dates
        return self._session

    def drop_session(self) -> None:
        """Forget the session (nothing pending): the next command reads the store afresh, at its mode."""
        self._session = None

    @property
    def has_session(self) -> bool:
        return self._session is not None

    @property
    def keyring(self):
        if self._keyring is None:
            from asyncos_cli.config.secrets import Keyring

            self._keyring = Keyring(self.datadir.key_file)
        return self._keyring

    @property
    def files(self):
        """The one path resolver of this door (asyncos_cli.config.files)."""
        if self._files is None:
            from asyncos_cli.config.files import FileAccess

            self._files = FileAccess(self.datadir.configuration if self.confined else None, self.stdin)
        return self._files

    @property
    def state(self):
        if self._state is None:
            from asyncos_cli.config.state import StateStore

            self._state = StateStore(self.datadir.database)
        return self._state

    @property
    def accounts(self):
        if self._accounts is None:
            from asyncos_cli.auth.cluster_accounts import open_accounts

            self._accounts = open_accounts(self.datadir)
        return self._accounts

    def reauthenticate(self) -> None:
        """Interactive sessions confirm the user's passphrase before account changes."""
        if self.batch:
            return
        entered = self.prompter.secret("Enter your Passphrase to make changes:")
        if not self.accounts.verify(self.user, entered):
            raise CommandError("Passphrase incorrect: nothing was changed.")

    @property
    def config(self) -> Config:
        return self.session.config

    def stage(self, section: Section) -> None:
        self.session.stage(section)

    def replace_section(self, name: str, **changes) -> Section:
        """Stage a copy of section ``name`` with ``changes``; ConfigError becomes a CommandError."""
        try:
            new = self.config[name].replace(**changes)
        except ConfigError as e:
            raise CommandError(str(e)) from None
        self.stage(new)
        return new

    @property
    def pid(self) -> int:
        return os.getpid()

    def say(self, text: object = "") -> None:
        self.prompter.say(text)

    def control(self, op: str, **params):
        """Ask the running daemon; a missing daemon is a plain CommandError."""
        from asyncos_cli.control.client import ControlError, DaemonUnavailable, request

        try:
            return request(self.datadir.control_socket, op, **params)
        except (DaemonUnavailable, ControlError) as e:
            raise CommandError(str(e)) from None

    def close(self) -> None:
        for res in (self._store, self._state, self._accounts, *self._opened):
            if res is not None:
                res.close()
        self._opened.clear()
        closer = getattr(self.emit, "close", None)  # the console's log writer (an SSH session's is the server's)
        if closer is not None:
            closer()
