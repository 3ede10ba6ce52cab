"""Run-time state: what changes while the appliance runs and is never rolled back.

Kept in the same database file as the configuration, in tables of its own:
the appliance's identity (serial number, install date) and a small
key-value table for later state (first-seen records, registrations).
Account state (passphrase hashes, locks) is kept by ``auth.accounts``.
The interface is ``statestores.KeyValueState``; this name is the embedded backend.
"""

from __future__ import annotations

from .statestores import SQLiteStateStore as StateStore

__all__ = ["StateStore", "new_serial"]


def new_serial() -> str:
    """An appliance serial number (12 and 8 hex digits), made once per data directory."""
    import secrets

    return secrets.token_hex(6).upper() + "-" + secrets.token_hex(4).upper()
