"""status: the running gateway's state, asked over the control channel."""

from __future__ import annotations

import time

from asyncos_cli.shell.registry import command


def _when(t: float) -> str:
    return time.strftime("%a %b %d %H:%M:%S %Y %Z", time.localtime(t))


def _span(seconds: float) -> str:
    s = int(seconds)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    parts = [f"{d}d"] if d else []
    if d or h:
        parts.append(f"{h}h")
    parts += [f"{m}m", f"{s}s"]
    return " ".join(parts)


@command("status", "System status.", subcommands=("detail",))
def run(ctx, args):
    detail = args.subcommand() == "detail"
    args.expect_done("status")
    st = ctx.control("status")
    rows = [
        ("Status as of", _when(st["now"])),
        ("Up since", f"{_when(st['started'])} ({_span(st['uptime'])})"),
        ("Last counter reset", _when(st["counters_reset"])),
        ("System status", "Online"),
        ("Oldest Message", _when(st["oldest_message"]) if st.get("oldest_message") else "No Messages"),
        ("Host name", st["hostname"]),
        (
            "Configuration version",
            f"{st['config_version']} (committed by {st['config_committed_by']}, "
            f"{_when(st['config_committed_at'])})",
        ),
    ]
    width = max(len(k) for k, _ in rows) + 2
    for k, v in rows:
        ctx.say(f"{k + ':':<{width}}{v}")
    if st["demo_certificate"]:
        ctx.say("\nWARNING: the demonstration certificate is in use.")
    for name, days in st.get("certificates_expiring", []):
        ctx.say(f"WARNING: the certificate {name} " + (f"expired {-days} days ago." if days < 0 else
                                                          f"expires in {days} days."))
    ctx.say("\nComponents:")
    for name, state in st["components"]:
        ctx.say(f"  {name:<32}{state}")
    mc = st["mail_counters"]
    counters = [
        ("Messages Received", mc["messages_received"]),
        ("Recipients Received", mc["recipients_received"]),
        ("Gen. Bounce Recipients", mc["generated_bounces"]),
        ("Rejected Recipients", mc["rejected_recipients"]),
        ("Dropped Messages", mc["dropped_recipients"]),
        ("Soft Bounced Events", mc["soft_bounced"]),
        ("Hard Bounced Recipients", mc["hard_bounced"]),
        ("Completed Recipients", mc["completed_recipients"]),
        ("Stopped by IP Reputation Filtering", mc.get("stopped_by_ip_reputation", 0)),
        ("Stopped by Domain Reputation Filtering", mc.get("stopped_by_domain_reputation", 0)),
        ("Messages In Work Queue", st["queued"]),
        ("Configuration reloads", st["reloads"]),
        ("Failed reloads", st["reload_failures"]),
        ("Events", st["events"]),
        ("Control requests", st["control_requests"]),
        ("Messages in flight (tracked)", st["tracking_in_flight"]),
        ("Messages finished (tracked)", "counting" if st["tracking_finished"] is None else st["tracking_finished"]),
    ]
    ctx.say(f"\nCounters:{'Uptime':>41}")
    for name, value in counters:
        ctx.say(f"  {name:<40}{value:>8}")
    g = st.get("gauges")
    if g:
        gauges = [
            ("CPU Utilization", f"{g['cpu_percent']}%"),
            ("RAM Utilization", f"{g['memory_percent']}%"),
            ("Disk I/O Utilization", f"{g['disk_io_percent']}%"),
            ("Queue Utilization", f"{g['queue_percent']}%"),
            ("Messages In Work Queue", g["work_queue"]),
            ("Oldest Message Age", f"{g['oldest_message_age']}s"),
            ("Current Inbound Connections", g["open_connections"]),
            ("Mail Transfer Threads", g["transfer_threads"]),
            ("Open Files Or Sockets", g["open_files"]),
        ]
        ctx.say(f"\nGauges:{'Current':>43}")
        for name, value in gauges:
            ctx.say(f"  {name:<40}{value:>8}")
    if detail:
        ctx.say(f"\nDaemon PID: {st['pid']}\nProduct version: {st['product_version']}")
        if st.get("config_comment"):
            ctx.say(f"Last commit comment: {st['config_comment']}")
