"""What findevent and license_smart share in a cluster: the cluster's tables, opened for one command."""

from __future__ import annotations

import contextlib

from asyncos_cli.config.cluster import first_line
from asyncos_cli.shell.prompter import CommandError


@contextlib.contextmanager
def cluster_tables(member, tables, meanwhile: str = ""):
    """``tables(conn)`` on the cluster's store; an unreachable store is the command's error (with what can still
    be done ``meanwhile``)."""
    import psycopg

    try:
        with member.connect() as conn:
            yield tables(conn)
    except psycopg.OperationalError as e:
        raise CommandError(f"the cluster's store is unreachable ({first_line(e)})"
                           + (f": {meanwhile}" if meanwhile else "")) from None
