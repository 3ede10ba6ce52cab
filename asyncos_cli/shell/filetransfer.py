"""SFTP and SCP to the configuration directory, through the gateway's SSH server.

asyncssh serves both protocols with one file-system object (SCP runs on the
SFTP server's methods), so the rules live here once: the session sees
``ASYNCOS_DATA/configuration`` as its root; symbolic links, device files and
anything outside are refused; administrators and operators read and write,
read-only operators and help desk users read, guests and technicians get
nothing. Every upload and download is written to the CLI audit log.
"""

from __future__ import annotations

import os
import posixpath
import stat
from dataclasses import dataclass
from typing import Callable, ClassVar

import asyncssh
from asyncssh.sftp import FXF_APPEND, FXF_CREAT, FXF_TRUNC, FXF_WRITE

from asyncos_cli.auth import roles as R
from asyncos_cli.events import Event

READ_WRITE = frozenset({R.ADMINISTRATORS, R.OPERATORS})
READ_ONLY = frozenset({R.READ_ONLY, R.HELP_DESK})
_WRITE_FLAGS = FXF_WRITE | FXF_APPEND | FXF_CREAT | FXF_TRUNC


@dataclass(frozen=True)
class FileTransferred(Event):
    log_type: ClassVar[str | None] = "cli_audit"
    pid: int
    user: str
    origin: str
    action: str  # uploaded, downloaded, removed, renamed, created the directory, removed the directory
    name: str
    size: int
    via: str

    def log_line(self) -> str:
        size = f" ({self.size} bytes)" if self.size >= 0 else ""
        return (f"PID {self.pid}: User {self.user} from {self.origin} {self.action} "
                f"configuration/{self.name}{size} over {self.via}")


def may_transfer(role: str) -> bool:
    return role in READ_WRITE or role in READ_ONLY


class ConfigurationSFTPServer(asyncssh.SFTPServer):
    """One SFTP (or SCP) session, confined to the configuration directory."""

    def __init__(self, chan, root: str, user: str, role: str, origin: str, via: str,
                 emit: Callable[[Event], None]):
        os.makedirs(root, mode=0o700, exist_ok=True)
        super().__init__(chan, chroot=root.encode())
        self._root = os.path.realpath(root).encode()
        self.user, self.role, self.origin, self.via = user, role, origin, via
        self.emit = emit
        self._open: dict[int, tuple[str, bool]] = {}

    # ------------------------------------------------------------ paths

    def map_path(self, path: bytes) -> bytes:
        """The chroot's mapping, then: no component may be a symbolic link or a device."""
        local = super().map_path(path)
        rel = local[len(self._root):].lstrip(b"/")
        here = self._root
        for part in [p for p in rel.split(b"/") if p]:
            here = posixpath.join(here, part)
            try:
                st = os.lstat(here)
            except FileNotFoundError:
                break
            if stat.S_ISLNK(st.st_mode):
                raise asyncssh.SFTPPermissionDenied("symbolic links are not allowed")
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                raise asyncssh.SFTPPermissionDenied("only regular files can be transferred")
        return local

    def _name(self, path: bytes) -> str:
        local = self.map_path(path)
        return local[len(self._root):].lstrip(b"/").decode("utf-8", "replace")

    def _writable(self) -> None:
        if self.role not in READ_WRITE:
            raise asyncssh.SFTPPermissionDenied(f"{self.role} may only read the configuration directory")

    def _log(self, action: str, name: str, size: int = -1) -> None:
        self.emit(FileTransferred(os.getpid(), self.user, self.origin, action, name, size, self.via))

    # ------------------------------------------------------------ files

    def open(self, path, pflags, attrs):
        write = bool(pflags & _WRITE_FLAGS)
        if write:
            self._writable()
        name = self._name(path)
        # O_NOFOLLOW: a link planted after the check above is refused by the kernel.
        flags = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        if pflags & FXF_WRITE or pflags & FXF_APPEND:
            flags |= os.O_RDWR if pflags & 1 else os.O_WRONLY  # FXF_READ is 1
        else:
            flags |= os.O_RDONLY
        if pflags & FXF_APPEND:
            flags |= os.O_APPEND
        if pflags & FXF_CREAT:
            flags |= os.O_CREAT
        if pflags & FXF_TRUNC:
            flags |= os.O_TRUNC
        if pflags & 0x20:  # FXF_EXCL
            flags |= os.O_EXCL
        try:
            fd = os.open(self.map_path(path).decode("utf-8", "surrogateescape"), flags, 0o600)
        except OSError as e:
            raise _sftp_error(e) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise asyncssh.SFTPPermissionDenied("only regular files can be transferred")
        file_obj = os.fdopen(fd, "r+b" if flags & os.O_RDWR else ("wb" if write else "rb"), buffering=0)
        self._open[id(file_obj)] = (name, write)
        return file_obj

    def close(self, file_obj) -> None:
        name, write = self._open.pop(id(file_obj), ("?", False))
        try:
            size = os.fstat(file_obj.fileno()).st_size
        except OSError:
            size = -1
        file_obj.close()
        self._log("uploaded" if write else "downloaded", name, size)

    def remove(self, path):
        self._writable()
        name = self._name(path)
        super().remove(path)
        self._log("removed", name)

    def rename(self, oldpath, newpath):
        self._renamed(super().rename, oldpath, newpath)

    def posix_rename(self, oldpath, newpath):
        self._renamed(super().posix_rename, oldpath, newpath)

    def _renamed(self, rename, oldpath, newpath) -> None:
        self._writable()
        self._name(newpath)  # both ends checked: no link, nothing outside
        name = self._name(oldpath)
        rename(oldpath, newpath)
        self._log("renamed", name)

    def mkdir(self, path, attrs):
        self._writable()
        name = self._name(path)
        os.mkdir(self.map_path(path), 0o700)
        self._log("created the directory", name)

    def rmdir(self, path):
        self._writable()
        name = self._name(path)
        super().rmdir(path)
        self._log("removed the directory", name)

    def setstat(self, path, attrs):
        self._writable()
        return super().setstat(path, _no_mode(attrs))

    def lsetstat(self, path, attrs):
        raise asyncssh.SFTPPermissionDenied("symbolic links are not allowed")

    def fsetstat(self, file_obj, attrs):
        self._writable()
        return super().fsetstat(file_obj, _no_mode(attrs))

    def symlink(self, oldpath, newpath):
        raise asyncssh.SFTPPermissionDenied("symbolic links are not allowed")

    def link(self, oldpath, newpath):
        raise asyncssh.SFTPPermissionDenied("links are not allowed")

    def readlink(self, path):
        raise asyncssh.SFTPPermissionDenied("symbolic links are not allowed")


def _no_mode(attrs):
    """Files stay private to the gateway's account: a client cannot chmod them open."""
    attrs.permissions = None
    attrs.uid = attrs.gid = None
    return attrs


def _sftp_error(e: OSError):
    import errno

    if e.errno == errno.ENOENT:
        return asyncssh.SFTPNoSuchFile("No such file")
    if e.errno == errno.ELOOP:
        return asyncssh.SFTPPermissionDenied("symbolic links are not allowed")
    if e.errno in (errno.EACCES, errno.EPERM):
        return asyncssh.SFTPPermissionDenied(e.strerror)
    if e.errno == errno.EEXIST:
        return asyncssh.SFTPFileAlreadyExists(e.strerror)
    if e.errno == errno.EISDIR:
        return asyncssh.SFTPFailure("Is a directory")
    return asyncssh.SFTPFailure(e.strerror or str(e))
