"""SSH server memory under many logins: the RSS of the shell's SSH process as sessions come and go.

    python bench/ssh_soak.py [LOGINS] [PARALLEL]

A private gateway (temporary data directory, free ports) serves LOGINS
(default 10000) passphrase logins from asyncssh clients, PARALLEL at a time
(default 10), each running the batch command ``version``; every tenth
session is interactive instead (a pty, the prompt, ``quit``), and every
twentieth is dropped without a goodbye. Prints the SSH process's RSS after
each tenth of the run and logins per second; OpenSSH's sshd is not run
beside it (it forks a process per session, so its RSS is not comparable).
Stops the gateway also when it fails. Asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASS = "Soak-Pass-7x"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sshd_pid(parent: int) -> int:
    out = subprocess.run(["pgrep", "-P", str(parent), "-f", "asyncos_cli.shell.sshd"], capture_output=True, text=True)
    return int(out.stdout.split()[0])


async def one(port: int, n: int) -> None:
    import asyncssh

    try:
        await _session(port, n)
    except asyncssh.ConnectionLost as e:
        if n % 20 != 19:  # only the sessions this bench drops on purpose may end so
            raise RuntimeError(f"session {n}: {e}") from e


async def _session(port: int, n: int) -> None:
    import asyncssh

    async with asyncssh.connect("127.0.0.1", port, username="admin", password=PASS, known_hosts=None,
                                client_keys=None) as conn:
        if n % 20 == 19:
            conn.abort()  # a client that vanishes
            return
        if n % 10 == 9:
            proc = await conn.create_process(term_type="xterm", term_size=(80, 24))
            out = ""
            while ">" not in out:
                out += await asyncio.wait_for(proc.stdout.read(1024), 30)
            proc.stdin.write("quit\r")
            await asyncio.wait_for(proc.wait(), 30)
            return
        r = await conn.run("version")
        if "Current Version" not in r.stdout:
            raise RuntimeError(f"login {n}: {r.stdout} {r.stderr}")


async def soak(port: int, logins: int, parallel: int, pid: int) -> None:
    sem = asyncio.Semaphore(parallel)
    done = 0
    started = time.perf_counter()
    print(f"before: sshd RSS {rss_mb(pid):.1f} MB")

    async def guarded(n):
        nonlocal done
        async with sem:
            await one(port, n)
        done += 1
        if done % max(1, logins // 10) == 0:
            rate = done / (time.perf_counter() - started)
            print(f"{done:>6} logins: sshd RSS {rss_mb(pid):.1f} MB, {rate:.1f} logins/s", flush=True)

    await asyncio.gather(*(guarded(n) for n in range(logins)))


def main() -> None:
    logins = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    parallel = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env = dict(os.environ, ASYNCOS_DATA=str(data), PYTHONPATH=str(ROOT))
        pw = Path(tmp) / "pw"
        pw.write_text(PASS + "\n")
        port = free_port()

        def cli(*args):
            subprocess.run([sys.executable, "-m", "asyncos_cli", *args], env=env, cwd=ROOT, check=True,
                           capture_output=True)

        cli("init", f"--admin-passphrase-file={pw}")
        cli("-c", f"interfaceconfig edit Management --ssh-port={port} --api-https-port={free_port()} "
            f"--web-https-port={free_port()}; listenerconfig edit IncomingMail --port={free_port()}; "
                  f"listenerconfig edit OutgoingMail --port={free_port()}; commit soak")
        out = open(Path(tmp) / "serve.out", "w")
        daemon = subprocess.Popen([sys.executable, "-m", "asyncos_cli", "serve"], env=env, cwd=ROOT,
                                  stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.time() + 30
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                        if s.recv(4).startswith(b"SSH-"):
                            break
                except OSError:
                    if time.time() > deadline:
                        raise SystemExit("the SSH server did not start")
                    time.sleep(0.2)
            asyncio.run(soak(port, logins, parallel, sshd_pid(daemon.pid)))
        except BaseException:
            print("the gateway said:\n" + (Path(tmp) / "serve.out").read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            daemon.terminate()
            daemon.wait(30)


if __name__ == "__main__":
    main()
