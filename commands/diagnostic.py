"""diagnostic: checks an administrator runs when mail misbehaves: disk usage, an SMTP ping, the tracking
database, the gateway's services, the queue and the machine's resources, through the appliance's menu (or one
batch form each)."""

from __future__ import annotations

import os
import socket
import time

from asyncos_cli.auth import roles as R
from asyncos_cli.shell.grammar import Grammar
from asyncos_cli.shell.prompter import CommandError, UsageError
from asyncos_cli.shell.registry import command
from asyncos_cli.shell.shared.systemtools import checked_host

GRAMMAR = Grammar("diagnostic", """
disk_usage
network smtpping HOST[:PORT] [--from=ADDR] [--to=ADDR]
tracking
services
queue
resources
""", notes="SMTPPING speaks SMTP up to RCPT TO and quits: no message is sent.")

MENU = [("DISK_USAGE", "Show how the data directory's space is used."),
        ("NETWORK", "Network utilities."), ("TRACKING", "Message tracking database facts."),
        ("SERVICES", "The gateway's services and engines."),
        ("QUEUE", "What the delivery queue holds, by destination."),
        ("RESOURCES", "CPU, memory, disk and connections now.")]


@command("diagnostic", "Check the system for problems.", roles=R.VIEW, grammar=GRAMMAR)
def run(ctx, args):
    sender, rcpt = args.take_option("from"), args.take_option("to")
    args.expect_done("diagnostic")
    words = [w.lower() for w in args.positional]
    if not words:
        if ctx.batch:
            raise UsageError()
        return _menu(ctx)
    if words == ["disk_usage"]:
        return _disk_usage(ctx)
    if words == ["tracking"]:
        return _tracking(ctx)
    if words == ["services"]:
        return _services(ctx)
    if words == ["queue"]:
        return _queue(ctx)
    if words == ["resources"]:
        return _resources(ctx)
    if len(words) == 3 and words[:2] == ["network", "smtpping"]:
        return _smtpping(ctx, args.positional[2], sender, rcpt)
    raise UsageError()


def _menu(ctx) -> None:
    p = ctx.prompter
    while True:
        op = p.menu(MENU)
        if op is None:
            return
        try:
            if op == "DISK_USAGE":
                _disk_usage(ctx)
            elif op == "TRACKING":
                _tracking(ctx)
            elif op == "SERVICES":
                _services(ctx)
            elif op == "QUEUE":
                _queue(ctx)
            elif op == "RESOURCES":
                _resources(ctx)
            elif p.menu([("SMTPPING", "Test a remote SMTP server.")]) == "SMTPPING":
                target = p.ask("Please enter the hostname or IP address of the remote SMTP server (HOST[:PORT]).")
                _smtpping(ctx, target, None, None)
        except CommandError as e:
            p.error(str(e))


def _disk_usage(ctx) -> None:
    root = ctx.datadir.root
    usage = os.statvfs(root)
    total, free = usage.f_blocks * usage.f_frsize, usage.f_bavail * usage.f_frsize
    ctx.say(f"Data directory: {root}")
    ctx.say(f"Filesystem: {_size(total)} total, {_size(total - free)} used "
            f"({round(100 * (total - free) / total) if total else 0}%), {_size(free)} available")
    ctx.say("")
    ctx.say(f"{'Area':<14} {'Size':>10}")
    for name in ("queue", "quarantine", "logs", "asyncos.db", "state", "configuration", "history"):
        ctx.say(f"{name:<14} {_size(_bytes(root / name)):>10}")


def _bytes(path) -> int:
    if path.is_file():
        return path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(path.name + "-*") if p.is_file())
    total = 0
    for folder, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(folder, f))
            except OSError:
                continue  # gone while counting (a rolled log, a delivered segment)
    return total


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _tracking(ctx) -> None:
    conn = ctx.database()
    try:
        count, first, last = conn.execute("SELECT count(*), min(received), max(received) FROM tracking_records"
                                          ).fetchone()
        unfinished = conn.execute("SELECT count(*) FROM tracking_records WHERE finished IS NULL").fetchone()[0]
    except Exception as e:  # no table before the first message
        if "no such table" not in str(e):
            raise
        count, first, last, unfinished = 0, None, None, 0
    ctx.say(f"Messages tracked: {count} ({unfinished} still in flight when last written)")
    if count:
        ctx.say(f"Oldest: {time.ctime(first)}; newest: {time.ctime(last)}")
    ctx.say(f"Database size: {_size(_bytes(ctx.datadir.database))}")


def _services(ctx) -> None:
    status = ctx.control("status")
    ctx.say(f"Gateway daemon: running (pid {status['pid']}), configuration version {status['config_version']}")
    for name, state in status.get("components", []):
        ctx.say(f"  {name}: {state}")


def _queue(ctx) -> None:
    """The queue report: totals, the oldest message, and the destinations holding the most recipients."""
    status = ctx.control("status")
    queued, oldest = status.get("queued", 0), status.get("oldest_message")
    ctx.say(f"Messages in the queue: {queued}")
    if oldest:
        ctx.say(f"Oldest message: received {time.ctime(oldest)} ({_age(time.time() - oldest)} ago)")
    hosts = sorted((h for h in ctx.control("hosts") if h["pending"]), key=lambda h: -h["pending"])
    if not hosts:
        ctx.say("No recipient is waiting for delivery.")
        return
    ctx.say("")
    ctx.say(f"{'Destination':<32} {'Recipients':>10} {'Never tried':>11}  Last error")
    for h in hosts[:20]:
        ctx.say(f"{h['domain'][:32]:<32} {h['pending']:>10} {h['unattempted']:>11}  {h['last_error'][:60]}")
    if len(hosts) > 20:
        ctx.say(f"... and {len(hosts) - 20} more destinations (tophosts, hoststatus)")


def _resources(ctx) -> None:
    """The machine's resources as the gateway sampled them this second (the readings status and SNMP show)."""
    g = ctx.control("status").get("gauges", {})
    root = ctx.datadir.root
    usage = os.statvfs(root)
    total, free = usage.f_blocks * usage.f_frsize, usage.f_bavail * usage.f_frsize
    rows = [("CPU utilization", f"{g.get('cpu_percent', 0)}%"), ("Memory utilization", f"{g.get('memory_percent', 0)}%"),
            ("Disk I/O utilization", f"{g.get('disk_io_percent', 0)}%"),
            ("Queue space used", f"{g.get('queue_percent', 0)}%"),
            ("Data directory free", f"{_size(free)} of {_size(total)}"),
            ("Open files", str(g.get("open_files", 0))), ("SMTP connections", str(g.get("transfer_threads", 0))),
            ("Load average (1, 5, 15 min)", " ".join(f"{x:.2f}" for x in os.getloadavg())),
            ("CPUs", str(os.cpu_count() or 1))]
    for label, value in rows:
        ctx.say(f"{label:<30} {value}")


def _age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _smtpping(ctx, target: str, sender, rcpt) -> None:
    host, _, port = target.rpartition(":") if target.count(":") == 1 else (target, "", "25")
    host = checked_host(host, "diagnostic")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise CommandError(f"diagnostic: the port is a number from 1 to 65535, got {port!r}")
    sender = sender if sender not in (None, True) else f"postmaster@{ctx.config.system.hostname}"
    rcpt = rcpt if rcpt not in (None, True) else f"postmaster@{host}"
    started = time.monotonic()
    steps = [("connect", None), ("EHLO", f"EHLO {ctx.config.system.hostname}"), ("MAIL FROM", f"MAIL FROM:<{sender}>"),
             ("RCPT TO", f"RCPT TO:<{rcpt}>"), ("QUIT", "QUIT")]
    try:
        conn = socket.create_connection((host, int(port)), timeout=10)
    except OSError as e:
        raise CommandError(f"SMTPPING {host}:{port} failed: cannot connect: {e.strerror or e}") from None
    with conn:
        reader = conn.makefile("rb")
        for step, line in steps:
            if line:
                conn.sendall(line.encode() + b"\r\n")
            reply = _reply(reader)
            ctx.say(f"{step:<10} {reply} ({(time.monotonic() - started) * 1000:.0f} ms)")
            if not reply or reply[0] not in "23":
                raise CommandError(f"SMTPPING {host}:{port} failed at {step}: {reply or 'connection closed'}")
    ctx.say(f"SMTPPING {host}:{port} succeeded in {(time.monotonic() - started) * 1000:.0f} ms (no message was "
            "sent).")


def _reply(reader) -> str:
    last = ""
    while True:
        try:
            raw = reader.readline(4096)
        except socket.timeout:
            return last or "timeout"
        if not raw:
            return last
        last = raw.decode("utf-8", "replace").rstrip("\r\n")
        if len(last) < 4 or last[3] != "-":
            return last
