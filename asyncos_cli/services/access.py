"""What a process that lets administrators in (the SSH server, the API and web server) shares.

The committed configuration it follows, the accounts, the shared login throttle and lockout, and the
authentication log. Each service passes its own ``via`` ("SSH", "HTTPS", "HTTP"): the log lines are the
appliance's, with the connection type in them.
"""

from __future__ import annotations

from asyncos_cli.auth import roles as R
from asyncos_cli.auth.cluster_accounts import open_accounts
from asyncos_cli.auth.throttle import LoginThrottle
from asyncos_cli.config.cluster import Membership, open_store
from asyncos_cli.config.datadir import DataDir
from asyncos_cli.config.secrets import Keyring
from asyncos_cli.config.state import StateStore
from asyncos_cli.events import Event, EventBus, log_subscriber
from asyncos_cli.services.logingate import LoginGate
from asyncos_cli.services.logs import LogService, journal_requested

from . import timezone


class AccessPoint:
    """Everything a login needs, shared by all connections of one service process."""

    def __init__(self, datadir: DataDir):
        self.datadir = datadir
        self.member = Membership.load(datadir)
        self.store = open_store(datadir)
        self.store.migrate(lambda: Keyring(datadir.key_file))
        self.snapshot = self.store.snapshot()
        timezone.apply(self.snapshot.config.system.timezone)
        self.accounts = open_accounts(datadir)
        self.serial = self._serial()
        self.logs = LogService(datadir.logs, self.snapshot.config.logs, self.serial, echo=journal_requested())
        self.bus = EventBus()
        self.bus.subscribe(Event, log_subscriber(self.logs))
        self.throttle = LoginThrottle(datadir.database)
        self.gate = LoginGate(self.accounts, self.throttle, self.bus.emit, lambda: self.config)

    @property
    def config(self):
        return self.snapshot.config

    def refresh(self) -> bool:
        """Read a newer committed version (at every login too: an account committed a moment ago can log in).
        True when there was one."""
        if Membership.load(self.datadir) != self.member:  # clusterconfig created, joined or left a cluster
            self._reopen()
        elif self.store.head_id() == self.snapshot.version.id:
            return False
        old = self.snapshot.config
        self.snapshot = self.store.snapshot()
        if old.logs != self.config.logs:
            self.logs.configure(self.config.logs)
        timezone.apply(self.config.system.timezone)
        return True

    def _serial(self) -> str:
        state = StateStore(self.datadir.database)
        try:
            return state.get("serial", "")
        finally:
            state.close()

    def _reopen(self) -> None:
        self.store.close()
        self.accounts.close()
        self.serial = self._serial()  # joining a cluster may have given this machine its own
        self.member = Membership.load(self.datadir)
        self.store = open_store(self.datadir)
        self.accounts = self.gate.accounts = open_accounts(self.datadir)

    async def check_passphrase(self, user: str, passphrase: str, address: str, via: str = "SSH"):
        """The shared throttle first, then the check: the accounts' result, or None when refused."""
        return await self.gate.check_passphrase(user, passphrase, address, via, self.login_by_passphrase)

    def login_by_passphrase(self, user: str, passphrase: str, address: str, via: str = "SSH"):
        return self.gate.login_by_passphrase(user, passphrase, address, via)

    def logged_in(self, user: str, address: str, via: str = "SSH") -> None:
        self.gate.logged_in(user, address, via)

    def role_of(self, user: str) -> str:
        account = self.config.users.get(user)
        return account.role if account else R.GUESTS
