"""The client side of the control channel, used by shell commands.

Plain blocking sockets and json: a batch command that asks the daemon
something must not pay for importing asyncio.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path


class DaemonUnavailable(Exception):
    def __init__(self, path: Path, why: str):
        super().__init__(
            f"The gateway daemon is not running (no answer on {path}: {why}). "
            "Start it with 'make run' or 'asyncos-cli serve'."
        )


class ControlError(Exception):
    """The daemon answered, and the answer is a refusal."""


def request(path: Path, op: str, timeout: float = 5.0, **params):
    payload = json.dumps({"op": op, **params}).encode() + b"\n"
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(payload)
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
    except FileNotFoundError:
        raise DaemonUnavailable(path, "no socket") from None
    except ConnectionRefusedError:
        raise DaemonUnavailable(path, "connection refused") from None
    except socket.timeout:
        raise DaemonUnavailable(path, f"no answer within {timeout:g} s") from None
    except OSError as e:
        raise DaemonUnavailable(path, e.strerror or str(e)) from None
    if not buf:
        raise DaemonUnavailable(path, "the connection closed without an answer")
    answer = json.loads(buf)
    if not answer.get("ok"):
        raise ControlError(answer.get("error", "the daemon refused the request"))
    return answer.get("result")


def nudge(path: Path, op: str = "reload") -> bool:
    """Ask without caring whether anyone is there (e.g. reload after commit)."""
    try:
        request(path, op, timeout=2.0)
        return True
    except (DaemonUnavailable, ControlError):
        return False
