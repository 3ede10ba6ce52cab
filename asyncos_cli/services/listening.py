"""What a service process (the SSH server, the API and web server) listens on, and what it could not bind.

The service writes one small JSON file in the run directory whenever its sockets change; the daemon reads
it for ``status``. A busy port is one failed row, and every other socket of the service still opens.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Binding:
    service: str  # as the appliance names it: "SSH", "AsyncOS API HTTPS", ...
    interface: str
    address: str
    port: int
    error: str = ""  # empty: listening

    def describe(self) -> str:
        where = f"{self.interface} ({self.address}) port {self.port}"
        return f"{where}: cannot listen: {self.error}" if self.error else f"{where}"


def state_file(run_dir: Path, who: str) -> Path:
    return run_dir / f"{who}.listening.json"


def publish(run_dir: Path, who: str, bindings: list[Binding]) -> None:
    path = state_file(run_dir, who)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps([asdict(b) for b in bindings]))
    os.replace(tmp, path)


def read(run_dir: Path, who: str) -> list[Binding] | None:
    """None: the service has not said yet (starting, or not running)."""
    try:
        rows = json.loads(state_file(run_dir, who).read_text())
        return [Binding(**row) for row in rows]
    except (OSError, ValueError, TypeError):
        return None


def clear(run_dir: Path, who: str) -> None:
    state_file(run_dir, who).unlink(missing_ok=True)


async def bind_each(wanted, open_one, log) -> tuple[list, list[Binding]]:
    """Open a server per (Binding, argument) in ``wanted`` with ``await open_one(binding, argument)``.

    A socket that cannot open is logged and reported; the others still open. Returns (servers, bindings).
    """
    servers, bindings = [], []
    for binding, argument in wanted:
        try:
            servers.append(await open_one(binding, argument))
            log.warning("%s listening on %s", binding.service, binding.describe())
            bindings.append(binding)
        except OSError as e:
            # asyncio words a failed bind its own way ("error while attempting to bind on ..."): the errno's
            # own text is what administrators know.
            reason = os.strerror(e.errno) if e.errno else (e.strerror or str(e))
            failed = Binding(binding.service, binding.interface, binding.address, binding.port, reason)
            log.error("%s on %s", failed.service, failed.describe())
            bindings.append(failed)
    return servers, bindings
