"""Stored versions rewritten once when a release changes how a setting is kept.

Configuration versions are immutable history, but a release that starts
sealing a credential must not leave it in clear in every version a
``rollbackconfig`` can return to. Each migration runs once per database
(``PRAGMA user_version``), in one transaction, and leaves every version
loadable by this release.
"""

from __future__ import annotations

import json
import sqlite3

from .secrets import Keyring

#: (section, fields that were plain text and are now sealed secrets), by the version that sealed them.
_SEALED = {1: ("snmp", ("community", "trap_community"))}
CURRENT = max(_SEALED)


def pending(conn: sqlite3.Connection) -> bool:
    return conn.execute("PRAGMA user_version").fetchone()[0] < CURRENT


def run(conn: sqlite3.Connection, keyring: Keyring) -> int:
    """Seal what earlier releases stored in clear; returns how many stored sections changed."""
    changed = 0
    # The clear text must not survive in freed pages or in the write-ahead log either.
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("BEGIN IMMEDIATE")
    try:
        done = conn.execute("PRAGMA user_version").fetchone()[0]
        for step, (section, fields) in sorted(_SEALED.items()):
            if step <= done:
                continue
            rows = conn.execute("SELECT version, body FROM config_sections WHERE name = ?", (section,)).fetchall()
            for version, body in rows:
                data = json.loads(body)
                touched = False
                for name in fields:
                    if isinstance(data.get(name), str):
                        data[name] = {"$secret": keyring.seal(data[name]).token}
                        touched = True
                if touched:
                    conn.execute("UPDATE config_sections SET body = ? WHERE version = ? AND name = ?",
                                 (json.dumps(data, sort_keys=True, separators=(",", ":")), version, section))
                    changed += 1
        conn.execute(f"PRAGMA user_version = {CURRENT}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if changed:
        conn.execute("VACUUM")  # rewrites every page: nothing of the old bodies is left in the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return changed
