"""Which files a shell session may read and write: one resolver per door.

The local console (the data directory's owner, like the appliance's serial
console) names files by any path. Every other door (SSH, SFTP/SCP, later the
API and the web interface) is confined to the appliance's configuration
directory, ``ASYNCOS_DATA/configuration`` (the appliance's ``/configuration``):
a name there, never an absolute path, ``..``, a symbolic link or a device
file. ``-`` (standard input) stays allowed where a command reads a secret.

Errors name the file as the user gave it and the reason; they never quote
what is inside a file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath

#: No import or upload of the appliance is larger; keeps every import bounded.
MAX_READ_BYTES = 32 * 1024 * 1024


class FileRefused(Exception):
    """The name is not allowed at this door, or the file cannot be used: the message is for the user."""


class FileAccess:
    """Files as one door sees them. ``root`` None: unconfined (the local console)."""

    def __init__(self, root: Path | None, stdin=None):
        self.root = root
        self.stdin = stdin

    @property
    def confined(self) -> bool:
        return self.root is not None

    # ------------------------------------------------------------ resolving

    def relative_name(self, name: str) -> PurePosixPath:
        """Check a confined name's shape: relative, no ``..``, nothing hidden, no control characters."""
        if not name or not name.strip():
            raise FileRefused("Error: a file name is required.")
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise FileRefused("Error: the file name contains control characters.")
        pure = PurePosixPath(name)
        if pure.is_absolute() or name.startswith("~"):
            raise FileRefused(
                f'Error: "{name}": only files in the configuration directory can be used here; '
                "give a file name without a path."
            )
        if any(part == ".." for part in pure.parts):
            raise FileRefused(f'Error: "{name}": ".." is not allowed in a file name.')
        parts = [p for p in pure.parts if p not in ("", ".")]
        if not parts:
            raise FileRefused(f'Error: "{name}" is not a file name.')
        return PurePosixPath(*parts)

    def path(self, name: str) -> Path:
        """The path ``name`` stands for; a confined name is checked component by component."""
        if not self.confined:
            return Path(name).expanduser()
        rel = self.relative_name(name)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        here = self.root
        for i, part in enumerate(rel.parts):
            here = here / part
            try:
                st = os.lstat(here)
            except FileNotFoundError:
                return self.root.joinpath(*rel.parts)  # nothing further exists: no link to follow
            if stat.S_ISLNK(st.st_mode):
                raise FileRefused(f'Error: "{name}": symbolic links are not allowed.')
            last = i == len(rel.parts) - 1
            if not last and not stat.S_ISDIR(st.st_mode):
                raise FileRefused(f'Error: "{name}": {part} is not a directory.')
            if last and not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                raise FileRefused(f'Error: "{name}" is not a regular file.')
        return here

    # ------------------------------------------------------------ reading

    def read_bytes(self, name: str, limit: int = MAX_READ_BYTES) -> bytes:
        path = self.path(name)
        flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
        if self.confined:
            # O_NOFOLLOW closes the race between the check above and the open;
            # O_NONBLOCK keeps a FIFO planted by someone else from hanging the session.
            flags |= os.O_NOFOLLOW | os.O_NONBLOCK
        try:
            fd = os.open(path, flags)
        except OSError as e:
            raise FileRefused(_os_reason(name, e, "read")) from None
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise FileRefused(f'Error: "{name}" is a directory.')
            if self.confined and not stat.S_ISREG(st.st_mode):
                raise FileRefused(f'Error: "{name}" is not a regular file.')
            chunks, total = [], 0
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    raise FileRefused(f'Error: the file "{name}" is larger than {_size(limit)}.')
                chunks.append(chunk)
            return b"".join(chunks)
        except OSError as e:
            raise FileRefused(_os_reason(name, e, "read")) from None
        finally:
            os.close(fd)

    def read_text(self, name: str, limit: int = MAX_READ_BYTES) -> str:
        data = self.read_bytes(name, limit)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise FileRefused(f'Error: the file "{name}" is not UTF-8 text (byte {e.start}).') from None

    def first_line(self, name: str) -> str:
        """A secret's file: its first line, or one line of standard input for ``-``."""
        if name == "-":
            return (self.stdin.readline() if self.stdin is not None else "").rstrip("\r\n")
        return self.read_text(name, 64 * 1024).split("\n", 1)[0].rstrip("\r")

    # ------------------------------------------------------------ writing

    def write_bytes(self, name: str, data: bytes) -> Path:
        """Write atomically, owner-only; a confined name may create the file, never replace a link."""
        from .datadir import write_private

        path = self.path(name)
        if path.is_dir():
            raise FileRefused(f'Error: "{name}" is a directory.')
        if self.confined:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            write_private(path, data)
        except OSError as e:
            raise FileRefused(_os_reason(name, e, "written")) from None
        return path

    def write_text(self, name: str, text: str) -> Path:
        return self.write_bytes(name, text.encode("utf-8"))

    def shown(self, name: str) -> str:
        """How a saved file is named back to the user: its name inside the directory when confined."""
        if self.confined:
            return str(self.relative_name(name))
        return str(self.path(name))


def _os_reason(name: str, e: OSError, verb: str) -> str:
    if e.errno == errno.ENOENT:
        return f'Error: the file "{name}" does not exist.'
    if e.errno == errno.ELOOP:
        return f'Error: "{name}": symbolic links are not allowed.'
    if e.errno == errno.EISDIR:
        return f'Error: "{name}" is a directory.'
    return f'Error: the file "{name}" cannot be {verb}: {e.strerror}.'


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"
