"""One passphrase check for every door: SSH, the API and web interface, and SMTP AUTH.

The shared throttle first (its wait on the event loop, not in a thread), then the accounts' check; failures,
lockouts and successes go to the authentication log with the door's ``via`` ("SSH", "HTTPS", "SMTP").
"""

from __future__ import annotations

import asyncio
from typing import Callable

from asyncos_cli.auth import roles as R
from asyncos_cli.auth.accounts import Accounts
from asyncos_cli.auth.throttle import LoginThrottle
from asyncos_cli.config.schema import Config
from asyncos_cli.events import Event
from asyncos_cli.events.auth import AccountLocked, LoginFailed, LoginSucceeded


class LoginGate:
    def __init__(self, accounts: Accounts, throttle: LoginThrottle, emit: Callable[[Event], None],
                 config: Callable[[], Config]):
        self.accounts = accounts
        self.throttle = throttle
        self.emit = emit
        self.config = config

    async def check_passphrase(self, user: str, passphrase: str, address: str, via: str, login=None):
        """The accounts' result when the passphrase is right, None when the login is refused. ``login``: the
        check itself (default login_by_passphrase; a door may wrap it to keep what the result says)."""
        loop = asyncio.get_running_loop()
        slot = await loop.run_in_executor(None, self.throttle.reserve, user, address)
        if slot.refused:
            await loop.run_in_executor(None, self._refused, user, address, via)
            return None
        if slot.wait:
            await asyncio.sleep(slot.wait)
        return await loop.run_in_executor(None, login or self.login_by_passphrase, user, passphrase, address, via)

    def _refused(self, user: str, address: str, via: str) -> None:
        self.throttle.failed(user, address, reserved=False)
        self.emit(LoginFailed(user, address, "too many failed attempts, try again later", via))

    def login_by_passphrase(self, user: str, passphrase: str, address: str, via: str):
        config = self.config()
        result = self.accounts.authenticate(user, passphrase, config)
        if result.ok:
            self.throttle.succeeded(user, address)
            return result
        self.throttle.failed(user, address)
        self.emit(LoginFailed(user, address, result.reason, via))
        if result.locked_now:
            self.emit(AccountLocked(user, address, config.passphrase_policy.lockout_attempts))
        return None

    def logged_in(self, user: str, address: str, via: str) -> None:
        account = self.config().users.get(user)
        privilege = R.KEYWORD_OF.get(account.role, account.role) if account else "unknown"
        self.emit(LoginSucceeded(user, address, privilege, via))
