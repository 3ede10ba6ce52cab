"""What findevent and report share: the tracking database, and times given as "hours ago" or epoch."""

from __future__ import annotations

import time

from asyncos_cli.shell.prompter import CommandError

from .cluster import cluster_tables


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


def search_everywhere(ctx, filters: dict, limit: int) -> list[dict]:
    """findevent's search: this machine's tracking, and in a cluster every other machine's (shipped to the
    cluster's store every few seconds), each result naming its machine; newest first."""
    from asyncos_cli.config.cluster import Membership

    own = tracking_store(ctx).search(filters, limit)
    member = Membership.load(ctx.datadir)
    if member is None:
        return own
    for row in own:
        row["machine"] = member.machine
    with _cluster_tracking(member) as tracking:
        others = tracking.search({**filters, "other_than": member.machine}, limit)
    return sorted(own + others, key=lambda r: r["received"], reverse=True)[:limit]


def history_on(ctx, mid: int, machine: str | None) -> dict | None:
    """One message's whole record, on this machine or (in a cluster) on the one named."""
    from asyncos_cli.config.cluster import Membership

    member = Membership.load(ctx.datadir)
    if machine is None or member is None or machine == member.machine:
        if machine is not None and member is None:
            raise CommandError("--machine names a machine of a cluster, and this machine is not in one.")
        return tracking_store(ctx).history(mid)
    with _cluster_tracking(member) as tracking:
        return tracking.history(machine, mid)


def report_everywhere(ctx, kind: str, since: float | None, until: float | None, machine: str | None) -> dict:
    """report's numbers: this machine's; in a cluster every machine's added up (``machine``: one of them), over
    the whole hours the range touches, this machine's newest records shipped first."""
    import psycopg

    from asyncos_cli.config.cluster import Membership, first_line
    from asyncos_cli.services.cluster_reports import view_everywhere

    member = Membership.load(ctx.datadir)
    store = tracking_store(ctx)
    if member is None and machine is not None:
        raise CommandError("--machine names a machine of a cluster, and this machine is not in one.")
    if member is None or machine == member.machine:
        return {**store.report(kind, since, until), **({"Machines": machine} if machine else {})}
    everyone = machine in (None, "all")
    try:
        return view_everywhere(member, kind, since or 0.0, until or time.time(), None if everyone else machine,
                               ship_from=ctx.database() if everyone else None)
    except psycopg.OperationalError as e:
        raise CommandError(f"the cluster's store is unreachable ({first_line(e)}): 'report --machine="
                           f"{member.machine}' reports this machine alone") from None
    except LookupError:
        raise CommandError(f"no machine named {machine!r} has shipped tracking to the cluster {member.cluster} "
                           "(clusterconfig list shows its machines)") from None


def _cluster_tracking(member):
    from asyncos_cli.services.cluster_tracking import ClusterTracking

    return cluster_tables(member, ClusterTracking, "only this machine's messages can be searched now")



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
