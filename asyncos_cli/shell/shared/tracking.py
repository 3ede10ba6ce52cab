"""What findevent and report share: the tracking database, and times given as "hours ago" or epoch."""

from __future__ import annotations

import time

from asyncos_cli.shell.prompter import CommandError


def tracking_store(ctx):
    """Message tracking, through its store interface (config.statestores.TrackingStore)."""
    from asyncos_cli.config.store import connect
    from asyncos_cli.services.tracking_search import SQLiteTrackingStore

    return SQLiteTrackingStore(connect(ctx.datadir.database))


def remediation_jobs(ctx):
    from asyncos_cli.config.store import connect
    from asyncos_cli.services.remediation import SQLiteRemediationJobs

    return SQLiteRemediationJobs(connect(ctx.datadir.database))


def moment(value: str) -> float:
    """A small number is "hours ago"; a large one an epoch time."""
    try:
        v = float(value)
    except ValueError:
        raise CommandError(f"{value!r}: give hours ago (24) or an epoch time") from None
    return time.time() - v * 3600 if v < 1e6 else v
