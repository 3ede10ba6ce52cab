"""What antivirusstatus, antispamstatus and ampstatus share: the running gateway's view of one engine."""

from __future__ import annotations

from asyncos_cli.shell.prompter import CommandError


def show(ctx, engine: str, title: str, lines: list[str]) -> None:
    """``lines`` (what the engine says of itself), then the gateway's state, counts and scan times."""
    for line in lines:
        ctx.say(line)
    try:
        st = ctx.control("status")["engines"][engine]
    except CommandError as e:
        ctx.say(f"Gateway: {e}")
        return
    ctx.say(f"State in the gateway: {st['state']}")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(st["verdicts"].items())) or "none yet"
    ctx.say(f"Verdicts since the gateway started: {counts}")
    if st["p50_ms"] is not None:
        ctx.say(f"{title} time: p50 {st['p50_ms']} ms, p99 {st['p99_ms']} ms")
