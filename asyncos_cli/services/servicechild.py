"""The life of a service process the daemon supervises (the SSH server, the API and web server).

It dies with the daemon, follows committed configuration (reopening its ports when they change) and says
what it listens on; the service gives what it wants to listen on and how to open one port.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Awaitable, Callable

from asyncos_cli.events.system import ServiceListening

from . import listening

POLL_SECONDS = 0.5


def die_with_parent() -> None:
    """Linux: the kernel sends SIGTERM when the daemon dies, even by SIGKILL."""
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # elsewhere the parent check in run() does it, within half a second


async def run(access, who: str, log: logging.Logger, wanted: Callable[[object], list],
              open_one: Callable[[listening.Binding, object], Awaitable], close: Callable[[object], Awaitable]) -> None:
    """Listen where ``wanted(config)`` says ((Binding, argument) pairs) until SIGTERM or the daemon's end.

    ``access`` is the process's AccessPoint (its refresh() follows commits, its bus writes the system log).
    """
    servers: list = []
    listening_for = None

    async def listen() -> None:
        nonlocal servers, listening_for
        for server in servers:
            await close(server)
        want = wanted(access.config)
        listening_for = [(b, key) for b, key in want]
        servers, bindings = await listening.bind_each(want, open_one, log)
        for b in bindings:
            access.bus.emit(ServiceListening(b.service, b.interface, b.address, b.port, b.error))
        listening.publish(access.datadir.run, who, bindings)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    parent = int(os.environ.get("ASYNCOS_PARENT_PID") or os.getppid())
    await listen()
    while not stop.is_set():
        if os.getppid() != parent:
            log.warning("the gateway daemon is gone (killed?): %s stops too", who)
            break
        try:
            await asyncio.wait_for(stop.wait(), POLL_SECONDS)
            break
        except asyncio.TimeoutError:
            pass
        try:
            access.refresh()
            if list(wanted(access.config)) != listening_for:
                await listen()
        except Exception:
            log.exception("configuration reload failed; %s keeps its settings", who)
    for server in servers:
        await close(server)
    listening.clear(access.datadir.run, who)
