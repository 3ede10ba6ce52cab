"""Length-prefixed pickled frames: what the scanning workers and the engine broker say to each other.

Both ends are processes of the gateway (the socket is in the data directory's private run folder), so a
frame may carry any picklable value: the EngineWork a worker found, the engines' answers, a ScanOutcome.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import struct

_LENGTH = struct.Struct(">I")


def pack(value) -> bytes:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def unpack_all(buffer: bytearray) -> list:
    """The complete frames at the start of ``buffer``, taken out of it (a partial one stays for the next read)."""
    values, at = [], 0
    while len(buffer) - at >= _LENGTH.size:
        size = _LENGTH.unpack_from(buffer, at)[0]
        if len(buffer) - at - _LENGTH.size < size:
            break
        values.append(pickle.loads(buffer[at + _LENGTH.size:at + _LENGTH.size + size]))
        at += _LENGTH.size + size
    del buffer[:at]
    return values


def send(sock: socket.socket, value) -> None:
    sock.sendall(pack(value))


def receive(sock: socket.socket):
    """The next frame, or None when the other end closed."""
    head = _exactly(sock, _LENGTH.size)
    if head is None:
        return None
    body = _exactly(sock, _LENGTH.unpack(head)[0])
    return None if body is None else pickle.loads(body)


def _exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


async def read(reader: asyncio.StreamReader):
    """The next frame on the event loop's side, or None at the end of the stream."""
    try:
        head = await reader.readexactly(_LENGTH.size)
        return pickle.loads(await reader.readexactly(_LENGTH.unpack(head)[0]))
    except asyncio.IncompleteReadError:
        return None
