"""The DKIM verifier process: signatures checked beside the event loop, not on it.

dkimpy parses, canonicalises and hashes in Python: about 0.1 ms of CPU for a small signed message even with
scanning/dkim.py's shortcuts, time the event loop's process would take from relaying. Here it runs on the other
core. The loop sends (seq, message, keys, the verification profile's limits) with the keys it holds in its DNS
cache; this process never resolves a name: a key it was not given is answered "deferred" and the loop verifies
that message itself, where DNS may wait (relay/dkimcheck.py).

    python -m asyncos_cli.relay.dkimworker FD     (FD: this end of the socket pair the relay made)
"""

from __future__ import annotations

import signal
import socket
import sys

from scanning import dkim

from . import frames


def answer(data: bytes, keys: dict[str, bytes], limits: tuple) -> tuple:
    """("results", SignatureResults), ("deferred", NAME) for a key not given, or ("failed", WHY)."""

    def given(name: str) -> bytes:
        try:
            return keys[name.lower().rstrip(".")]
        except KeyError:
            raise dkim.LookupDeferred(name) from None

    quick = dkim.passes(data, keys, *limits)
    if quick is not None:
        return "results", tuple(quick)
    try:
        return "results", tuple(dkim.verify(data, given, *limits))
    except dkim.LookupDeferred as e:
        return "deferred", str(e)
    except Exception as e:  # dkim.verify turns hostile input into results; anything else is the loop's to redo
        return "failed", f"{type(e).__name__}: {e}"


def serve(sock: socket.socket) -> None:
    """The requests of one read are answered together, in one write: one wake-up of the loop for all of them
    (under load the loop sends several at once; alone, a request is answered at once)."""
    buffer, chunk = bytearray(), bytearray(1 << 20)
    # Read into one buffer kept for the process's life: a fresh megabyte for each read is an mmap, a mremap
    # and a munmap each time (and fresh pages to fault in).
    view = memoryview(chunk)
    while received := sock.recv_into(chunk):
        buffer += view[:received]
        answers = [frames.pack((seq, answer(data, keys, limits)))
                   for seq, data, keys, limits in frames.unpack_all(buffer)]
        if answers:
            sock.sendall(b"".join(answers))


if __name__ == "__main__":
    # The daemon decides when this process ends (it closes the socket); a Ctrl-C at the console is the daemon's.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        serve(socket.socket(fileno=int(sys.argv[1])))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the daemon went away first
