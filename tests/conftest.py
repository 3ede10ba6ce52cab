"""Shared fixtures: data directories, the real CLI as a subprocess, the daemon, peers."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from forkserver import Server
from ports import free_port  # noqa: F401  (the tests import it from here)

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "Initial-Pass-9x"


def require_peer(*programs: str) -> None:
    """Skip when a real peer is missing; in CI (ASYNCOS_REQUIRE_PEERS=1) fail instead."""
    missing = [p for p in programs if shutil.which(p) is None]
    if not missing:
        return
    why = f"test peer not installed: {', '.join(missing)}"
    if os.environ.get("ASYNCOS_REQUIRE_PEERS") == "1":
        pytest.fail(why + " (ASYNCOS_REQUIRE_PEERS=1)")
    pytest.skip(why)


def cli_env(datadir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["ASYNCOS_DATA"] = str(datadir)
    env["PYTHONPATH"] = str(ROOT)
    return env


#: ASYNCOS_TEST_SUBPROCESS=1: every CLI call and daemon is its own process, started with exec. Otherwise a one-line
#: batch (``-c``), the most common call by far, runs in this process through the same entry point, and a daemon is
#: forked from a process that has already imported it (forkserver.py): no interpreter start and imports each time.
IN_PROCESS = os.environ.get("ASYNCOS_TEST_SUBPROCESS") != "1"
_forks = Server()


def run_cli(datadir: Path, *args: str, input: str | None = None, timeout: float = 60):
    if IN_PROCESS and len(args) == 2 and args[0] == "-c":
        return _run_in_process(datadir, args, input or "")
    return subprocess.run(
        [sys.executable, "-m", "asyncos_cli", *args],
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        env=cli_env(datadir),
        cwd=ROOT,
        timeout=timeout,
    )


def _run_in_process(datadir: Path, args: tuple, input: str) -> subprocess.CompletedProcess:
    """``asyncos-cli ARGS`` as the console script runs it, with this process's streams and environment swapped."""
    import contextlib
    import io

    from asyncos_cli.main import cli as entry

    out, err = io.StringIO(), io.StringIO()
    saved = os.environ.get("ASYNCOS_DATA"), sys.stdin
    os.environ["ASYNCOS_DATA"] = str(datadir)
    sys.stdin = io.StringIO(input)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                entry(list(args))
            except SystemExit as e:
                if isinstance(e.code, str):
                    err.write(e.code + "\n")
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.stdin = saved[1]
        if saved[0] is None:
            os.environ.pop("ASYNCOS_DATA", None)
        else:
            os.environ["ASYNCOS_DATA"] = saved[0]
    return subprocess.CompletedProcess(["asyncos-cli", *args], code, out.getvalue(), err.getvalue())


def batch_ok(datadir: Path, line: str) -> str:
    """A batch command line that must succeed: its output."""
    r = run_cli(datadir, "-c", line)
    assert r.returncode == 0, (line, r.stdout, r.stderr)
    return r.stdout


def batch_fails(datadir: Path, line: str) -> str:
    """A batch command line that must fail: its error output."""
    r = run_cli(datadir, "-c", line)
    assert r.returncode != 0, (line, r.stdout)
    return r.stderr


@pytest.fixture(scope="session")
def initialised_template(tmp_path_factory) -> Path:
    """One data directory initialised by the real ``asyncos-cli init``, once per test session."""
    base = tmp_path_factory.mktemp("template")
    pw = base / "admin.pw"
    pw.write_text(PASSPHRASE + "\n")
    r = run_cli(base / "data", "init", f"--admin-passphrase-file={pw}")
    assert r.returncode == 0, r.stderr
    return base / "data"


#: ASYNCOS_TEST_STORE=postgresql (make test-postgres): every test's data directory is a one-machine cluster on a
#: database of its own in the session's PostgreSQL, so the configuration, accounts and cluster tracking run there.
ON_POSTGRES = os.environ.get("ASYNCOS_TEST_STORE") == "postgresql"
#: The shell's prompt word for a test's data directory: its host name, or in a cluster the mode.
SHELL_PROMPT = "(Cluster Test)>" if ON_POSTGRES else "ironport.example.com>"


@pytest.fixture
def datadir(tmp_path, initialised_template, request) -> Path:
    """An initialised data directory (admin's passphrase is PASSPHRASE), copied from the session's template.

    Its SSH server, API, web interface and listeners are moved to free ports, so no test binds the default ones;
    SSH, the API and the web interface are turned off unless the test is marked ``admin_services``.
    """
    d = tmp_path / "data"
    shutil.copytree(initialised_template, d, symlinks=True)
    if ON_POSTGRES:
        pw = tmp_path / "cluster.pw"
        pw.write_text("Test-Cluster-Passphrase\n")
        dsn = request.getfixturevalue("postgres").database()
        r = run_cli(d, "-c", f"clusterconfig create Test --store='{dsn}' --machine=test --cluster-passphrase-file={pw}")
        assert r.returncode == 0, r.stderr
    # SSH, the API and the web interface only for the tests that use them: each is a process of the daemon's.
    wanted = "yes" if request.node.get_closest_marker("admin_services") else "no"
    r = run_cli(d, "-c", f"interfaceconfig edit Management --ssh-port={free_port()} "
                         f"--api-https-port={free_port()} --web-https-port={free_port()} "
                         f"--ssh={wanted} --api-https={wanted} --web-https={wanted}; "
                         f"listenerconfig edit IncomingMail --port={free_port()}; "
                         f"listenerconfig edit OutgoingMail --port={free_port()}; commit test ports")
    assert r.returncode == 0, r.stderr
    return d


@pytest.fixture
def cli(datadir):
    def run(*args, input=None, check=True):
        r = run_cli(datadir, *args, input=input)
        if check:
            assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
        return r

    return run


class DaemonProcess:
    def __init__(self, datadir: Path, prefix: tuple[str, ...] = ()):
        """``prefix``: what runs the daemon (``ip netns exec NS``: in a network namespace of its own)."""
        self.datadir = datadir
        self.socket = datadir / "run" / "control.sock"
        if IN_PROCESS and not prefix:
            self.proc = _forks.start("asyncos_cli", ["serve"], cli_env(datadir), ROOT)
        else:
            self.proc = subprocess.Popen(
                [*prefix, sys.executable, "-m", "asyncos_cli", "serve"],
                env=cli_env(datadir),
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self.wait_ready()

    def request(self, op: str, **params):
        from asyncos_cli.control.client import request

        return request(self.socket, op, **params)

    def wait_ready(self, timeout: float = 20) -> None:
        from asyncos_cli.control.client import DaemonUnavailable

        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited: {self.proc.stdout.read()}")
            try:
                self.request("ping")
                return
            except DaemonUnavailable:
                time.sleep(0.05)
        raise RuntimeError("daemon did not answer")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def daemon(datadir):
    d = DaemonProcess(datadir)
    yield d
    d.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """An initialised store opened in-process (for unit tests of the commit model), on each backend."""
    from asyncos_cli.config.schema import Config

    if request.param == "sqlite":
        from asyncos_cli.config.store import SQLiteStore

        s = SQLiteStore(tmp_path / "store.db")
    else:
        from asyncos_cli.config.postgres import PostgresStore

        s = PostgresStore(request.getfixturevalue("postgres").database())
    s.initialise(Config.default(), "admin", "Initial configuration")
    yield s
    s.close()


@pytest.fixture
def keyring(tmp_path):
    from asyncos_cli.config.secrets import Keyring

    return Keyring.create(tmp_path / "keys" / "config.key")


# ---------------------------------------------------------------- mail peers and the relay


class Sink:
    """Postfix's smtp-sink, dumping every transaction into a folder (or failing on purpose)."""

    def __init__(self, name, *flags: str, port: int | None = None):
        require_peer("smtp-sink")
        # smtp-sink drops privileges to nobody, who cannot enter pytest's private tmp_path.
        folder = Path(tempfile.mkdtemp(prefix=f"asyncos-sink-{Path(str(name)).name}-"))
        os.chmod(folder, 0o777)
        self.folder = folder
        self.port = port or free_port()
        self.proc = subprocess.Popen(
            ["smtp-sink", "-u", "nobody", "-d", f"{folder}/%M.", *flags, f"127.0.0.1:{self.port}", "256"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("smtp-sink did not start")

    def messages(self) -> list[bytes]:
        # smtp-sink opens a dump at MAIL FROM; one left empty is a transaction that
        # carried no message (refused recipients, connection still open).
        return [data for p in sorted(self.folder.iterdir()) if p.is_file() and (data := p.read_bytes())]

    def message_ids(self) -> list[str]:
        out = []
        for m in self.messages():
            found = re.search(rb"^Message-ID:\s*(<[^>]+>)", m, re.M | re.I)
            if found:
                out.append(found.group(1).decode())
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)


def wait_for(predicate, timeout=20.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def wait_applied(datadir: Path, timeout: float = 20) -> None:
    """Until the running daemon reports the newest committed version in effect, its listeners bound for it."""
    from asyncos_cli.config.cluster import open_store
    from asyncos_cli.config.datadir import DataDir
    from asyncos_cli.control.client import DaemonUnavailable, request

    if not (datadir / "run" / "control.sock").exists():
        return  # no daemon: nothing to wait for
    store = open_store(DataDir(datadir))
    try:
        head = store.head_id()
    finally:
        store.close()

    def applied() -> bool:
        st = request(datadir / "run" / "control.sock", "status")
        return st["config_version"] >= head and st.get("listeners_current", True)

    try:
        assert wait_for(applied, timeout), f"the daemon did not apply configuration version {head}"
    except DaemonUnavailable:
        return  # no daemon runs on this data directory: nothing to wait for


def listener_port(datadir, name):
    out = run_cli(datadir, "-c", "listenerconfig print").stdout
    m = re.search(rf"{name} \(127\.0\.0\.1\) SMTP TCP Port (\d+)", out)
    return int(m.group(1))


@pytest.fixture
def relay(datadir, tmp_path):
    sink = Sink(tmp_path / "sink")
    r = run_cli(datadir, "-c", f"smtproutes new ALL 127.0.0.1:{sink.port}; commit route to sink")
    assert r.returncode == 0, r.stderr
    d = DaemonProcess(datadir)
    d.sink = sink
    d.public = listener_port(datadir, "IncomingMail")
    d.private = listener_port(datadir, "OutgoingMail")
    yield d
    d.stop()
    sink.stop()


def swaks(port, *args):
    require_peer("swaks")
    return subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--timeout", "20", *args],
                          capture_output=True, text=True, timeout=60)


def mail_log(datadir) -> str:
    return (datadir / "logs" / "mail_logs" / "mail.current").read_text()


# ---------------------------------------------------------------- the SSH door

OP_PASS = "Operator-Pass-7q"


def interface_port(datadir, service: str = "SSH") -> int:
    """The port of ``service`` ("SSH", "AsyncOS API HTTPS", ...) on the Management interface."""
    out = run_cli(datadir, "-c", "interfaceconfig print").stdout
    line = next(line for line in out.splitlines() if "Management" in line)
    return int(re.search(rf"\b{re.escape(service)} (\d+)", line).group(1))


def ssh_port(datadir) -> int:
    return interface_port(datadir, "SSH")


def wait_listening(port: int, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


@pytest.fixture
def gateway(datadir):
    """The gateway with its SSH server up, an operator op1 and account lockout at 5 failures."""
    r = run_cli(
        datadir,
        "-c",
        f"userconfig new op1 --fullname='Operator One' --role=operator --passphrase={OP_PASS}; "
        "userconfig policy account --lockout=yes --lockout-attempts=5; commit users",
    )
    assert r.returncode == 0, r.stderr
    d = DaemonProcess(datadir)
    try:
        d.port = ssh_port(datadir)
        wait_listening(d.port)
        yield d
    finally:
        d.stop()


def ietf_mib_dir() -> Path:
    """The IETF's SMI modules (SNMPv2-SMI...) that `make test` fetches from npm (Debian does not ship them)."""
    d = ROOT / ".cache" / "ietf-mibs"
    if not (d / "SNMPv2-SMI.mib").exists():
        if os.environ.get("ASYNCOS_REQUIRE_PEERS") == "1":
            pytest.fail("the IETF MIB modules are missing: run 'make .cache/ietf-mibs/SNMPv2-SMI.mib'")
        pytest.skip("the IETF MIB modules are missing (make .cache/ietf-mibs/SNMPv2-SMI.mib)")
    return d


# ---------------------------------------------------------------- PostgreSQL (cluster mode's store)


def _pg_bin(name: str) -> str | None:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(found[-1]) if found else shutil.which(name)


class Postgres:
    """Debian's PostgreSQL in a temporary directory, run unprivileged (as 'postgres' when the tests run as root),
    on a free port of 127.0.0.1, without fsync (a test server). ``database()`` makes a fresh database: its DSN."""

    def __init__(self):
        initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
        # Outside pytest's private tmp tree: the unprivileged server must reach its folder.
        folder = Path(tempfile.mkdtemp(prefix="asyncos-pg-"))
        if initdb is None or postgres is None:
            require_peer("initdb", "postgres")
        self.folder, self.port = folder, free_port()
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if as_user:
            shutil.chown(folder, "postgres", "postgres")
        data = folder / "data"
        subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "asyncos", "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True, timeout=120)
        self._argv = [*as_user, postgres, "-D", str(data), "-p", str(self.port), "-k", str(folder),
                      "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                      "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.start()
        self._count = 0

    def start(self) -> None:
        """(Again after pause(): the same data and port.)"""
        self.proc = subprocess.Popen(self._argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)

    def pause(self) -> None:
        """The server stops (fast shutdown: clients are disconnected); start() brings it back."""
        # To the server itself (runuser does not pass SIGINT on): its PID heads postmaster.pid.
        postmaster = int((self.folder / "data/postmaster.pid").read_text().split()[0])
        os.kill(postmaster, signal.SIGINT)
        self.proc.wait(30)

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=asyncos dbname={dbname}"

    def database(self) -> str:
        import psycopg

        self._count += 1
        name = f"t{os.getpid()}_{self._count}"
        deadline = time.time() + 30
        while True:  # the server accepts connections a moment before it accepts logins
            try:
                with psycopg.connect(self.dsn(), autocommit=True) as conn:
                    conn.execute(f"CREATE DATABASE {name}")
                return self.dsn(name)
            except psycopg.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    pg = Postgres()
    yield pg
    pg.stop()


#: The modules that take longest, longest first (seconds on one worker, 2026-12): they start first, so no worker
#: is left finishing one of them alone at the end while the others are idle (make test spreads modules).
LONG_MODULES = ("test_packaging.py", "test_api.py", "test_relay.py", "test_web_ui.py", "test_engines.py",
                "test_snmp.py", "test_everyday_commands.py", "test_cluster.py", "test_ssh.py")


def pytest_collection_modifyitems(config, items):
    """The long modules first (the packaging tests: a wheel, a container image, a systemd boot, then the others
    above), the rest in their order."""
    rank = {name: i for i, name in enumerate(LONG_MODULES)}
    items.sort(key=lambda item: rank.get(item.fspath.basename, len(rank)))


def pytest_sessionfinish(session, exitstatus):
    _forks.stop()
