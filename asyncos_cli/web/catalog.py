"""Every endpoint module, imported once: their routes register on import (the server, the OpenAPI document and
the tests all read the same list)."""

from __future__ import annotations

from . import (  # noqa: F401
    configuration,
    openapi,
    quarantine,
    remediation,
    reporting,
    system,
    tracking,
)
from .routes import ROUTES, Route


def routes() -> list[Route]:
    return list(ROUTES)
