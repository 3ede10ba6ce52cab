"""Secrets at rest: one symmetric key in a file only the owner can read.

The key encrypts (Fernet: AES-128-CBC with HMAC-SHA256) every secret a
section holds; the store, XML files saved with ``encrypt`` and logs only ever
see the tokens. ``cryptography`` is imported on first use so that batch
commands that never touch a secret start fast.
"""

from __future__ import annotations

import os
from pathlib import Path

from .fields import ConfigError, Secret


class KeyFileError(ConfigError):
    pass


class Keyring:
    def __init__(self, key_file: Path):
        self.key_file = key_file
        self._fernet = None

    @classmethod
    def create(cls, key_file: Path) -> "Keyring":
        """Write a new key; refuses to replace an existing one (its secrets would be lost)."""
        from cryptography.fernet import Fernet

        key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
            f.flush()
            os.fsync(f.fileno())
        return cls(key_file)

    def _cipher(self):
        if self._fernet is None:
            from cryptography.fernet import Fernet

            try:
                mode = self.key_file.stat().st_mode & 0o777
                key = self.key_file.read_bytes().strip()
            except FileNotFoundError:
                raise KeyFileError(f"the key file {self.key_file} is missing") from None
            if mode & 0o077:
                raise KeyFileError(
                    f"the key file {self.key_file} is readable by others (mode {mode:o}); "
                    "run: chmod 600 " + str(self.key_file)
                )
            try:
                self._fernet = Fernet(key)
            except ValueError:
                raise KeyFileError(f"the key file {self.key_file} does not hold a valid key") from None
        return self._fernet

    def seal(self, plain: str) -> Secret:
        return Secret(self._cipher().encrypt(plain.encode("utf-8")).decode("ascii"))

    def reveal(self, secret: Secret) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._cipher().decrypt(secret.token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            raise ConfigError(
                "an encrypted passphrase cannot be opened with this appliance's key "
                "(was it saved on another appliance?)"
            ) from None

    def can_open(self, secret: Secret) -> bool:
        try:
            self.reveal(secret)
            return True
        except ConfigError:
            return False

    def derived_passphrase(self, purpose: str) -> bytes:
        """A stable passphrase for files that need their own (e.g. private-key PEMs)."""
        import hashlib
        import hmac

        self._cipher()
        return hmac.new(self.key_file.read_bytes().strip(), purpose.encode(), hashlib.sha256).hexdigest().encode()
