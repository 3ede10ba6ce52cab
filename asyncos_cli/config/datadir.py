"""Where the appliance keeps its files, and who owns them.

``ASYNCOS_DATA`` names the data directory; in a checkout the default is
``./var``. Everything inside is private to the owner (mode 0700 folders,
0600 files): the configuration database, the key file, logs, the control
socket, history.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDir:
    root: Path

    @classmethod
    def from_env(cls) -> "DataDir":
        return cls(Path(os.environ.get("ASYNCOS_DATA") or "var").absolute())

    @property
    def database(self) -> Path:
        return self.root / "asyncos.db"

    @property
    def key_file(self) -> Path:
        return self.root / "keys" / "config.key"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def control_socket(self) -> Path:
        return self.run / "control.sock"

    @property
    def pid_file(self) -> Path:
        return self.run / "daemon.pid"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def configuration(self) -> Path:
        """The appliance's /configuration: the only files SSH, SFTP and the API may name."""
        return self.root / "configuration"

    @property
    def history(self) -> Path:
        return self.root / "history"

    def is_initialised(self) -> bool:
        return self.database.exists() and self.key_file.exists()

    def owned_by_caller(self) -> bool:
        """True when the caller owns the directory: the console rule of DESIGN §5."""
        try:
            return self.root.stat().st_uid == os.getuid()
        except FileNotFoundError:
            return True

    def private_dir(self, path: Path) -> Path:
        """Create ``path`` (and the root) as folders only the owner can enter."""
        for p in (self.root, path):
            p.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def prepare(self) -> None:
        for sub in (self.root, self.root / "keys", self.logs, self.run, self.state, self.history,
                    self.configuration):
            self.private_dir(sub)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically, readable by the owner only, and on disk before returning.

    A temporary file beside the target (mode 0600), fsynced, then renamed over it:
    a crash leaves the old file or the new one, never half of either.
    """
    import threading

    # Unique per writer: two threads of one process may write the same file (the last rename wins, whole).
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def fsync_dir(path: Path) -> None:
    """Make the directory's entries (new or renamed files) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
