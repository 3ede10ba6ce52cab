"""Cluster mode: which store a data directory uses, and the cluster's own tables in PostgreSQL.

A data directory is in a cluster when ``cluster.json`` names the cluster, this machine and the store's URL; every
reader of the configuration then opens the PostgreSQL store, seeing the cluster's sections with this machine's own
(``MACHINE_SECTIONS``: host name, interfaces) laid over them. Without it the embedded SQLite store is used, as
before. Mail queues, quarantines, logs and tracking stay in the data directory: mail on disk is never shared.

The cluster key (the key that seals secrets in the configuration) is kept in the store wrapped with a key derived
from the cluster passphrase (scrypt): a machine that joins gives the passphrase and needs nothing copied by hand,
and a copy of the database alone opens no secret.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from dataclasses import asdict, dataclass

from .datadir import DataDir, write_private
from .fields import ConfigError

#: Sections each machine keeps for itself (the appliance's machine-level settings).
MACHINE_SECTIONS = ("system", "interfaces")
#: Sections only the cluster holds (accounts are the cluster's: auth/cluster_accounts).
CLUSTER_SECTIONS = ("users", "passphrase_policy")
#: The group every machine is in until it is moved (the appliance's name for it).
DEFAULT_GROUP = "Main_Group"
#: The configuration row (beside the sections, versioned with them) that lists the groups and their machines.
GROUPS_ROW = "cluster/groups"


@dataclass(frozen=True)
class Mode:
    """Where settings are read and written: the cluster, one group of machines, or one machine (the prompt's
    ``(Cluster NAME)>``, ``(Group NAME)>``, ``(Machine NAME)>``). A setting configured at a machine's level
    overrides its group's, which overrides the cluster's."""

    level: str  # cluster | group | machine
    name: str

    LEVELS = ("cluster", "group", "machine")

    def __str__(self) -> str:
        return f"{self.level.capitalize()} {self.name}"

    def prefix(self) -> str:
        """The rows of this level: SECTION for the cluster, group/NAME/SECTION, machine/NAME/SECTION."""
        return "" if self.level == "cluster" else f"{self.level}/{self.name}/"


@dataclass(frozen=True)
class Groups:
    """The cluster's groups and which one each machine is in (machines not named are in DEFAULT_GROUP)."""

    names: tuple[str, ...] = (DEFAULT_GROUP,)
    machines: tuple[tuple[str, str], ...] = ()

    @classmethod
    def decode(cls, body: str | None) -> "Groups":
        if not body:
            return cls()
        data = json.loads(body)
        return cls(tuple(data["groups"]), tuple(sorted(data["machines"].items())))

    def encode(self) -> str:
        return json.dumps({"groups": list(self.names), "machines": dict(self.machines)}, sort_keys=True)

    def of(self, machine: str) -> str:
        return dict(self.machines).get(machine, DEFAULT_GROUP)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cluster_info (
    name TEXT PRIMARY KEY,
    created DOUBLE PRECISION NOT NULL,
    salt TEXT NOT NULL,
    wrapped_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cluster_machines (
    name TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    joined DOUBLE PRECISION NOT NULL,
    last_seen DOUBLE PRECISION NOT NULL DEFAULT 0,
    applied_version BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'joined',
    serial TEXT NOT NULL DEFAULT ''
);
DO $$ BEGIN  -- a store made before machines named their serial numbers (ALTER only then: it locks the table)
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'cluster_machines'
                   AND column_name = 'serial' AND table_schema = current_schema()) THEN
        ALTER TABLE cluster_machines ADD COLUMN serial TEXT NOT NULL DEFAULT '';
    END IF;
END $$;
"""

#: pg_advisory_xact_lock key held while tables are created.
_TABLES_LOCK = 0x61737963
#: A machine not heard from for this long is listed as down.
DOWN_AFTER_SECONDS = 15.0


@dataclass(frozen=True)
class Membership:
    cluster: str
    machine: str
    store: str

    @staticmethod
    def path(datadir: DataDir):
        return datadir.root / "cluster.json"

    @classmethod
    def load(cls, datadir: DataDir) -> "Membership | None":
        try:
            data = json.loads(cls.path(datadir).read_text())
            return cls(str(data["cluster"]), str(data["machine"]), str(data["store"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{cls.path(datadir)} is unreadable ({e}): fix it or remove it to leave the "
                              "cluster") from None

    def place(self) -> str:
        """The store as postgresql://HOST:PORT/DB, without its user or password (for logs and traps)."""
        from psycopg.conninfo import conninfo_to_dict

        try:
            c = conninfo_to_dict(self.store)
        except Exception:  # unparsable: name nothing rather than leak it
            return "postgresql://(unparsable URL)"
        return f"postgresql://{c.get('host', 'localhost')}:{c.get('port', 5432)}/{c.get('dbname', '')}"

    def connect(self):
        """A connection to the cluster's store (psycopg, autocommit)."""
        return connect(self.store)

    def save(self, datadir: DataDir) -> None:
        _cached_copy(datadir).unlink(missing_ok=True)  # another cluster's configuration must never stand in
        write_private(self.path(datadir), json.dumps(asdict(self), indent=1).encode())

    @classmethod
    def remove(cls, datadir: DataDir) -> None:
        cls.path(datadir).unlink()
        _cached_copy(datadir).unlink(missing_ok=True)


def _cached_copy(datadir: DataDir):
    """The newest configuration this machine read from its cluster's store (read while it is unreachable)."""
    return datadir.state / "cluster-config.json"


def connect(dsn: str):
    import psycopg

    return psycopg.connect(dsn, autocommit=True, connect_timeout=5)


def first_line(e: Exception) -> str:
    """A database error in one line (psycopg's run over several)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def create_tables(conn, schema: str) -> None:
    """Create tables of the cluster's store if they are missing, one machine at a time (two machines joining
    at once must not race on CREATE)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_TABLES_LOCK,))
        conn.execute(schema)


class ClusterTable:
    """Tables of the cluster's own in its store, made on first use: ``SCHEMA`` creates them."""

    SCHEMA = ""

    def __init__(self, conn):
        self.conn = conn
        create_tables(conn, self.SCHEMA)


def open_store(datadir: DataDir, editing: bool = False):
    """The configuration store this data directory uses: its cluster's PostgreSQL, or the embedded SQLite.

    While the cluster's store is unreachable, reads see the newest version this machine read (kept in
    state/cluster-config.json) and say so in the store's ``unreachable``; commits are refused. ``editing``:
    for a shell, the web interface or the API, which edit at the cluster's level until told otherwise (the
    appliance's cluster mode); else the view this machine runs on."""
    member = Membership.load(datadir)
    if member is None:
        from .store import SQLiteStore

        return SQLiteStore(datadir.database)
    from .postgres import PostgresStore

    store = PostgresStore(member.store, machine=member.machine, cache=_cached_copy(datadir))
    if editing:
        store.mode = Mode("cluster", member.cluster)
    return store


def default_machine_name() -> str:
    return socket.gethostname().split(".")[0] or "machine"


def _wrapping_key(passphrase: str, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return base64.urlsafe_b64encode(Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode()))


def wrap_key(key: bytes, passphrase: str) -> tuple[str, str]:
    from cryptography.fernet import Fernet

    salt = os.urandom(16)
    return base64.b64encode(salt).decode(), Fernet(_wrapping_key(passphrase, salt)).encrypt(key).decode()


def unwrap_key(salt: str, wrapped: str, passphrase: str) -> bytes:
    from cryptography.fernet import Fernet, InvalidToken

    try:
        return Fernet(_wrapping_key(passphrase, base64.b64decode(salt))).decrypt(wrapped.encode())
    except (InvalidToken, ValueError):
        raise ConfigError("the cluster passphrase is wrong") from None


class ClusterTables(ClusterTable):
    """The cluster's name, wrapped key and machines, in the same database as its configuration."""

    SCHEMA = _SCHEMA

    def info(self) -> tuple[str, str, str] | None:
        return self.conn.execute("SELECT name, salt, wrapped_key FROM cluster_info").fetchone()

    def create(self, name: str, key: bytes, passphrase: str) -> None:
        salt, wrapped = wrap_key(key, passphrase)
        self.conn.execute("INSERT INTO cluster_info VALUES (%s, %s, %s, %s)", (name, time.time(), salt, wrapped))

    def add_machine(self, machine: str, hostname: str, serial: str) -> bool:
        """Adds the machine; False when another machine has its serial number (its data directory is a copy:
        the caller gives it a serial of its own and says so in ``set_serial``)."""
        with self.conn.transaction():
            if self.conn.execute("SELECT 1 FROM cluster_machines WHERE name = %s", (machine,)).fetchone():
                raise ConfigError(f"a machine named {machine!r} is already in the cluster: join with "
                                  "--machine=NAME, or remove the old one first (clusterconfig removemachine)")
            self.conn.execute("INSERT INTO cluster_machines (name, hostname, joined, serial) VALUES (%s, %s, %s, %s)",
                              (machine, hostname, time.time(), serial))
            return self.conn.execute("SELECT count(*) FROM cluster_machines WHERE serial = %s",
                                     (serial,)).fetchone()[0] == 1

    def set_serial(self, machine: str, serial: str) -> None:
        self.conn.execute("UPDATE cluster_machines SET serial = %s WHERE name = %s", (serial, machine))

    def remove_machine(self, machine: str) -> bool:
        with self.conn.transaction():
            gone = self.conn.execute("DELETE FROM cluster_machines WHERE name = %s", (machine,)).rowcount
            # Its own sections go with it, in every version (they are only ever read by it).
            self.conn.execute("DELETE FROM config_sections WHERE name LIKE %s", (f"machine/{machine}/%",))
        return bool(gone)

    def heartbeat(self, machine: str, hostname: str, applied_version: int, status: str, serial: str = "") -> None:
        self.conn.execute("UPDATE cluster_machines SET last_seen = %s, applied_version = %s, hostname = %s, "
                          "status = %s, serial = %s WHERE name = %s",
                          (time.time(), applied_version, hostname, status, serial, machine))

    def machines(self) -> list[dict]:
        now = time.time()
        rows = self.conn.execute("SELECT name, hostname, joined, last_seen, applied_version, status, serial "
                                 "FROM cluster_machines ORDER BY name").fetchall()
        return [{"name": r[0], "hostname": r[1], "joined": r[2], "last_seen": r[3], "applied_version": r[4],
                 "serial": r[6],
                 "state": (r[5] if now - r[3] <= DOWN_AFTER_SECONDS else "down") if r[3] else "not started"}
                for r in rows]
