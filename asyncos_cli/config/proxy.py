"""An upstream HTTP proxy: the outbound clients' one, and file reputation's own (14.0)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .fields import ConfigError, Record, Secret
from .validators import check_hostname_or_ip, check_port


@dataclass(frozen=True)
class HttpProxy(Record):
    host: str
    port: int = 3128
    username: str = ""
    passphrase: Optional[Secret] = None

    def validate(self) -> None:
        check_hostname_or_ip(self.host, "host")
        check_port(self.port)
        if self.passphrase is not None and not self.username:
            raise ConfigError("a proxy passphrase needs a user name", "username")
