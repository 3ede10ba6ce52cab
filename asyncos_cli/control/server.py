"""The server side of the control channel, inside the daemon's event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Awaitable, Callable

log = logging.getLogger("asyncos.control")

Handler = Callable[[dict], "Awaitable[object] | object"]
MAX_REQUEST = 1 << 20


class ControlServer:
    def __init__(self, path: Path):
        self.path = path
        self._handlers: dict[str, Handler] = {}
        self._server: asyncio.AbstractServer | None = None
        self.requests = 0

    def register(self, op: str, handler: Handler) -> None:
        if op in self._handlers:
            raise RuntimeError(f"control operation {op!r} registered twice")
        self._handlers[op] = handler

    async def start(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        old = os.umask(0o177)  # the socket is born 0600: no window where others can connect
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path), limit=MAX_REQUEST)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except (asyncio.LimitOverrunError, ValueError):
                    await self._reply(writer, {"ok": False, "error": "request too long"})
                    return
                if not line:
                    return
                self.requests += 1
                await self._reply(writer, await self._answer(line))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _answer(self, line: bytes) -> dict:
        try:
            req = json.loads(line)
            op = req.pop("op")
        except (ValueError, KeyError, TypeError, AttributeError):
            return {"ok": False, "error": "malformed request"}
        handler = self._handlers.get(op)
        if handler is None:
            return {"ok": False, "error": f"unknown operation {op!r}"}
        try:
            result = handler(req)
            if asyncio.iscoroutine(result):
                result = await result
            return {"ok": True, "result": result}
        except Exception as e:  # the daemon keeps serving; the client gets the reason
            log.exception("control operation %s failed", op)
            return {"ok": False, "error": f"{op} failed: {e}"}

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, answer: dict) -> None:
        writer.write(json.dumps(answer).encode() + b"\n")
        await writer.drain()
