"""The memory one message may take in a scanning worker: a data-segment limit set before it, lifted after it.

The expansion budget counts the bytes extractors produce, but a decoder's own buffers, a PDF's object table or
an Office file's streams are not counted there. The kernel's RLIMIT_DATA (private writable memory: the heap and
anonymous mappings, which is where Python allocates) catches all of them: an allocation past the limit fails and
Python raises MemoryError in the extractor, which becomes that attachment's unscannable verdict.

Only a scanning worker process may use this (one message at a time, no other threads of ours): the limit is the
process's. The limit is relative to what the worker uses before the message, so caches and configuration
snapshots a worker holds do not eat into a message's share.
"""

from __future__ import annotations

import contextlib
import resource

_PAGE = resource.getpagesize()


def _data_bytes() -> int:
    """This process's data segment (statm's "data": VmData, what RLIMIT_DATA is compared with, plus the stack)."""
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[5]) * _PAGE


@contextlib.contextmanager
def memory_cap(limit_bytes: int):
    """At most ``limit_bytes`` more private memory inside the block (a no-op where the kernel cannot say)."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        ceiling = _data_bytes() + limit_bytes
    except (OSError, ValueError):
        yield
        return
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (ceiling, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
