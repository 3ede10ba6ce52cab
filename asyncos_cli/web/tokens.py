"""The API's login tokens: JWTs signed with a key kept in the state directory, living as long as the inactivity
timeout (adminaccessconfig). A token is also checked against the accounts at each use: a user deleted, locked or
given another role since its login is refused, however long the token has left."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from asyncos_cli.config.datadir import write_private

from .routes import ApiError

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Claims:
    user: str
    role: str
    issued: float


class Tokens:
    def __init__(self, key_file: Path):
        self._key = _signing_key(key_file)

    def issue(self, user: str, role: str, minutes: int, now: float | None = None) -> str:
        now = time.time() if now is None else now
        return jwt.encode({"sub": user, "role": role, "iat": int(now), "exp": int(now + minutes * 60),
                           "jti": secrets.token_hex(8)}, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> Claims:
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "ExpiredSignatureError.", "The token has expired: log in again.") from None
        except jwt.InvalidTokenError:
            raise ApiError(401, "InvalidTokenError.", "The token is not one this appliance issued.") from None
        if not isinstance(claims.get("sub"), str) or not isinstance(claims.get("role"), str):
            raise ApiError(401, "InvalidTokenError.", "The token is not one this appliance issued.")
        return Claims(claims["sub"], claims["role"], float(claims.get("iat", 0)))


def _signing_key(path: Path) -> bytes:
    """Made once; a new one would sign every earlier token out."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        key = secrets.token_bytes(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, key)
        os.chmod(path, 0o600)
        return key
