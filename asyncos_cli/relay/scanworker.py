"""What a scanning worker process runs when the threat engines are on: one hand-off per message.

The message crosses to the worker once. The worker parses it (and makes the passphrase trials) once, tells
the daemon's engine broker what the engines need from it (scanning.engines.EngineWork), and scans each
message as soon as its engines' answers come back, sending its ScanOutcome at once: a message whose engine
is slow holds up no other. The worker holds no engine connection itself (the daemon's EngineService does:
its health, counts and alerts stay in one place); the broker's socket is the relay's, not the engine's.
"""

from __future__ import annotations

import socket

from scanning.engines import EngineResults, engine_work
from scanning.verdict import ScanOutcome
from scanning.worker import parse_capped, scan_parsed, snapshot

from . import frames


def scan_with_engines(jobs: list[tuple], key: int, blob: bytes, broker: str, batch: int) -> int:
    """Scan ``jobs`` ((raw, envelope) each); every outcome goes to the broker. Returns how many were sent.

    The connection names its ``batch`` first; closing it tells the broker that every outcome has been sent.
    """
    config, clients = snapshot(key, blob)
    sent = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(broker)
        frames.send(sock, ("batch", batch, None))
        waiting = {}
        for raw, envelope in jobs:
            try:
                message = parse_capped(raw, envelope, config, clients)
                frames.send(sock, ("work", envelope.mid, engine_work(message, config)))
                waiting[envelope.mid] = (raw, envelope, message)
            except Exception as e:  # one message's failure is that message's verdict
                frames.send(sock, ("outcome", envelope.mid, _failure(envelope, e)))
                sent += 1
        while waiting:
            frame = frames.receive(sock)
            if frame is None:
                break  # the daemon is stopping: the messages stay queued and are scanned again at the next start
            kind, mid, answers = frame
            raw, envelope, message = waiting.pop(mid)
            if kind != "answers":  # the broker settled this message itself
                continue
            try:
                copies = scan_parsed(raw, message, envelope, config, clients, EngineResults(**answers))
                outcome = ScanOutcome(envelope.direction, tuple(copies))
            except Exception as e:
                outcome = _failure(envelope, e)
            frames.send(sock, ("outcome", mid, outcome))
            sent += 1
    return sent


def _failure(envelope, error: Exception) -> ScanOutcome:
    return ScanOutcome(envelope.direction, failure=f"{type(error).__name__}: {error}")
