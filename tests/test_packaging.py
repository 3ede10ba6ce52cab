"""The deployable appliance: the wheel in a fresh virtual environment; the systemd units booted under systemd, on a
Debian made by mmdebstrap and brought up by cloud-init from packaging/cloud-init/user-data.yaml; the OCI image built
by podman from Debian and its healthcheck.

Nothing here reaches a package index: the wheels are built once from this checkout and pip's cache (a wheelhouse),
and both the booted Debian and the image install from it. Debian's own archive is reached by mmdebstrap and apt,
as `make peers` reaches it.
"""

from __future__ import annotations

import os
import shutil
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, free_port, require_peer, wait_for

PASSPHRASE = "Packaged-Pass-8w3"
DEBIAN = "http://deb.debian.org/debian"


def _run(argv, timeout=600, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def _ok(argv, timeout=600, **kw) -> str:
    r = _run(argv, timeout=timeout, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, argv))}: rc={r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory) -> Path:
    """The gateway's wheel (built from this checkout) and every wheel it needs: built once for the whole run, also
    when the packaging tests run on several pytest-xdist workers (pip builds in the checkout: one at a time)."""
    import fcntl

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder, above each worker's own
    out = shared / "wheelhouse"
    with open(shared / "wheelhouse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "complete").exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            _ok([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(out), str(ROOT)], cwd=ROOT)
            (out / "complete").touch()
    assert list(out.glob("asyncos_cli-*.whl"))
    return out


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "ASYNCOS_", "PYTHONPATH", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


def test_wheel_installs_and_runs_from_a_fresh_venv(tmp_path, wheelhouse):
    venv = tmp_path / "venv"
    _ok(["python3", "-m", "venv", str(venv)])
    _ok([venv / "bin/pip", "install", "--quiet", "--no-index", "--find-links", wheelhouse, "asyncos-cli"])
    # What the wheel carries besides code: the man pages, the MIB, the units and the cloud-init example.
    assert (venv / "share/man/man1/tail.1").is_file()
    assert (venv / "share/asyncos-cli/systemd/asyncos-cli.service").is_file()
    assert (venv / "share/asyncos-cli/cloud-init/user-data.yaml").is_file()
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert (site / "asyncos_cli/services/snmp/mibs/ASYNCOS-MAIL-MIB.txt").is_file()

    data, cli = tmp_path / "data", str(venv / "bin/asyncos-cli")
    env = _env(ASYNCOS_DATA=str(data))
    (tmp_path / "pw").write_text(PASSPHRASE + "\n")
    # Away from the checkout, so nothing is found beside it.
    run = dict(env=env, cwd=tmp_path, timeout=120)
    _ok([cli, "init", f"--admin-passphrase-file={tmp_path / 'pw'}"], **run)
    help_text = _ok([cli, "-c", "help tail"], **run)
    assert "continuously display the end of a log file" in help_text and "SYNOPSIS" in help_text
    smtp = free_port()
    _ok([cli, "-c", f"interfaceconfig edit Management --ssh-port={free_port()} --api-https-port={free_port()} "
                    f"--web-https-port={free_port()}; listenerconfig edit IncomingMail --port={smtp}; "
                    f"listenerconfig edit OutgoingMail --port={free_port()}; commit test ports"], **run)
    _ok([cli, "serve", "--detach"], **run)
    try:
        status = _run([cli, "-c", "status"], **run)
        assert status.returncode == 0, status.stderr
        with smtplib.SMTP("127.0.0.1", smtp, timeout=20) as s:
            assert s.ehlo()[0] == 250
            s.sendmail("a@example.org", ["user@example.com"], "Subject: from the wheel\r\n\r\nhello\r\n")
        assert wait_for(lambda: 'Subject "from the wheel"' in (data / "logs/mail_logs/mail.current").read_text())
    finally:
        _ok([cli, "stop"], **run)
    assert _run([cli, "-c", "status"], **run).returncode != 0


# ---------------------------------------------------------------- a Debian booted with systemd, set up by cloud-init

#: What Debian's slim images leave out; leaving it out here too saves unpacking it (and the docker images'
#: /etc/dpkg/dpkg.cfg.d entry that mmdebstrap writes keeps later apt installs in the image slim the same way).
SLIM = ("path-exclude=/usr/share/doc/*", "path-include=/usr/share/doc/*/copyright", "path-exclude=/usr/share/man/*",
        "path-exclude=/usr/share/info/*", "path-exclude=/usr/share/locale/*", "path-exclude=/usr/share/lintian/*")


def _mmdebstrap(target: Path, include: str) -> None:
    """A minimal Debian bookworm in ``target`` (a folder, or a tarball when it ends in .tar).

    mmdebstrap, not debootstrap: it unpacks through apt and dpkg at once, the same root for about 60% of the CPU.
    """
    r = _run(["mmdebstrap", "--quiet", "--variant=minbase", f"--include={include}",
              *(f"--dpkgopt={o}" for o in SLIM), "bookworm", str(target), DEBIAN], timeout=900)
    if r.returncode != 0:
        why = f"mmdebstrap could not make a Debian root: {(r.stdout + r.stderr)[-800:]}"
        if os.environ.get("ASYNCOS_REQUIRE_PEERS") == "1":
            pytest.fail(why)
        pytest.skip(why)


class Booted:
    """A Debian root booted by systemd-nspawn in its own network namespace (only its loopback: nothing it
    listens on is reachable from, or collides with, this machine)."""

    def __init__(self, root: Path, log: Path):
        self.root = root
        self.log = open(log, "w")
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit", "--private-network",
             f"--machine=asyncos-test-{os.getpid()}", "-D", str(root)],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.leader = 0

    def find_leader(self) -> None:
        self.leader = self._find_leader()

    def _find_leader(self) -> int:
        """The container's PID 1: nspawn's child that is 1 in its own PID namespace."""
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"systemd-nspawn exited: {Path(self.log.name).read_text()[-2000:]}")
            for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
                for pid in (task / "children").read_text().split():
                    status = Path(f"/proc/{pid}/status").read_text()
                    nspid = next((line.split()[1:] for line in status.splitlines() if line.startswith("NSpid:")), [])
                    if nspid and nspid[-1] == "1":
                        return int(pid)
            time.sleep(0.2)
        raise AssertionError("the container's init did not start")

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return _run(["nsenter", "-t", str(self.leader), "-m", "-u", "-i", "-n", "-p", "--", *argv], timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # nspawn asks the container's systemd to power off
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


class TestCloudInit:
    """A scope of its own (pytest-xdist --dist loadscope): it runs on a worker beside the other packaging tests."""

    def test_cloud_init_brings_up_the_gateway_under_systemd(self, tmp_path, wheelhouse):
        require_peer("mmdebstrap", "systemd-nspawn", "nsenter")
        root = tmp_path / "debian"
        _mmdebstrap(root, "systemd,systemd-sysv,dbus,python3,python3-venv,python3-cffi-backend,cloud-init")
        # The instance's package mirror is the wheelhouse (no index is reachable from inside).
        shutil.copytree(wheelhouse, root / "srv/wheelhouse")
        (root / "etc/pip.conf").write_text("[global]\nno-index = true\nfind-links = /srv/wheelhouse\n")

        cloud_config = yaml.safe_load((ROOT / "packaging/cloud-init/user-data.yaml").read_text())
        assert cloud_config["runcmd"], "user-data without runcmd"
        # Debian's archive is not reachable from inside: python3-venv came with mmdebstrap instead.
        assert cloud_config.pop("packages") == ["python3-venv"]
        cloud_config.pop("package_update")
        user_data = "#cloud-config\n" + yaml.safe_dump(cloud_config, width=1000)
        wheel = next(wheelhouse.glob("asyncos_cli-*.whl")).name
        user_data = user_data.replace(
            "https://downloads.example.com/asyncos-cli/asyncos_cli-14.0.0.1-cp311-cp311-linux_x86_64.whl",
            f"/srv/wheelhouse/{wheel}")
        assert f"/srv/wheelhouse/{wheel}" in user_data
        # Its listener on port 25 of the instance's loopback (the only address this network namespace has).
        user_data = user_data.replace("--address=0.0.0.0", "--address=127.0.0.1").replace("--interface=0.0.0.0",
                                                                                             "--interface=127.0.0.1")
        seed = root / "var/lib/cloud/seed/nocloud"
        seed.mkdir(parents=True)
        (seed / "user-data").write_text(user_data)
        (seed / "meta-data").write_text("instance-id: asyncos-test-1\nlocal-hostname: gateway\n")
        (root / "etc/cloud/cloud.cfg.d/90-test.cfg").write_text("datasource_list: [ NoCloud, None ]\n")

        booted = Booted(root, tmp_path / "boot.log")
        try:
            booted.find_leader()
            def active() -> bool:
                return booted.run("systemctl", "is-active", "--quiet", "asyncos-cli.service").returncode == 0

            assert wait_for(active, timeout=300, step=1), _diagnose(booted, tmp_path)
            assert wait_for(lambda: booted.run("systemctl", "is-active", "--quiet", "cloud-final.service").returncode
                            == 0, timeout=120, step=1), _diagnose(booted, tmp_path)
            # The daemon runs as the unprivileged user, port 25 through the capability alone.
            main_pid = booted.run("systemctl", "show", "-P", "MainPID", "asyncos-cli.service").stdout.strip()
            proc_status = booted.run("cat", f"/proc/{main_pid}/status").stdout
            uid = next(line.split()[1] for line in proc_status.splitlines() if line.startswith("Uid:"))
            assert uid != "0", proc_status
            # CAP_NET_BIND_SERVICE (bit 10) and nothing else in its effective set.
            cap_eff = next(line.split()[1] for line in proc_status.splitlines() if line.startswith("CapEff:"))
            assert int(cap_eff, 16) == 1 << 10, proc_status
            assert booted.run("getent", "passwd", "asyncos").stdout.split(":")[2] == uid

            def banner() -> str:
                return booted.run("python3", "-c", "import socket; s=socket.create_connection(('127.0.0.1', 25), 5); "
                                  "print(s.recv(200).decode())").stdout
            assert wait_for(lambda: banner().startswith("220 "), timeout=60, step=1), _diagnose(booted, tmp_path)
            send = booted.run("python3", "-c", "import smtplib; s=smtplib.SMTP('127.0.0.1', 25, timeout=20); "
                              "s.sendmail('a@example.net', ['user@example.org'], 'Subject: booted\\r\\n\\r\\nhi\\r\\n')")
            assert send.returncode == 0, send.stderr
            # The data directory under /var/lib, owned by the user; the passphrase file gone once the service ran.
            data = root / "var/lib/asyncos-cli"
            assert (data / "asyncos.db").is_file() and data.stat().st_uid == int(uid)
            assert not (root / "etc/asyncos-cli/admin-passphrase").exists()
            # setup.batch ran once: example.org accepted, the route in place.
            shell = booted.run("runuser", "-u", "asyncos", "--", "env", "ASYNCOS_DATA=/var/lib/asyncos-cli",
                               "/opt/asyncos-cli/bin/asyncos-cli", "-c", "listenerconfig print; smtproutes print")
            assert "Port 25 Public" in shell.stdout and "example.org" in shell.stdout, shell.stdout + shell.stderr
            assert "mail.internal.example.org" in shell.stdout
            # Logs also reach the journal, tagged with the subscription.
            def journaled() -> bool:
                out = booted.run("journalctl", "-u", "asyncos-cli.service", "--no-pager", "-o", "cat").stdout
                return "mail_logs: Info: Start MID" in out and 'Subject "booted"' in out
            assert wait_for(journaled, timeout=30, step=1), _diagnose(booted, tmp_path)
            # A stop through systemd is the gateway's own clean stop.
            booted.run("systemctl", "stop", "asyncos-cli.service", timeout=150)
            stopped = booted.run("journalctl", "-u", "asyncos-cli.service", "--no-pager", "-o", "cat").stdout
            assert "gateway stopping" in stopped
        finally:
            booted.stop()


def _diagnose(booted: Booted, tmp_path: Path) -> str:
    parts = [booted.run("systemctl", "--no-pager", "status", "asyncos-cli.service", "asyncos-cli-init.service",
                        "cloud-final.service").stdout,
             booted.run("journalctl", "--no-pager", "-n", "60").stdout,
             booted.run("sh", "-c", "tail -n 40 /var/log/cloud-init-output.log").stdout]
    return "\n".join(parts)[-6000:]


# ---------------------------------------------------------------- the OCI image

def _podman(*argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    # This machine's limits: runc (crun refuses hybrid cgroups) and ulimits no higher than ours (no
    # CAP_SYS_RESOURCE to raise them).
    nofile = os.sysconf("SC_OPEN_MAX")
    limits = ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", "nproc=8192:8192"]
    head, rest = argv[0], list(argv[1:])
    if head in ("build", "run"):
        rest = limits + rest
    return _run(["podman", "--runtime", "runc", head, *rest], timeout=timeout)


class TestContainerImage:
    """A scope of its own (pytest-xdist --dist loadscope): it runs on a worker beside the other packaging tests."""

    def test_container_image_builds_from_debian_and_is_healthy(self, tmp_path, wheelhouse):
        require_peer("podman", "runc", "mmdebstrap")
        tag = f"localhost/asyncos-cli-test:{os.getpid()}"
        base = f"localhost/asyncos-debian-test:{os.getpid()}"
        name = f"asyncos-test-{os.getpid()}"
        # No container registry is reachable here: the base is the same Debian release, made from Debian's archive.
        slim = tmp_path / "slim.tar"
        _mmdebstrap(slim, "ca-certificates")
        imported = _run(["podman", "import", str(slim), base], timeout=300)
        assert imported.returncode == 0, imported.stderr
        context = tmp_path / "context"
        shutil.copytree(ROOT / "packaging", context / "packaging")
        shutil.copy(ROOT / ".dockerignore", context / ".dockerignore")
        shutil.copytree(wheelhouse, context / "dist/wheelhouse")
        secret = tmp_path / "admin-passphrase"
        secret.write_text(PASSPHRASE + "\n")
        secret.chmod(0o644)
        try:
            # --layers=false: no intermediate image is kept (each run left one of 600 MB behind).
            built = _podman("build", "--format", "docker", "--layers=false", "--network=host",
                            "--build-arg", f"BASE={base}",
                            "-f", str(context / "packaging/container/Containerfile"), "-t", tag, str(context))
            assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
            inspect = _ok(["podman", "image", "inspect", tag, "--format",
                           "{{.Config.User}} {{.Config.Volumes}} {{.HealthCheck.Test}}"])
            assert "asyncos" in inspect and "/var/lib/asyncos-cli" in inspect and "status" in inspect, inspect
            started = _podman("run", "-d", "--name", name, "--network=none",
                              "-v", f"{secret}:/run/secrets/admin-passphrase:ro", tag)
            assert started.returncode == 0, started.stderr

            def healthy() -> bool:
                return _podman("healthcheck", "run", name, timeout=60).returncode == 0
            assert wait_for(healthy, timeout=120, step=2), _ok(["podman", "logs", name])
            sent = _podman("exec", name, "python3", "-c",
                           "import smtplib; s=smtplib.SMTP('127.0.0.1', 2525, timeout=20); "
                           "s.sendmail('a@example.net', ['user@example.com'], 'Subject: contained\\r\\n\\r\\nhi\\r\\n')")
            assert sent.returncode == 0, sent.stderr
            whoami = _podman("exec", name, "id", "-un").stdout.strip()
            assert whoami == "asyncos"
            assert wait_for(lambda: 'Subject "contained"' in _run(["podman", "logs", name]).stdout +
                            _run(["podman", "logs", name]).stderr, timeout=20)
            # SIGTERM (podman stop) is a clean stop; the volume keeps the data: a second start initialises nothing.
            assert _podman("stop", "-t", "60", name, timeout=120).returncode == 0
            assert _ok(["podman", "inspect", name, "--format", "{{.State.ExitCode}}"]).strip() == "0"
            assert _podman("start", name).returncode == 0
            assert wait_for(healthy, timeout=120, step=2)
            listeners = _podman("exec", name, "asyncos-cli", "-c", "listenerconfig print").stdout
            assert "IncomingMail (0.0.0.0) SMTP TCP Port 2525" in listeners, listeners
            kept = _podman("exec", name, "cat", "/var/lib/asyncos-cli/logs/mail_logs/mail.current").stdout
            assert 'Subject "contained"' in kept
            # Unhealthy once the daemon no longer answers on its control channel.
            # (Stopped from outside: inside, the kernel keeps SIGSTOP from the namespace's init.)
            pid = int(_ok(["podman", "inspect", name, "--format", "{{.State.Pid}}"]))
            os.kill(pid, signal.SIGSTOP)
            try:
                assert wait_for(lambda: not healthy(), timeout=60, step=2)
            finally:
                os.kill(pid, signal.SIGCONT)
        finally:
            _run(["podman", "rm", "-f", "-t", "0", name], timeout=120)
            _run(["podman", "rmi", "-f", tag, base], timeout=120)


