"""Free ports for test servers: one picker for every peer and setting the tests start."""

from __future__ import annotations

import os
import socket

_handed_out: set[int] = set()

#: Under pytest-xdist each worker is its own process with its own memory of ports handed out; two workers could
#: be offered the same just-released port. Each worker takes only its own share of the ports (not by parity:
#: Linux hands out even ports to bind() and keeps the odd ones for connect()).
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
_INDEX = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0) % max(_WORKERS, 1)


def free_port() -> int:
    """A port free now, and never one this process handed out before: the kernel may offer a just-released port
    again at once, and two settings given the same one would collide (API and web interface on one port)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if (port >> 1) % _WORKERS == _INDEX and port not in _handed_out:
            _handed_out.add(port)
            return port
