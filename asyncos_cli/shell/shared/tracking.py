"""What findevent and report share: the tracking database, and times given as "hours ago" or epoch."""

from __future__ import annotations

import time

from asyncos_cli.shell.prompter import CommandError


def tracking_store(ctx):
    """Message tracking, through its store interface (config.statestores.TrackingStore).

    The running daemon writes what it has in memory first, so a message tracking called finished a moment ago
    is in every report and search.
    """
    from asyncos_cli.control.client import ControlError, DaemonUnavailable, request
    from asyncos_cli.services.tracking_search import SQLiteTrackingStore

    try:
        request(ctx.datadir.control_socket, "tracking_flush")
    except (DaemonUnavailable, ControlError):
        pass  # no daemon: the database is all there is
    return SQLiteTrackingStore(ctx.database())


def remediation_jobs(ctx):
    from asyncos_cli.services.remediation import SQLiteRemediationJobs

    return SQLiteRemediationJobs(ctx.database())


def moment(value: str) -> float:
    """A small number is "hours ago"; a large one an epoch time."""
    try:
        v = float(value)
    except ValueError:
        raise CommandError(f"{value!r}: give hours ago (24) or an epoch time") from None
    return time.time() - v * 3600 if v < 1e6 else v
