"""ClamAV's clamd over its socket: INSTREAM scans, PING and VERSION (clamd(8), "COMMANDS").

One connection per command (clamd closes it after INSTREAM unless IDSESSION is
used); the z-prefixed forms end every reply with a NUL byte.
"""

from __future__ import annotations

import asyncio
import struct

#: INSTREAM chunk size: clamd's StreamMaxLength counts the sum, chunks only need to be below it.
CHUNK = 64 * 1024


class ClamdUnavailable(Exception):
    """clamd could not be reached or did not answer in time (not a verdict on the content)."""


async def _open(endpoint: str):
    if endpoint.startswith("/"):
        return await asyncio.open_unix_connection(endpoint)
    host, _, port = endpoint.rpartition(":")
    return await asyncio.open_connection(host.strip("[]"), int(port))


async def _command(endpoint: str, command: bytes, payload: bytes | None, timeout: float) -> str:
    async def talk() -> bytes:
        try:
            reader, writer = await _open(endpoint)
        except OSError as e:
            raise ClamdUnavailable(f"cannot connect to clamd at {endpoint}: {e.strerror or e}") from None
        try:
            writer.write(b"z" + command + b"\0")
            if payload is not None:
                view = memoryview(payload)
                for i in range(0, len(view), CHUNK):
                    chunk = view[i:i + CHUNK]
                    writer.write(struct.pack(">I", len(chunk)))
                    writer.write(chunk)
                    await writer.drain()
                writer.write(struct.pack(">I", 0))
            await writer.drain()
            return await reader.readuntil(b"\0")
        except (OSError, asyncio.IncompleteReadError) as e:
            raise ClamdUnavailable(f"clamd at {endpoint} closed the connection: {e}") from None
        finally:
            writer.close()

    try:
        reply = await asyncio.wait_for(talk(), timeout)
    except asyncio.TimeoutError:
        raise ClamdUnavailable(f"clamd at {endpoint} did not answer within {timeout:g} s") from None
    return reply.rstrip(b"\0").decode("utf-8", "replace")


async def scan(endpoint: str, data: bytes, timeout: float) -> tuple[str, str]:
    """("clean" | "infected" | "unscannable", signature name or reason) for one stream."""
    reply = await _command(endpoint, b"INSTREAM", data, timeout)
    # "stream: OK", "stream: Eicar-Signature FOUND", "INSTREAM size limit exceeded. ERROR", "...: ... ERROR"
    text = reply.partition(": ")[2] if reply.startswith("stream:") else reply
    if text == "OK":
        return "clean", ""
    if text.endswith(" FOUND"):
        return "infected", text[: -len(" FOUND")]
    if text.endswith("ERROR"):
        return "unscannable", text[: -len("ERROR")].rstrip(" .")
    return "unscannable", f"unexpected answer from clamd: {reply[:200]}"


async def version(endpoint: str, timeout: float = 5.0) -> str:
    """'ClamAV 1.4.6/27000/...' ; raises ClamdUnavailable."""
    return await _command(endpoint, b"VERSION", None, timeout)
